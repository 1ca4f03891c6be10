"""Shared by the background-work measurements: find a service that may not exist yet,
and run work in a fresh process for its time and peak memory."""

import importlib
import json
import os
import subprocess
import sys

from bench.context import ROOT


def find_callable(candidates: tuple[str, ...]):
    """The first of `module:function` that imports, as (dotted name, callable), or None."""
    for candidate in candidates:
        module_name, _, name = candidate.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        function = getattr(module, name, None)
        if callable(function):
            return candidate, function
    return None


def run_isolated(target: str, kwargs: dict | None = None, timeout: int = 3600, profile_to: str = "") -> dict:
    """Run `module:function` in a fresh process: {"seconds", "peak_rss_mb", "baseline_rss_mb",
    "result"}. With `profile_to`, a second run is not needed: the call tree is written to
    PROFILE_TO.html / .txt (and the figures then include the profiler's overhead)."""
    completed = subprocess.run(  # noqa: S603 — our own module
        [
            sys.executable,
            "-m",
            "bench.isolated",
            target,
            json.dumps(kwargs or {}),
            *([profile_to] if profile_to else []),
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "backoffice.settings_bench"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{target} failed: {completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def profile_background(ctx, target: str, name: str, kwargs: dict | None = None) -> dict:
    """A second, profiled run of background work (it finds what the first left: a smaller
    batch); the call tree goes to var/bench/profiles/<name>.html / .txt."""
    base = ctx.path("profiles", name)
    run = run_isolated(target, kwargs, profile_to=str(base))
    text = base.with_suffix(".txt").read_text()
    return {
        "seconds_profiled": run["seconds"],
        "result_profiled": run["result"],
        "files": [f"profiles/{name}.html", f"profiles/{name}.txt"],
        "top": [line for line in text.splitlines() if line.strip()][:40],
    }
