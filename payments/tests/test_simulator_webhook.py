"""The simulator's webhook leaves after commit, through the outbox and the Celery task
`payments.simulator_deliver_webhook` (eager in tests), as a real HTTP POST to a live
server whose receiver asks the provider what happened."""

from decimal import Decimal

import pytest

from core.models import OutboxMessage
from payments.models import SimulatedProviderPayment
from payments.providers.base import ProviderStatus
from payments.providers.simulator import SimulatorProvider
from payments.services.simulator import simulated_payment_chargeback, simulated_payment_complete
from payments.tests import urls as receiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("payments.tests.urls")]


@pytest.fixture(autouse=True)
def _fresh_receiver():
    receiver.RECEIVED.clear()
    receiver.FAILURES_TO_GIVE["count"] = 0
    yield
    receiver.RECEIVED.clear()
    receiver.FAILURES_TO_GIVE["count"] = 0


def _payment(webhook_url: str, key: str = "order-1"):
    return SimulatorProvider().create_payment(
        amount=Decimal("42.85"),
        description="Bestelling WEB-2026-000123",
        reference="5000056789012345",
        redirect_url="https://webshop.example.nl/bedankt",
        webhook_url=webhook_url,
        idempotency_key=key,
    )


def test_paying_at_the_checkout_calls_the_webhook_which_fetches_the_status(live_server, client):
    payment = _payment(f"{live_server.url}/hooks/psp/")
    assert receiver.RECEIVED == []
    # when the customer pays on the checkout page
    response = client.post(f"/simulator/psp/{payment.id}/", {"action": "paid"})
    # then the receiver got a form-encoded id only, and learned "paid" by asking
    assert response.status_code == 302
    assert len(receiver.RECEIVED) == 1
    call = receiver.RECEIVED[0]
    assert call["body"] == f"id={payment.id}".encode()
    assert (call["id"], call["status"]) == (payment.id, ProviderStatus.PAID)
    record = SimulatedProviderPayment.objects.get(provider_id=payment.id)
    assert record.webhook_attempts == 1 and record.webhook_delivered_at is not None
    message = OutboxMessage.objects.get(task_name="payments.simulator_deliver_webhook")
    assert message.kwargs == {"provider_id": payment.id} and message.sent_at is not None


def test_a_chargeback_calls_the_webhook_again_and_the_payment_reads_paid_and_charged_back(live_server):
    payment = _payment(f"{live_server.url}/hooks/psp/")
    simulated_payment_complete(provider_id=payment.id, outcome="paid")
    # when
    simulated_payment_chargeback(provider_id=payment.id, amount=Decimal("42.85"))
    # then
    assert [(c["status"], c["charged_back"]) for c in receiver.RECEIVED] == [
        (ProviderStatus.PAID, Decimal("0.00")),
        (ProviderStatus.PAID, Decimal("42.85")),
    ]


@pytest.fixture
def worker_retries():
    """Tests run tasks eagerly and propagate their errors; a worker instead retries a
    failing task (autoretry with backoff). Without propagation the eager run retries the
    same way, at once."""
    from backoffice.celery import app

    before = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = before


def test_delivery_is_retried_while_the_receiver_fails(live_server, worker_retries):
    payment = _payment(f"{live_server.url}/hooks/psp/")
    receiver.FAILURES_TO_GIVE["count"] = 2  # answers 503 twice
    # when
    simulated_payment_complete(provider_id=payment.id, outcome="failed")
    # then the third attempt got through
    assert [(c["id"], c["status"]) for c in receiver.RECEIVED] == [(payment.id, ProviderStatus.FAILED)]
    record = SimulatedProviderPayment.objects.get(provider_id=payment.id)
    assert record.webhook_attempts == 3 and record.webhook_delivered_at is not None


def test_an_unreachable_receiver_is_given_up_after_ten_retries(worker_retries):
    # given a receiver address where nothing listens
    payment = _payment("http://127.0.0.1:9/hooks/psp/")
    # when
    simulated_payment_complete(provider_id=payment.id, outcome="paid")
    # then the first try and ten retries were made, and the payment itself is done
    record = SimulatedProviderPayment.objects.get(provider_id=payment.id)
    assert record.status == ProviderStatus.PAID
    assert record.webhook_attempts == 11 and record.webhook_delivered_at is None


def test_work_that_failed_at_hand_over_stays_in_the_outbox_and_is_sent_by_the_drain(live_server):
    from core.services import outbox_drain

    payment = _payment(f"{live_server.url}/hooks/psp/")
    receiver.FAILURES_TO_GIVE["count"] = 1
    # when the first delivery fails (errors propagate in tests, as a refused hand-over would)
    simulated_payment_complete(provider_id=payment.id, outcome="paid")
    # then the work waits in the outbox
    message = OutboxMessage.objects.get(task_name="payments.simulator_deliver_webhook")
    assert message.sent_at is None and "503" in message.last_error
    assert receiver.RECEIVED == []
    # and when the outbox is drained, the webhook arrives
    assert outbox_drain(older_than_seconds=0) == 1
    assert [(c["id"], c["status"]) for c in receiver.RECEIVED] == [(payment.id, ProviderStatus.PAID)]
