"""Celery workers die and the broker goes away; queued work still happens, once.

Real worker processes (`celery -A backoffice worker`) on the test database and a private
Redis, with production's acks_late and reject-on-worker-lost and a visibility timeout of
a few seconds (tests/reliability/support/worker_settings.py). The task is a real one of
the project: the outgoing shop webhook `orders.webhook_deliver`, posting to a local
receiver that holds the first request, so the worker is killed while the task is in
flight (the HTTP call made, its result not yet recorded).

Delivery is at least once, so the receiver does see the same delivery twice — that is
the documented contract (`X-Backoffice-Delivery` is the id to dedupe on). What must
happen once: the delivery is recorded delivered once (one attempt), and a receiver that
dedupes on the id applies it once.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from kombu import pools

from backoffice.celery import app as celery_app
from core.models import OutboxMessage
from core.services import outbox_drain
from orders.models import WebhookDelivery
from orders.services.webhooks import webhook_signature_is_valid
from tests.reliability.support.processes import CeleryWorker, PrivateRedis, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SECRET = "reliability-webhook-secret"


class Receiver:
    """A shop's webhook endpoint on 127.0.0.1. The first request is held (until
    released) so a test can kill the worker while the task waits for the answer; every
    request is recorded; `applied` is what a receiver deduping on the delivery id did."""

    def __init__(self):
        self.requests: list[dict] = []
        self.applied: list[str] = []
        self.held = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                delivery = self.headers.get("X-Backoffice-Delivery", "")
                signed = webhook_signature_is_valid(
                    secret=SECRET, header=self.headers.get("X-Backoffice-Signature", ""), body=body
                )
                receiver.requests.append({"delivery": delivery, "signed": signed})
                if len(receiver.requests) == 1:
                    receiver.held.set()
                    receiver.release.wait(60)
                if signed and delivery not in receiver.applied:
                    receiver.applied.append(delivery)
                try:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the worker that asked is gone

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def deliveries(self) -> list[str]:
        return [r["delivery"] for r in self.requests]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _reset_producer_pool() -> None:
    celery_app.pool.force_close_all()
    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker(tmp_path):
    """A private Redis as broker; this process publishes to it (not eagerly)."""
    redis = PrivateRedis(tmp_path).start()
    original = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = redis.url, False
    _reset_producer_pool()
    try:
        yield redis
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = original
        _reset_producer_pool()
        redis.stop()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def workers(broker, tmp_path):
    """Start workers on the test database and the private broker; all stopped at the end."""
    started: list[CeleryWorker] = []
    settings = connection.settings_dict
    database_url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"

    def start(name: str, pool: str = "solo") -> CeleryWorker:
        worker = CeleryWorker(name=name, database_url=database_url, broker_url=broker.url, log_dir=tmp_path, pool=pool)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def shop_with_webhook(world, receiver):
    channel = world.channel_a
    channel.webhook_url = receiver.url
    channel.webhook_secret = SECRET
    channel.save()
    return world


def _all_delivered(order) -> bool:
    rows = list(WebhookDelivery.objects.filter(order=order).values_list("status", flat=True))
    return bool(rows) and set(rows) == {WebhookDelivery.Status.DELIVERED}


def _assert_delivered_once(order, receiver, held_id: str) -> None:
    deliveries = WebhookDelivery.objects.filter(order=order)
    assert {(d.status, d.attempts) for d in deliveries} == {(WebhookDelivery.Status.DELIVERED, 1)}
    # at least once at the receiver: the held delivery arrived twice, both signed ...
    assert receiver.deliveries().count(held_id) == 2, receiver.requests
    assert all(r["signed"] for r in receiver.requests)
    # ... and a receiver that dedupes on the delivery id applied each delivery once
    assert sorted(receiver.applied) == sorted(str(d.pk) for d in deliveries)
    # the work was handed to the broker once (the second run is the broker's redelivery)
    outbox = OutboxMessage.objects.filter(task_name="orders.webhook_deliver")
    assert outbox.count() == deliveries.count() and not outbox.filter(sent_at__isnull=True).exists()


def test_a_worker_killed_mid_task_is_redelivered_after_the_visibility_timeout_and_the_effect_happens_once(
    shop_with_webhook, receiver, workers
):
    world = shop_with_webhook
    first = workers("first")
    # given a task in flight: the webhook posted, the worker waiting for the answer
    order = world.order("a")
    assert receiver.held.wait(60), first.log()[-3000:]
    held_id = receiver.requests[0]["delivery"]
    # when the whole worker dies (machine gone: nothing acknowledged, nothing cleaned up)
    first.kill()
    receiver.release.set()
    # then nothing was recorded for the task that died ...
    held = WebhookDelivery.objects.get(pk=held_id)
    assert (held.status, held.attempts) == (WebhookDelivery.Status.PENDING, 0)
    # ... and a new worker gets the unacknowledged task again and runs it to the end
    second = workers("second")
    wait_for(lambda: _all_delivered(order), timeout=60, what=f"redelivery ({second.log_path})")
    assert f"outbox-{OutboxMessage.objects.get(kwargs__delivery_id=int(held_id)).pk}" in second.log()
    _assert_delivered_once(order, receiver, held_id)


def test_a_pool_process_killed_mid_task_is_requeued_at_once_and_the_effect_happens_once(
    shop_with_webhook, receiver, workers
):
    world = shop_with_webhook
    worker = workers("prefork", pool="prefork")
    order = world.order("a")
    assert receiver.held.wait(60), worker.log()[-3000:]
    held_id = receiver.requests[0]["delivery"]
    (child,) = worker.pool_children()
    # when the process running the task is killed (out of memory, a segfault)
    import os
    import signal

    os.kill(child, signal.SIGKILL)
    receiver.release.set()
    # then the worker rejects the message back onto the queue (acks_late +
    # reject-on-worker-lost) and a fresh pool process runs it again
    wait_for(lambda: _all_delivered(order), timeout=60, what=f"requeue ({worker.log_path})")
    assert "WorkerLostError" in worker.log() or "signal 9" in worker.log()
    _assert_delivered_once(order, receiver, held_id)


def test_work_queued_while_redis_is_down_is_drained_and_done_once_when_it_is_back(
    shop_with_webhook, receiver, workers, broker
):
    world = shop_with_webhook
    receiver.release.set()  # nothing is held in this test
    worker = workers("steady")
    # given Redis (broker and cache) goes down under a running worker
    broker.stop()
    # when an order comes in
    order = world.order("a")
    # then it is taken, and the work for the worker waits in the outbox
    pending = OutboxMessage.objects.filter(task_name="orders.webhook_deliver", sent_at__isnull=True)
    assert pending.count() == 1 and pending.get().last_error
    assert WebhookDelivery.objects.get(order=order).status == WebhookDelivery.Status.PENDING
    # when Redis is back (empty: nothing survived) and the drain runs (beat, every minute)
    broker.start()
    _reset_producer_pool()
    assert outbox_drain(older_than_seconds=0) == 1
    # then the worker, reconnected, does the work, once
    wait_for(lambda: _all_delivered(order), timeout=60, what=f"delivery after the outage ({worker.log_path})")
    assert [r["delivery"] for r in receiver.requests] == [str(WebhookDelivery.objects.get(order=order).pk)]
    assert WebhookDelivery.objects.get(order=order).attempts == 1
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
