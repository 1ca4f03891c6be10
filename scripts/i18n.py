#!/usr/bin/env python
"""Dutch translations, per app (each app has its own locale/ directory).

    python scripts/i18n.py update            makemessages for every app and the project, then compile
    python scripts/i18n.py missing [APP]     print the msgids that have no Dutch text yet
    python scripts/i18n.py fill APP FILE     fill Dutch texts from a JSON object {msgid: msgstr}
                                             (APP "project" is the top-level locale/)

The English texts are the msgids themselves, so only Dutch (nl) needs filling.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
APPS = ["core", "customers", "catalog", "inventory", "orders", "payments", "returns", "helpdesk", "carriers"]
PYTHON = str(BASE / ".venv" / "bin" / "python")


def po_path(app: str) -> Path:
    root = BASE if app == "project" else BASE / app
    return root / "locale" / "nl" / "LC_MESSAGES" / "django.po"


def _manage(cwd: Path, *args: str) -> None:
    env = {**os.environ, "DEBUG": "true"}
    subprocess.run([PYTHON, str(BASE / "manage.py"), *args], cwd=cwd, env=env, check=True)


def update() -> None:
    for app in APPS:
        (BASE / app / "locale").mkdir(exist_ok=True)
        _manage(BASE / app, "makemessages", "-l", "nl", "-l", "en", "--no-obsolete", "--ignore", "tests/*")
    (BASE / "locale").mkdir(exist_ok=True)
    _manage(
        BASE,
        "makemessages",
        "-l",
        "nl",
        "-l",
        "en",
        "--no-obsolete",
        *[arg for app in [*APPS, ".venv", "var", "bench", "scripts", "tests"] for arg in ("--ignore", f"{app}/*")],
    )
    _manage(BASE, "compilemessages", "-v", "0", "--ignore", ".venv/*", "--ignore", "var/*")


_ENTRY = re.compile(r'(?ms)^(#[^\n]*\n)*(msgctxt "[^\n]*"\n)?msgid ((?:"[^\n]*"\n)+)msgstr ((?:"[^\n]*"\n)+)')


def _unquote(block: str) -> str:
    parts = re.findall(r'^"(.*)"$', block, re.M)
    return "".join(parts).encode("raw_unicode_escape").decode("unicode_escape")


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"\n'


def entries(app: str):
    text = po_path(app).read_text()
    for match in _ENTRY.finditer(text):
        msgid = _unquote(match.group(3))
        if msgid:
            yield match, msgid, _unquote(match.group(4))


def missing(app: str | None) -> None:
    for name in [app] if app else [*APPS, "project"]:
        if not po_path(name).exists():
            continue
        for match, msgid, msgstr in entries(name):
            fuzzy = "fuzzy" in (match.group(0).split("msgid")[0])
            if not msgstr or fuzzy:
                print(f"{name}\t{json.dumps(msgid, ensure_ascii=False)}")


def fill(app: str, source: str) -> None:
    translations = json.loads(Path(source).read_text())
    path = po_path(app)
    text = path.read_text()

    def replace(match):
        msgid = _unquote(match.group(3))
        if msgid not in translations:
            return match.group(0)
        head = match.group(0)[: match.start(4) - match.start(0)]
        head = head.replace("#, fuzzy\n", "").replace(", fuzzy", "")
        return head + _quote(translations[msgid])

    path.write_text(_ENTRY.sub(replace, text))
    _manage(BASE, "compilemessages", "-v", "0", "--ignore", ".venv/*", "--ignore", "var/*")


if __name__ == "__main__":
    command, *args = sys.argv[1:] or ["help"]
    if command == "update":
        update()
    elif command == "missing":
        missing(args[0] if args else None)
    elif command == "fill" and len(args) == 2:
        fill(*args)
    else:
        print(__doc__)
        sys.exit(2)
