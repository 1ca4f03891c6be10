"""The providers' webhook: the body is never trusted, the status is fetched from the
provider; a replay (also at the same moment) or a forged call changes nothing; the
simulator's paid / failed / expired / cancelled paths and a chargeback end where they
should — delivered by the simulator as a real HTTP POST to the real endpoint."""

import json
import threading
from decimal import Decimal

import pytest
import requests
from django.db import connection
from django.test import override_settings

from customers.models import Customer
from orders.models import Order
from orders.states import FulfilmentStatus, HoldReason, OrderStatus
from payments.models import Payment, PaymentEvent, SimulatedProviderPayment
from payments.providers.simulator import SimulatorProvider
from payments.services.simulator import (
    simulated_payment_chargeback,
    simulated_payment_complete,
    simulated_payment_expire,
)
from payments.states import PaymentEventKind, PaymentStatus
from payments.tests.factories import place, product, shop, warehouse

D = Decimal
URL = "/api/v1/payments/webhooks/mollie/"
FORM = "application/x-www-form-urlencoded"


def _snapshot():
    return (
        PaymentEvent.objects.count(),
        list(Payment.objects.order_by("pk").values_list("status", "paid_amount", "charged_back_amount")),
        list(Order.objects.order_by("pk").values_list("status", "cleared_at", "hold_reasons")),
        list(Customer.objects.order_by("pk").values_list("is_blocked", flat=True)),
    )


def _provider_payment(webhook_base: str, amount: str = "42.85", key: str = "checkout-1"):
    """What the webshop does at checkout: start a payment at the provider (here the
    simulator) with our webhook URL."""
    return SimulatorProvider().create_payment(
        amount=D(amount),
        description="Webshop order",
        reference="",
        redirect_url="https://webshop.example.nl/bedankt",
        webhook_url=f"{webhook_base}{URL}",
        method="ideal",
        idempotency_key=key,
    )


# --- through the simulator's checkout page and a live server ---------------------------------


@pytest.fixture
def ideal_order(db, live_server):
    channel, location = shop(), warehouse()
    item = product("SHIRT-1", location=location)
    remote = _provider_payment(live_server.url)
    order = place(
        channel,
        method="ideal",
        provider="mollie",
        provider_reference=remote.id,
        lines=[{"sku": item.sku, "quantity": 2, "unit_price": "19.95", "discount": "2.00"}],
    )
    return order, remote


@pytest.mark.django_db(transaction=True)
def test_paid_at_the_checkout_page_clears_the_order_through_the_webhook(ideal_order, client):
    order, remote = ideal_order
    assert order.status == OrderStatus.AWAITING_PAYMENT
    # when the customer pays on the provider's page
    response = client.post(f"/simulator/psp/{remote.id}/", {"action": "paid"})
    # then the provider called our webhook, we asked it, and the order is cleared and released
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.cleared_at is not None and order.status == OrderStatus.RELEASED
    assert set(order.fulfilments.values_list("status", flat=True)) == {FulfilmentStatus.RELEASED}
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.paid_amount) == (PaymentStatus.PAID, D("42.85"))
    received = PaymentEvent.objects.get(payment=payment, kind=PaymentEventKind.RECEIVED)
    assert received.actor_label == "webhook:mollie" and received.amount == D("42.85")
    assert SimulatedProviderPayment.objects.get(provider_id=remote.id).webhook_delivered_at is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("outcome", ["failed", "expired", "cancelled"])
def test_failed_expired_and_cancelled_payments_leave_the_order_waiting(ideal_order, client, outcome):
    order, remote = ideal_order
    # when
    client.post(f"/simulator/psp/{remote.id}/", {"action": outcome})
    # then the payment says so and nothing ships
    payment = Payment.objects.get(order=order)
    assert payment.status == outcome
    assert payment.paid_amount == 0
    order.refresh_from_db()
    assert order.cleared_at is None and order.status == OrderStatus.AWAITING_PAYMENT
    assert set(order.fulfilments.values_list("status", flat=True)) == {FulfilmentStatus.WAITING}
    assert PaymentEvent.objects.filter(payment=payment, kind=PaymentEventKind.STATUS_CHANGED, to_status=outcome)


@pytest.mark.django_db(transaction=True)
def test_an_open_payment_that_runs_out_of_time_expires(ideal_order):
    from django.utils import timezone

    order, remote = ideal_order
    SimulatedProviderPayment.objects.filter(provider_id=remote.id).update(expires_at=timezone.now())
    # when the provider's expiry runs (its webhook follows)
    assert simulated_payment_expire(provider_id=remote.id)
    # then
    assert Payment.objects.get(order=order).status == PaymentStatus.EXPIRED
    assert Order.objects.get(pk=order.pk).status == OrderStatus.AWAITING_PAYMENT


@pytest.mark.django_db(transaction=True)
def test_a_chargeback_holds_the_order_and_blocks_the_customer(ideal_order):
    order, remote = ideal_order
    simulated_payment_complete(provider_id=remote.id, outcome="paid")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.RELEASED
    # when the customer's bank takes the money back
    simulated_payment_chargeback(provider_id=remote.id)
    # then
    order.refresh_from_db()
    assert HoldReason.CHARGEBACK in order.hold_reasons and order.status == OrderStatus.ON_HOLD
    assert set(order.fulfilments.values_list("status", flat=True)) == {FulfilmentStatus.WAITING}
    assert order.customer.is_blocked and order.number in Customer.objects.get(pk=order.customer_id).blocked_reason
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.charged_back_amount) == (PaymentStatus.CHARGED_BACK, D("42.85"))
    assert PaymentEvent.objects.filter(payment=payment, kind=PaymentEventKind.CHARGED_BACK).count() == 1
    # and the location cannot ship it
    from orders.exceptions import OrderOnHold
    from payments.tests.factories import ship

    with pytest.raises(OrderOnHold):
        ship(order)


@pytest.mark.django_db(transaction=True)
def test_replayed_webhooks_at_the_same_moment_book_the_money_once(ideal_order):
    order, remote = ideal_order
    # the provider's state changes without telling us (its webhook is lost)
    SimulatedProviderPayment.objects.filter(provider_id=remote.id).update(webhook_url="")
    simulated_payment_complete(provider_id=remote.id, outcome="paid")
    assert Payment.objects.get(order=order).paid_amount == 0
    # when the same webhook arrives eight times at once, on eight connections
    barrier = threading.Barrier(8)
    answers, errors = [], []

    def deliver():
        from django.test import Client

        try:
            barrier.wait()
            answers.append(Client().post(URL, f"id={remote.id}", content_type=FORM).status_code)
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then every call was answered and the money is booked once
    assert not errors and answers == [200] * 8
    payment = Payment.objects.get(order=order)
    assert payment.paid_amount == D("42.85")
    assert PaymentEvent.objects.filter(payment=payment, kind=PaymentEventKind.RECEIVED).count() == 1
    assert Order.objects.get(pk=order.pk).events.filter(kind="cleared").count() == 1


# --- forged and replayed calls (test client) ----------------------------------------------------


@pytest.fixture
def paid_order(db, run_on_commit):
    channel, location = shop(), warehouse()
    item = product("SHIRT-2", location=location)
    remote = _provider_payment("http://127.0.0.1:9", amount="10.00", key="c-2")
    SimulatedProviderPayment.objects.filter(provider_id=remote.id).update(webhook_url="")
    with run_on_commit():
        order = place(
            channel,
            method="ideal",
            provider="mollie",
            provider_reference=remote.id,
            shipping="0.00",
            lines=[{"sku": item.sku, "unit_price": "10.00"}],
        )
    return order, remote


def test_a_replayed_webhook_changes_nothing(paid_order, client, run_on_commit):
    order, remote = paid_order
    simulated_payment_complete(provider_id=remote.id, outcome="paid")
    with run_on_commit():
        first = client.post(URL, f"id={remote.id}", content_type=FORM)
    assert first.status_code == 200 and first.json() == {"received": True}
    assert Order.objects.get(pk=order.pk).cleared_at is not None
    before = _snapshot()
    # when the provider (or anyone) sends it again
    with run_on_commit():
        again = client.post(URL, f"id={remote.id}", content_type=FORM)
    # then
    assert again.status_code == 200
    assert _snapshot() == before


def test_a_forged_id_or_a_body_that_claims_paid_changes_nothing(paid_order, client, run_on_commit):
    order, remote = paid_order
    before = _snapshot()
    with run_on_commit():
        unknown = client.post(URL, "id=sim_tr_AAAAAAAAAAAAAAAA", content_type=FORM)
        claim = client.post(URL, json.dumps({"id": remote.id, "status": "paid"}), content_type="application/json")
        status_in_form = client.post(URL, f"id={remote.id}&status=paid&amount=10.00", content_type=FORM)
        garbage = client.post(URL, "id=../../etc/passwd", content_type=FORM)
        other_provider = client.post("/api/v1/payments/webhooks/adyen/", f"id={remote.id}", content_type=FORM)
    # then an unknown id is answered like any other, the rest refused, and nothing changed
    assert unknown.status_code == 200
    assert claim.status_code in (400, 415)
    assert garbage.status_code == 400 and garbage.json()["errors"][0]["attr"] == "id"
    assert other_provider.status_code == 404
    # the status in the body is ignored: the provider says the payment is still open
    assert status_in_form.status_code == 200
    assert _snapshot() == before
    assert Order.objects.get(pk=order.pk).cleared_at is None


@override_settings(PAYMENT_WEBHOOK_THROTTLE_RATE="3/min")
def test_webhooks_are_throttled_per_address(paid_order, client):
    codes = [client.post(URL, "id=sim_tr_AAAAAAAAAAAAAAAA", content_type=FORM).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


# --- the real Mollie adapter, its HTTP answered by Mollie's recorded responses ----------------------


@pytest.fixture
def recorded_mollie(monkeypatch, samples):
    from payments.tests.mollie_transport import API, RecordedMollie

    transport = RecordedMollie()
    session = requests.Session()
    session.mount(API, transport)
    monkeypatch.setattr("payments.providers.mollie.requests.Session", lambda: session)
    chargebacks = json.loads((samples / "psp" / "mollie_chargeback-list_with-embedded-paid-payments.json").read_text())
    charged_back = chargebacks["_embedded"]["chargebacks"][0]["_embedded"]["payment"]
    paid = json.loads(json.dumps(charged_back))
    paid["amountChargedBack"] = {"value": "0.00", "currency": "EUR"}
    del paid["_links"]["chargebacks"]
    transport.add("GET", "/v2/payments/tr_HdQrGb6N3r", paid)
    transport.add("GET", "/v2/payments/tr_HdQrGb6N3r", charged_back)
    transport.add("GET", "/v2/payments/tr_HdQrGb6N3r/chargebacks", chargebacks)
    return transport


@override_settings(PAYMENT_PROVIDER_BACKEND="live", MOLLIE_API_KEY="test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM")
def test_mollie_paid_then_charged_back(recorded_mollie, db, client, run_on_commit):
    channel, location = shop(), warehouse()
    item = product("CARD-1", location=location)
    with run_on_commit():
        order = place(
            channel,
            method="card",
            provider="mollie",
            provider_reference="tr_HdQrGb6N3r",
            shipping="0.00",
            lines=[{"sku": item.sku, "unit_price": "10.00"}],
        )
    # at intake the back-office asked Mollie: paid → cleared
    order.refresh_from_db()
    assert order.cleared_at is not None and order.status == OrderStatus.RELEASED
    # when Mollie's webhook says something changed (a chargeback)
    with run_on_commit():
        assert client.post(URL, "id=tr_HdQrGb6N3r", content_type=FORM).status_code == 200
    # then
    order.refresh_from_db()
    assert HoldReason.CHARGEBACK in order.hold_reasons and order.customer.is_blocked
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.charged_back_amount, payment.method) == (
        PaymentStatus.CHARGED_BACK,
        D("10.00"),
        "card",
    )
    assert [r.path_url for r in recorded_mollie.requests] == [
        "/v2/payments/tr_HdQrGb6N3r",
        "/v2/payments/tr_HdQrGb6N3r",
        "/v2/payments/tr_HdQrGb6N3r/chargebacks",
    ]
    assert all(r.headers["Authorization"].startswith("Bearer test_") for r in recorded_mollie.requests)


def test_the_periodic_sweep_finds_what_a_lost_webhook_did_not_say(paid_order):
    from payments.services.sweep import payments_sync_open

    order, remote = paid_order
    simulated_payment_complete(provider_id=remote.id, outcome="paid")  # its webhook goes nowhere
    assert Order.objects.get(pk=order.pk).cleared_at is None
    assert payments_sync_open() == 0  # asked at intake a moment ago: not yet again
    # when the sweep runs a quarter of an hour later
    import datetime

    from django.utils import timezone

    Payment.objects.filter(order=order).update(last_synced_at=timezone.now() - datetime.timedelta(minutes=15))
    assert payments_sync_open() == 1
    # then the payment is known paid and the order cleared; a second sweep skips it
    assert Payment.objects.get(order=order).status == PaymentStatus.PAID
    assert Order.objects.get(pk=order.pk).cleared_at is not None
    assert payments_sync_open() == 0
