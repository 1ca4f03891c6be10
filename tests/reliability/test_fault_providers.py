"""A payment provider that times out: nothing changes, the work is retried, and when the
provider answers again the money is booked once.

The real Mollie adapter talks real HTTP to a local server that stands in for
api.mollie.com: it holds each request past the adapter's read timeout while "down", and
answers with Mollie's recorded payment (../shared/samples/psp/) when "up". Only the edge
of the world is replaced.

A carrier that times out is proven by the carriers app with its simulator in fault mode
(carriers/tests/test_outage_and_quota.py::
test_an_outage_of_one_carrier_delays_only_its_parcels_and_loses_nothing: the carrier's
parcels wait and back off, the other carriers' parcels move on, nothing is lost or
stored twice once it is back) and per adapter at HTTP level (carriers/tests/
test_http_errors.py); docs/reliability.md links them.
"""

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.test import override_settings

from orders.models import Order, OrderEvent
from payments.exceptions import ProviderUnavailable
from payments.models import Payment, PaymentEvent

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "psp"
PAYMENT_ID = "tr_7UhSN1zuXS"
WEBHOOK = "/api/v1/payments/webhooks/mollie/"


class FakeMollie:
    """api.mollie.com on 127.0.0.1: `down` holds every request past the client's
    timeout; otherwise GET /v2/payments/<id> answers the recorded payment as paid."""

    def __init__(self, amount: Decimal):
        payment = json.loads((SAMPLES / "mollie_payment_open_ideal.json").read_text())
        for field in ("amountChargedBack", "amountCaptured", "amountRefunded", "amountRemaining", "settlementAmount"):
            payment.pop(field, None)
        payment.update(
            status="paid",
            paidAt="2026-11-20T10:20:00+00:00",
            amount={"value": f"{amount:.2f}", "currency": "EUR"},
            sequenceType="oneoff",
        )
        payment["_links"].pop("chargebacks", None)
        self.body = json.dumps(payment).encode()
        self.down = True
        self.calls = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.calls += 1
                if fake.down:
                    time.sleep(1.0)  # past the adapter's read timeout
                    return
                if self.path != f"/v2/payments/{PAYMENT_ID}":
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/hal+json")
                self.send_header("Content-Length", str(len(fake.body)))
                self.end_headers()
                self.wfile.write(fake.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v2"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _state(order):
    order = Order.objects.get(pk=order.pk)
    return (
        order.status,
        order.cleared_at,
        list(Payment.objects.filter(order=order).values_list("status", "paid_amount", "provider_status")),
        PaymentEvent.objects.filter(payment__order=order).count(),
        OrderEvent.objects.filter(order=order).count(),
    )


@pytest.fixture
def mollie_order(world, django_capture_on_commit_callbacks):
    """An iDEAL order at Mollie (live adapter), its start after commit not run yet."""
    with django_capture_on_commit_callbacks(execute=False):
        order = world.order(
            "a", method="ideal", payment={"method": "ideal", "provider": "mollie", "provider_reference": PAYMENT_ID}
        )
    fake = FakeMollie(order.total_amount)
    live = {
        "PAYMENT_PROVIDER_BACKEND": "live",
        "MOLLIE_API_KEY": "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM",
        "MOLLIE_API_ENDPOINT": fake.endpoint,
        "MOLLIE_TIMEOUT": (0.3, 0.3),
    }
    with override_settings(**live):
        yield order, fake
    fake.close()


@pytest.mark.django_db
def test_a_provider_that_times_out_changes_nothing_and_the_sync_is_retried_until_it_answers(
    mollie_order, world, django_capture_on_commit_callbacks
):
    from payments.tasks import payment_sync_task

    order, fake = mollie_order
    before = _state(order)
    assert before[0] == "awaiting_payment"
    # when the provider's webhook arrives while the provider cannot be reached
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = time.monotonic()
        answer = world.client("anonymous").post(
            WEBHOOK, f"id={PAYMENT_ID}", content_type="application/x-www-form-urlencoded"
        )
    # then the provider gets its 200 at once (the look-up is work for a worker) ...
    assert answer.status_code == 200 and time.monotonic() - started < 1
    assert len(queued) == 1 and fake.calls == 0
    # ... and the look-up that times out raises a retryable error and changes nothing
    # (run eagerly, Celery schedules the retry by raising Retry with the cause)
    with pytest.raises(Retry) as retried:
        payment_sync_task.apply(kwargs={"provider": "mollie", "provider_id": PAYMENT_ID}, throw=True)
    assert isinstance(retried.value.exc, ProviderUnavailable)  # (retried after a jittered backoff)
    assert fake.calls >= 1
    assert _state(order) == before
    # when the provider answers again, the retried task books the money, once
    fake.down = False
    payment_sync_task.apply(kwargs={"provider": "mollie", "provider_id": PAYMENT_ID}, throw=True)
    payment_sync_task.apply(kwargs={"provider": "mollie", "provider_id": PAYMENT_ID}, throw=True)
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.paid_amount) == ("paid", order.total_amount)
    assert PaymentEvent.objects.filter(payment=payment, kind="received").count() == 1
    order.refresh_from_db()
    assert order.cleared_at is not None and order.status == "released"
    assert OrderEvent.objects.filter(order=order, kind="cleared").count() == 1


def test_the_provider_tasks_retry_what_is_transient_with_backoff_and_acknowledge_late():
    from payments.tasks import payment_capture_task, payment_start_task, payment_sync_task, refund_execute_task

    for task in (payment_start_task, payment_sync_task, payment_capture_task, refund_execute_task):
        assert ProviderUnavailable in task.autoretry_for, task.name
        assert task.acks_late and task.retry_backoff and task.max_retries >= 5, task.name
