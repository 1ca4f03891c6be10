"""The web worker (backoffice/wsgi.py) and a Celery worker process tune the garbage
collector once loaded (core.runtime): what they loaded is frozen out of the collector's
full passes, and the youngest generation is collected far less often. In a fresh
process each, so this test process keeps its own collector."""

import json
import os
import subprocess
import sys
from pathlib import Path

from core.runtime import GEN0_THRESHOLD

BASE_DIR = Path(__file__).resolve().parents[2]


def _in_a_fresh_process(code: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DEBUG="true", VAR_DIR=os.environ.get("VAR_DIR", str(BASE_DIR / "var")))
    result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


REPORT = "import gc, json; print(json.dumps({'frozen': gc.get_freeze_count(), 'threshold': gc.get_threshold()}))"


def test_the_wsgi_worker_loads_the_urlconf_and_freezes_what_it_loaded():
    seen = _in_a_fresh_process(
        "import sys, backoffice.wsgi; "
        "assert 'orders.api.views' in sys.modules, 'the URLconf (and so the views) is loaded'; " + REPORT
    )
    assert seen["frozen"] > 50_000  # Django, the apps and their views
    assert seen["threshold"][0] == GEN0_THRESHOLD


def test_a_celery_worker_process_tunes_the_collector_when_it_starts():
    seen = _in_a_fresh_process(
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'backoffice.settings'); django.setup(); "
        "from celery.signals import worker_process_init; from backoffice.celery import app; "
        "import gc; assert gc.get_freeze_count() < 1000; worker_process_init.send(sender=None); " + REPORT
    )
    assert seen["frozen"] > 50_000
    assert seen["threshold"][0] == GEN0_THRESHOLD
