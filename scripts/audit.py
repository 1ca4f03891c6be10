#!/usr/bin/env python
"""`make audit`: the pinned runtime requirements against the known vulnerabilities.

    python scripts/audit.py [extra pip-audit options]

Runs `pip-audit -r requirements.txt --strict` (with `--no-deps`: requirements.txt is
pinned completely, every transitive dependency included, so nothing needs resolving and
pip-audit does not build a throw-away environment). It fails (exit status 1) on any
vulnerability found, and — `--strict` — on any requirement that could not be audited.

pip-audit asks PyPI's vulnerability service. When that service cannot be reached (no
network, no DNS, a firewall), there is nothing to audit against: the script prints
"audit skipped: vulnerability service unreachable" and exits 0, so `make audit` passes
on an offline machine and audits for real wherever the service answers.
"""

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
REQUIREMENTS = BASE / "requirements.txt"
# What pip-audit's default service ("pypi") asks for each requirement: PyPI's JSON API for
# that release, which lists the release's known vulnerabilities.
SERVICE_URL = "https://pypi.org/pypi/{name}/{version}/json"
TIMEOUT_SECONDS = 5.0
SKIPPED = "audit skipped: vulnerability service unreachable"
_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def probe_url(requirements: Path = REQUIREMENTS) -> str:
    """The service's URL for the first pinned requirement (the question pip-audit asks)."""
    for line in requirements.read_text().splitlines():
        match = _PINNED.match(line.strip())
        if match:
            return SERVICE_URL.format(name=match.group(1), version=match.group(2))
    return SERVICE_URL.format(name="pip", version="24.0")


def service_problem(url: str, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """None when the vulnerability service answers the question pip-audit asks (DNS,
    connection, TLS, and a release's JSON with its `vulnerabilities`) within the timeout;
    otherwise what went wrong. A package mirror that serves pypi.org's name but not the
    release JSON counts as unreachable: pip-audit could audit nothing against it."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a fixed https URL
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return str(exc) or exc.__class__.__name__
    if not isinstance(body, dict) or "vulnerabilities" not in body:
        return "the answer lists no vulnerabilities field"
    return None


def pip_audit_command(extra: list[str]) -> list[str]:
    pip_audit = Path(sys.executable).parent / "pip-audit"
    return [
        str(pip_audit),
        "-r",
        "requirements.txt",
        "--strict",
        "--no-deps",
        "--progress-spinner",
        "off",
        *extra,
    ]


def main(argv: list[str]) -> int:
    url = probe_url()
    problem = service_problem(url)
    if problem is not None:
        print(f"WARNING: {SKIPPED} ({url}: {problem})", file=sys.stderr)
        return 0
    return subprocess.run(pip_audit_command(argv), cwd=BASE, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
