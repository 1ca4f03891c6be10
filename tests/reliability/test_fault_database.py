"""The database goes away in the middle of a burst of order posts.

A private PostgreSQL cluster (never the shared one) serves the app under gunicorn with
production settings; client threads post orders and retry what was not acknowledged.
The cluster crashes (immediate stop, down for a while, crash recovery on start) and is
later restarted. Then:

- every answer was a 201, a 200 (a retry of an order that had been taken) or a 503 with
  Retry-After in the contract's error body — never a 500, never anything else;
- every order was taken exactly once (one order per external reference, the number
  the client got is the order in the database);
- every order is complete: lines, addresses, fulfilments, reservations, its payment and
  its event, stock equal to its ledger (tests/reliability/support/invariants.py).

The in-process case below shows the same for a connection that drops in the middle of
one intake transaction, without a cluster (fast, and exact about the moment).
"""

import json
import os
import subprocess
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import requests
from django.db import OperationalError

from orders.models import Order, OrderInbox
from orders.tests.fixtures import order_body
from tests.reliability.support.processes import PYTHON, ROOT, Gunicorn, PrivatePostgres, PrivateRedis

pytestmark = pytest.mark.slow

CLIENTS = 6
ORDERS_PER_CLIENT = 20
DEADLINE_SECONDS = 120


def _run_module(database_url: str, command: str, redis_url: str = "") -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.reliability.support.served_settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
    }
    result = subprocess.run(
        [str(PYTHON), "-m", "tests.reliability.support.shop", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def served_shop(tmp_path):
    """A private cluster with the schema and a small shop, served by gunicorn."""
    logs = tmp_path / "logs"
    logs.mkdir()
    cluster = PrivatePostgres().create()
    redis = PrivateRedis(logs)
    gunicorn = None
    try:
        cluster.start()
        cluster.createdb("bofault")
        database_url = cluster.url("bofault")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.reliability.support.served_settings",
            "DATABASE_URL": database_url,
        }
        migrate = subprocess.run(
            [str(PYTHON), "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        redis.start()
        shop = _run_module(database_url, "setup", redis.url)
        gunicorn = Gunicorn(database_url=database_url, redis_url=redis.url, log_dir=logs).start()
        yield {"cluster": cluster, "gunicorn": gunicorn, "database_url": database_url, "logs": logs, **shop}
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        redis.stop()
        cluster.destroy()


class Client(threading.Thread):
    """Posts its orders one by one; an answer that is not an acknowledgement (a 503, a
    dropped connection) is retried with the same body until the deadline."""

    def __init__(self, index: int, url: str, key: str, skus: list[str], progress: Counter, deadline: float):
        super().__init__(name=f"client-{index}", daemon=True)
        self.index = index
        self.url = f"{url}/api/v1/orders/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {key}"
        self.skus = skus
        self.progress = progress
        self.deadline = deadline
        self.answers: dict[str, list] = defaultdict(list)  # reference -> [(status, body or error)]
        self.acknowledged: dict[str, str] = {}  # reference -> order number

    def body(self, n: int) -> dict:
        sku = self.skus[(self.index + n) % len(self.skus)]
        lines = [{"sku": sku, "quantity": 1 + n % 3, "unit_price": "19.95"}]
        body = order_body(f"BURST-{self.index}-{n}", lines=lines, method="pos")
        body["customer"]["email"] = f"klant{self.index}-{n % 4}@example.nl"
        return body

    def run(self) -> None:
        for n in range(ORDERS_PER_CLIENT):
            body = self.body(n)
            reference = body["external_reference"]
            while time.monotonic() < self.deadline:
                try:
                    response = self.session.post(self.url, json=body, timeout=30)
                except requests.RequestException as exc:
                    self.answers[reference].append(("connection", f"{exc.__class__.__name__}"))
                    time.sleep(0.2)
                    continue
                self.answers[reference].append((response.status_code, response))
                if response.status_code in (200, 201):
                    self.acknowledged[reference] = response.json()["number"]
                    self.progress["acknowledged"] += 1
                    break
                if response.status_code != 503:
                    break  # not retryable: reported by the test
                time.sleep(float(response.headers.get("Retry-After", "1")) / 4)


def test_a_database_crash_and_restart_during_a_burst_lose_and_half_write_nothing(served_shop):
    cluster, gunicorn = served_shop["cluster"], served_shop["gunicorn"]
    progress: Counter = Counter()
    deadline = time.monotonic() + DEADLINE_SECONDS
    clients = [
        Client(i, gunicorn.url, served_shop["keys"]["channel"], served_shop["skus"], progress, deadline)
        for i in range(CLIENTS)
    ]
    total = CLIENTS * ORDERS_PER_CLIENT
    # when the burst runs and the database crashes (down for a while, crash recovery on
    # start), and later restarts (every connection dropped)
    for client in clients:
        client.start()
    _wait_until(lambda: progress["acknowledged"] >= total // 4, "a quarter of the orders")
    cluster.stop(mode="immediate")
    time.sleep(1.5)
    cluster.start()
    _wait_until(lambda: progress["acknowledged"] >= total * 3 // 5, "three fifths of the orders")
    cluster.restart(mode="fast")
    for client in clients:
        client.join(DEADLINE_SECONDS)

    # then every answer was an acknowledgement or a retryable 503 in the contract's body
    statuses = Counter()
    for client in clients:
        for answers in client.answers.values():
            for status, response in answers:
                statuses[status] += 1
                if status == 503:
                    assert response.headers.get("Retry-After"), response.headers
                    error = response.json()["errors"][0]
                    assert error["code"] == "database_unavailable", response.text
    print(f"answers during the burst: {dict(statuses)}")
    assert set(statuses) <= {200, 201, 503, "connection"}, statuses
    assert statuses[503] > 0, f"the outage was not seen by any client: {statuses}"
    # every order was acknowledged, each exactly once in the database
    acknowledged = {ref: number for client in clients for ref, number in client.acknowledged.items()}
    assert len(acknowledged) == total, f"{len(acknowledged)} of {total} acknowledged; answers: {statuses}"
    rows = served_shop["cluster"].psql("bofault", "SELECT external_reference || '=' || number FROM orders_order")
    in_database = dict(line.split("=", 1) for line in rows.splitlines())
    assert in_database == acknowledged
    # and every order is complete, the stock equal to its ledger
    result = _run_module(served_shop["database_url"], "check")
    assert result == {"broken": {}, "orders": total}


def _wait_until(predicate, what: str, timeout: float = DEADLINE_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# --- in process: the connection drops inside the intake transaction ---------------------


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_inside_the_intake_is_a_503_and_the_retry_takes_the_order_once(world):
    from django.db import connection
    from rest_framework.test import APIClient

    from tests.reliability.support.world import ORDERS_URL

    client = APIClient(raise_request_exception=False)  # answer as a server would, do not re-raise
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.keys['channel_a']}")
    body = order_body("DROP-1", lines=[{"sku": world.product.sku, "quantity": 1, "unit_price": "19.95"}])

    def drop_at_the_order_insert(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "orders_order"'):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    # when the connection drops as the order row is written
    with connection.execute_wrapper(drop_at_the_order_insert):
        response = client.post(ORDERS_URL, body, format="json")
    # then the shop gets a retryable 503, and nothing of the order was stored
    assert response.status_code == 503, response.content
    assert response["Retry-After"]
    assert response.json()["errors"][0]["code"] == "database_unavailable"
    assert Order.objects.count() == 0
    assert OrderInbox.objects.get().result == OrderInbox.Result.FAILED
    # and the retry takes the order, once
    again = client.post(ORDERS_URL, body, format="json")
    assert again.status_code == 201
    assert client.post(ORDERS_URL, body, format="json").status_code == 200
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_a_database_error_outside_drf_is_a_503_for_api_paths(rf):
    """The plain Django 500 handler answers a database error that escaped a view (or a
    middleware) on an API path as the same retryable 503."""
    from core.views import server_error

    request = rf.get("/api/v1/orders/")
    try:
        raise OperationalError("the database system is shutting down")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503 and response["Retry-After"]
    assert json.loads(response.content)["errors"][0]["code"] == "database_unavailable"
    try:
        raise ValueError("a bug")
    except ValueError:
        assert server_error(request).status_code == 500


def test_the_private_cluster_is_never_the_shared_one():
    cluster = PrivatePostgres().create()
    try:
        assert cluster.port != 5432
        assert Path(cluster.data_dir).name == "data" and "bo-reliability-pg-" in str(cluster.data_dir)
    finally:
        cluster.destroy()
    assert not cluster.base_dir.exists()
