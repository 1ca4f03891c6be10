"""`make run` on a bare machine: no DATABASE_URL, no REDIS_URL. SQLite in var/ and the
file broker must carry a real web server and a real Celery worker."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def embedded_env(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "SECURE_SSL_REDIRECT")
    }
    env.update(DEBUG="true", VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="backoffice.settings", PYTHONUNBUFFERED="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    return env, var


def _manage(env, *args) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args, *(["-v", "0"] if args[0] == "shell" else [])],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def test_sqlite_is_in_wal_mode(embedded_env):
    env, var = embedded_env
    out = _manage(
        env,
        "shell",
        "-c",
        "from django.db import connection; c = connection.cursor(); "
        "c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])",
    )
    assert out.strip() == "wal"
    assert (var / "db.sqlite3").exists()


def test_demo_data_loads_on_sqlite_as_make_run_does(embedded_env):
    """make run: seed_demo --once on the embedded SQLite (money constraints and all), then
    demo_info; a second seed_demo --once changes nothing."""
    env, _var = embedded_env
    first = _manage(env, "seed_demo", "--once")
    assert "demo orders:" in first and "matched" in first
    counts = (
        "from orders.models import Order; from payments.models import Invoice; "
        "print(Order.objects.count(), Invoice.objects.count())"
    )
    before = _manage(env, "shell", "-c", counts).split()
    assert int(before[0]) > 0 and int(before[1]) > 0
    _manage(env, "seed_demo", "--once")
    assert _manage(env, "shell", "-c", counts).split() == before
    assert "demo logins" in _manage(env, "demo_info")


def test_stock_levels_read_from_the_view_on_sqlite_too(embedded_env):
    """The stock sync's view (inventory_stock_level) has a SQLite spelling: on the demo
    data it gives every product the same `available` as the per-product read."""
    env, _var = embedded_env
    _manage(env, "seed_demo", "--once")
    check = (
        "import datetime; from django.utils import timezone; "
        "from inventory.selectors import stock_available_map, stock_changed_since, stock_list_for_sync; "
        "rows = list(stock_list_for_sync().values_list('pk', 'available', 'changed_at')); "
        "expected = stock_available_map(product_ids=[r[0] for r in rows]); "
        "since = timezone.now() - datetime.timedelta(days=3650); "
        "print(len(rows), sum(1 for r in rows if r[1] > 0), "
        "sum(1 for r in rows if r[1] != expected[r[0]] or r[2] is None), stock_changed_since(since=since).count())"
    )
    products, stocked, wrong, changed = map(int, _manage(env, "shell", "-c", check).split())
    assert products > 0 and stocked > 0 and wrong == 0
    assert changed == products


def test_web_server_serves_admin_docs_and_health(embedded_env):
    env, _ = embedded_env
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = urllib.request.urlopen(f"{base}/healthz", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        body = json.loads(health.read())
        assert body["database"]["engine"] == "sqlite"
        assert body["broker"]["ok"] is True
        assert urllib.request.urlopen(f"{base}/admin/login/", timeout=5).status == 200
        assert urllib.request.urlopen(f"{base}/api/docs/", timeout=5).status == 200
        assert urllib.request.urlopen(f"{base}/api/schema/", timeout=5).status == 200
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_real_worker_consumes_from_the_file_broker(embedded_env):
    env, _ = embedded_env
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "backoffice",
            "worker",
            "--pool",
            "solo",
            "--queues",
            "default",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "WARNING",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # when: a change commits and queues work through the outbox
        _manage(
            env,
            "shell",
            "-c",
            "from django.db import transaction; from core.services import outbox_enqueue; "
            "transaction.atomic()(lambda: outbox_enqueue('core.worker_heartbeat'))()",
        )
        # then: the worker runs it
        deadline = time.monotonic() + 60
        seen = ""
        while time.monotonic() < deadline:
            seen = _manage(
                env,
                "shell",
                "-c",
                "from django.core.cache import cache; "
                "from core.services import WORKER_HEARTBEAT_KEY as k; print(cache.get(k) or '')",
            ).strip()
            if seen:
                break
            time.sleep(1)
        assert seen, "the worker never ran the task"
        sent = _manage(
            env,
            "shell",
            "-c",
            "from core.models import OutboxMessage as m; "
            "print(m.objects.filter(task_name='core.worker_heartbeat', sent_at__isnull=False).count())",
        )
        assert sent.strip() == "1"
    finally:
        worker.terminate()
        worker.wait(timeout=20)
