import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from core.exceptions import InvalidTransition
from core.models import OutboxMessage
from payments.exceptions import (
    CaptureExceedsAuthorized,
    ChargebackExceedsPaid,
    IdempotencyKeyReused,
    ProviderPaymentNotFound,
    ProviderRejected,
    RefundExceedsPaid,
    SimulatedPaymentExpired,
)
from payments.models import SimulatedProviderPayment
from payments.providers.base import ProviderStatus, RefundStatus
from payments.providers.simulator import SimulatorProvider
from payments.services.simulator import (
    simulated_payment_chargeback,
    simulated_payment_complete,
    simulated_payments_expire_due,
)
from payments.tasks import simulator_expire_due_task

pytestmark = [pytest.mark.django_db, pytest.mark.urls("payments.tests.urls")]

WEBHOOK_TASK = "payments.simulator_deliver_webhook"


@pytest.fixture
def provider():
    return SimulatorProvider()


def _create(provider, **overrides):
    arguments = {
        "amount": Decimal("42.85"),
        "description": "Bestelling WEB-2026-000123",
        "reference": "5000056789012345",
        "redirect_url": "https://webshop.example.nl/bedankt",
        "webhook_url": "https://backoffice.example.nl/api/v1/payments/webhooks/simulator/",
        "method": "ideal",
        "metadata": {"order": "WEB-2026-000123"},
        "idempotency_key": "WEB-2026-000123-1",
    }
    arguments.update(overrides)
    return provider.create_payment(**arguments)


def _webhooks(provider_id):
    return OutboxMessage.objects.filter(task_name=WEBHOOK_TASK, kwargs={"provider_id": provider_id}).count()


def _checkout(client, payment, **data):
    return client.post(f"/simulator/psp/{payment.id}/", data)


# --- creating --------------------------------------------------------------------------


def test_created_payment_is_open_with_its_own_checkout_page(provider):
    # when
    payment = _create(provider)
    # then
    assert payment.status == ProviderStatus.OPEN
    assert payment.id.startswith("sim_tr_") and len(payment.id) == 23
    assert payment.checkout_url == f"http://127.0.0.1:8000/simulator/psp/{payment.id}/"
    assert payment.amount == Decimal("42.85")
    assert payment.metadata == {"order": "WEB-2026-000123", "reference": "5000056789012345"}
    assert payment.expires_at - timezone.now() > datetime.timedelta(minutes=14)
    assert _webhooks(payment.id) == 0  # nothing happened yet


def test_same_idempotency_key_gives_the_same_payment(provider):
    first = _create(provider)
    again = _create(provider)
    assert again.id == first.id
    assert SimulatedProviderPayment.objects.count() == 1


def test_same_idempotency_key_for_another_payment_is_refused(provider):
    _create(provider)
    with pytest.raises(IdempotencyKeyReused):
        _create(provider, amount=Decimal("1.00"))
    assert SimulatedProviderPayment.objects.count() == 1


def test_checkout_url_needs_the_simulator_pages_included(provider):
    from payments.exceptions import ProviderNotConfigured

    with override_settings(ROOT_URLCONF="core.api.urls"), pytest.raises(ProviderNotConfigured):
        _create(provider)


# --- the checkout page -----------------------------------------------------------------


def test_checkout_page_shows_the_payment_and_the_choices(client, provider):
    payment = _create(provider)
    response = client.get(f"/simulator/psp/{payment.id}/", HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 200
    page = response.content.decode()
    assert "€ 42,85" in page
    assert "5000056789012345" in page
    for outcome in ("paid", "pending", "failed", "expired", "cancelled"):
        assert f'value="{outcome}"' in page


def test_paying_on_the_checkout_page_returns_to_the_shop_and_calls_the_webhook(client, provider):
    payment = _create(provider)
    # when
    response = _checkout(client, payment, action="paid")
    # then
    assert response.status_code == 302
    assert response["Location"] == "https://webshop.example.nl/bedankt"
    seen = provider.get_payment(payment.id)
    assert seen.status == ProviderStatus.PAID
    assert seen.amount_captured == seen.amount_paid == Decimal("42.85")
    assert seen.paid_at is not None
    assert _webhooks(payment.id) == 1


@pytest.mark.parametrize("outcome", ["failed", "expired", "cancelled", "pending"])
def test_other_outcomes(client, provider, outcome):
    payment = _create(provider)
    _checkout(client, payment, action=outcome)
    seen = provider.get_payment(payment.id)
    assert seen.status == outcome
    assert seen.amount_paid == Decimal("0.00")
    assert _webhooks(payment.id) == 1


def test_a_final_payment_cannot_be_paid_again_and_nothing_changes(client, provider):
    payment = _create(provider)
    _checkout(client, payment, action="failed")
    # when
    response = _checkout(client, payment, action="paid")
    # then
    assert response.status_code == 409
    assert provider.get_payment(payment.id).status == ProviderStatus.FAILED
    assert _webhooks(payment.id) == 1


def test_partial_payment(client, provider):
    payment = _create(provider)
    _checkout(client, payment, action="paid", amount="40.00")
    seen = provider.get_payment(payment.id)
    assert seen.status == ProviderStatus.PAID
    assert seen.amount_paid == Decimal("40.00") < seen.amount


def test_paying_more_than_the_amount_is_refused(client, provider):
    payment = _create(provider)
    response = _checkout(client, payment, action="paid", amount="50.00")
    assert response.status_code == 400
    assert provider.get_payment(payment.id).status == ProviderStatus.OPEN
    assert _webhooks(payment.id) == 0


def test_customer_picks_the_method_when_none_was_set(client, provider):
    payment = _create(provider, method=None, idempotency_key="k-method")
    assert 'name="method"' in client.get(f"/simulator/psp/{payment.id}/").content.decode()
    _checkout(client, payment, action="paid", method="bancontact")
    assert provider.get_payment(payment.id).method == "bancontact"


def test_chargeback_from_the_checkout_page_leaves_the_payment_paid(client, provider):
    payment = _create(provider)
    _checkout(client, payment, action="paid")
    # when
    response = _checkout(client, payment, action="chargeback", amount="12.85")
    # then
    assert response.status_code == 302
    seen = provider.get_payment(payment.id)
    assert seen.status == ProviderStatus.PAID
    assert seen.is_charged_back and seen.amount_charged_back == Decimal("12.85")
    assert [c.amount for c in seen.chargebacks] == [Decimal("12.85")]
    assert seen.amount_refundable == Decimal("30.00")
    assert _webhooks(payment.id) == 2


def test_chargeback_of_an_unpaid_payment_is_refused(client, provider):
    payment = _create(provider)
    response = _checkout(client, payment, action="chargeback")
    assert response.status_code == 400
    assert provider.get_payment(payment.id).amount_charged_back == Decimal("0.00")


def test_unknown_payment_page_is_404(client):
    assert client.get("/simulator/psp/sim_tr_AAAAAAAAAAAAAAAA/").status_code == 404


def test_simulator_pages_are_off_with_live_providers(client, provider):
    payment = _create(provider)
    with override_settings(PAYMENT_PROVIDER_BACKEND="live"):
        assert client.get(f"/simulator/psp/{payment.id}/").status_code == 404
        assert _checkout(client, payment, action="paid").status_code == 404
    assert provider.get_payment(payment.id).status == ProviderStatus.OPEN


# --- pay later and capture -------------------------------------------------------------


def test_pay_later_is_authorised_then_captured(client, provider):
    payment = _create(provider, method="pay_later", idempotency_key="k-later")
    _checkout(client, payment, action="paid")
    authorised = provider.get_payment(payment.id)
    assert authorised.status == ProviderStatus.AUTHORIZED
    assert authorised.capture_before - timezone.now() > datetime.timedelta(days=89)
    assert authorised.amount_paid == Decimal("0.00")
    # when the first shipment ships
    capture = provider.capture(provider_id=payment.id, amount=Decimal("30.00"), idempotency_key="ship-1")
    # then
    assert capture.amount == Decimal("30.00") and capture.payment_id == payment.id
    paid = provider.get_payment(payment.id)
    assert paid.status == ProviderStatus.PAID
    assert paid.amount_captured == Decimal("30.00")
    # the same capture again is the same capture, not a second one
    assert provider.capture(provider_id=payment.id, amount=Decimal("30.00"), idempotency_key="ship-1").id == capture.id
    assert _webhooks(payment.id) == 2


def test_manual_capture_card_payment_is_authorised(client, provider):
    payment = _create(provider, method="card", manual_capture=True, idempotency_key="k-card")
    _checkout(client, payment, action="paid")
    assert provider.get_payment(payment.id).status == ProviderStatus.AUTHORIZED


def test_capture_beyond_the_authorisation_or_twice_is_refused(client, provider):
    payment = _create(provider, method="pay_later", idempotency_key="k-later-2")
    _checkout(client, payment, action="paid")
    with pytest.raises(CaptureExceedsAuthorized):
        provider.capture(provider_id=payment.id, amount=Decimal("42.86"), idempotency_key="c1")
    assert provider.get_payment(payment.id).status == ProviderStatus.AUTHORIZED
    # per shipment: part now, the rest later, never more than the authorisation
    provider.capture(provider_id=payment.id, amount=Decimal("20.00"), idempotency_key="c2")
    assert provider.get_payment(payment.id).amount_paid == Decimal("20.00")
    provider.capture(provider_id=payment.id, amount=Decimal("20.00"), idempotency_key="c2")  # a repeat: nothing
    with pytest.raises(CaptureExceedsAuthorized):
        provider.capture(provider_id=payment.id, amount=Decimal("22.86"), idempotency_key="c3")
    provider.capture(provider_id=payment.id, amount=Decimal("22.85"), idempotency_key="c4")
    with pytest.raises(CaptureExceedsAuthorized):
        provider.capture(provider_id=payment.id, amount=Decimal("1.00"), idempotency_key="c5")
    record = SimulatedProviderPayment.objects.get(provider_id=payment.id)
    assert (len(record.captures), record.amount_captured, record.status) == (2, Decimal("42.85"), "paid")


def test_capturing_an_open_payment_is_refused(provider):
    payment = _create(provider)
    with pytest.raises(InvalidTransition):
        provider.capture(provider_id=payment.id, amount=Decimal("1.00"), idempotency_key="c")
    assert provider.get_payment(payment.id).amount_captured == Decimal("0.00")


# --- refunds ---------------------------------------------------------------------------


def test_refunds_are_bounded_by_what_was_paid(client, provider):
    payment = _create(provider)
    _checkout(client, payment, action="paid")
    # when
    refund = provider.refund(
        provider_id=payment.id, amount=Decimal("20.00"), description="retour", idempotency_key="r1"
    )
    # then
    assert refund.status == RefundStatus.REFUNDED
    assert refund.amount == Decimal("20.00")
    with pytest.raises(RefundExceedsPaid):
        provider.refund(provider_id=payment.id, amount=Decimal("22.86"), description="te veel", idempotency_key="r2")
    seen = provider.get_payment(payment.id)
    assert seen.amount_refunded == Decimal("20.00")
    assert seen.amount_refundable == Decimal("22.85")
    assert len(SimulatedProviderPayment.objects.get(provider_id=payment.id).refunds) == 1


def test_a_refund_repeated_with_its_key_is_not_paid_twice(client, provider):
    payment = _create(provider)
    _checkout(client, payment, action="paid")
    first = provider.refund(provider_id=payment.id, amount=Decimal("5.00"), description="", idempotency_key="r1")
    again = provider.refund(provider_id=payment.id, amount=Decimal("5.00"), description="", idempotency_key="r1")
    assert again.id == first.id
    assert provider.get_payment(payment.id).amount_refunded == Decimal("5.00")
    with pytest.raises(IdempotencyKeyReused):
        provider.refund(provider_id=payment.id, amount=Decimal("6.00"), description="", idempotency_key="r1")


def test_refund_of_an_unpaid_payment_is_refused(provider):
    payment = _create(provider)
    with pytest.raises(ProviderRejected) as error:
        provider.refund(provider_id=payment.id, amount=Decimal("1.00"), description="", idempotency_key="r")
    assert error.value.code == "payment_not_paid"


def test_charged_back_money_cannot_be_refunded_too(client, provider):
    payment = _create(provider)
    _checkout(client, payment, action="paid")
    simulated_payment_chargeback(provider_id=payment.id)
    with pytest.raises(RefundExceedsPaid):
        provider.refund(provider_id=payment.id, amount=Decimal("0.01"), description="", idempotency_key="r")
    with pytest.raises(ChargebackExceedsPaid):
        simulated_payment_chargeback(provider_id=payment.id, amount=Decimal("0.01"))


# --- expiry ----------------------------------------------------------------------------


@override_settings(PAYMENT_SIMULATOR_EXPIRY_MINUTES=0)
def test_payment_past_its_time_cannot_be_paid_and_reads_expired(provider):
    payment = _create(provider)
    with pytest.raises(SimulatedPaymentExpired):
        simulated_payment_complete(provider_id=payment.id, outcome="paid")
    assert SimulatedProviderPayment.objects.get(provider_id=payment.id).status == ProviderStatus.OPEN
    # when the shop asks, the provider says expired (and calls the webhook once)
    assert provider.get_payment(payment.id).status == ProviderStatus.EXPIRED
    assert provider.get_payment(payment.id).status == ProviderStatus.EXPIRED
    assert _webhooks(payment.id) == 1


@override_settings(PAYMENT_SIMULATOR_EXPIRY_MINUTES=0)
def test_expiry_task_expires_what_is_due_once(provider):
    due = _create(provider, idempotency_key="a")
    with override_settings(PAYMENT_SIMULATOR_EXPIRY_MINUTES=30):
        later = _create(provider, idempotency_key="b")
    assert simulator_expire_due_task() == 1
    assert simulated_payments_expire_due() == 0
    assert SimulatedProviderPayment.objects.get(provider_id=due.id).status == ProviderStatus.EXPIRED
    assert SimulatedProviderPayment.objects.get(provider_id=later.id).status == ProviderStatus.OPEN


# --- payment links ---------------------------------------------------------------------


def test_payment_link_stays_open_after_a_failed_attempt_and_can_be_paid(client, provider):
    link = provider.create_payment_link(
        amount=Decimal("99.00"),
        description="Factuur 2026-000045",
        reference="5000056789012345",
        redirect_url="https://webshop.example.nl/bedankt",
        webhook_url="",
        idempotency_key="invoice-2026-000045",
    )
    assert link.id.startswith("sim_pl_") and link.expires_at is None
    assert _checkout(client, link, action="failed").status_code == 409
    assert provider.get_payment(link.id).status == ProviderStatus.OPEN
    _checkout(client, link, action="paid")
    assert provider.get_payment(link.id).status == ProviderStatus.PAID
    assert _webhooks(link.id) == 0  # no webhook URL given: none is called


# --- lookups and webhooks --------------------------------------------------------------


def test_unknown_ids_are_not_found(provider):
    with pytest.raises(ProviderPaymentNotFound):
        provider.get_payment("sim_tr_AAAAAAAAAAAAAAAA")
    with pytest.raises(ProviderPaymentNotFound):
        provider.get_payment("tr_WDqYK6vllg")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"id=sim_tr_Ab12Cd34Ef56Gh78", "sim_tr_Ab12Cd34Ef56Gh78"),
        (b"id=sim_pl_Ab12Cd34Ef56Gh78", "sim_pl_Ab12Cd34Ef56Gh78"),
        (b"id=tr_WDqYK6vllg", None),
        (b"id=sim_tr_short", None),
        (b"status=paid", None),
    ],
)
def test_simulator_webhook_yields_only_an_id(provider, body, expected):
    assert provider.parse_webhook(body, "application/x-www-form-urlencoded") == expected


# --- concurrency -----------------------------------------------------------------------


def _in_threads(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = call()
        except Exception as exc:  # noqa: BLE001 — the test looks at what each thread got
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_refunds_at_once_never_refund_more_than_was_paid(provider):
    payment = _create(provider, webhook_url="")
    simulated_payment_complete(provider_id=payment.id, outcome="paid")
    # when two refunds of 30.00 on 42.85 paid arrive at the same moment
    outcomes = _in_threads(
        lambda: provider.refund(provider_id=payment.id, amount=Decimal("30.00"), description="", idempotency_key="a"),
        lambda: provider.refund(provider_id=payment.id, amount=Decimal("30.00"), description="", idempotency_key="b"),
    )
    # then exactly one succeeds
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ProviderRefund", "RefundExceedsPaid"]
    record = SimulatedProviderPayment.objects.get(provider_id=payment.id)
    assert record.amount_refunded == Decimal("30.00")
    assert len(record.refunds) == 1


@pytest.mark.django_db(transaction=True)
def test_paying_and_cancelling_at_once_ends_in_one_status(provider):
    payment = _create(provider, webhook_url="")
    outcomes = _in_threads(
        lambda: simulated_payment_complete(provider_id=payment.id, outcome="paid"),
        lambda: simulated_payment_complete(provider_id=payment.id, outcome="cancelled"),
    )
    failures = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], InvalidTransition)
    record = SimulatedProviderPayment.objects.get(provider_id=payment.id)
    assert record.status in (ProviderStatus.PAID, ProviderStatus.CANCELLED)
    assert len(record.history) == 2  # created, and the one change that won
