"""Payments of orders: created at intake (in a fixed number of queries), clearing per
method (staff-editable), pay later (credit check, capture on shipment), a payment link
for the rest, money received by hand (four eyes)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import roles
from core.approvals import approval_decide
from core.exceptions import PermissionDenied
from core.models import ApprovalRequest, OutboxMessage
from core.tests.factories import UserFactory
from orders.models import Order
from orders.states import FulfilmentStatus, HoldReason, OrderStatus
from payments.exceptions import CaptureExceedsAuthorized
from payments.models import ClearingPolicy, Payment, PaymentEvent, SimulatedProviderPayment
from payments.providers.simulator import SimulatorProvider
from payments.services.clearing import clearing_policy_update, clearing_rule_for
from payments.services.payments import NothingDue, payment_link_create, payment_manual_request, payment_start
from payments.services.simulator import simulated_payment_capture, simulated_payment_complete
from payments.services.statements import bank_statement_import
from payments.states import ClearingRule, PaymentEventKind, PaymentKind, PaymentStatus
from payments.tests.factories import camt, order_payload, place, ship

D = Decimal


@pytest.fixture
def finance(db):
    return UserFactory(username="femke", role=roles.FINANCE)


@pytest.fixture
def agent(db):
    return UserFactory(username="sanne", role=roles.CUSTOMER_SERVICE)


@pytest.mark.django_db
def test_every_method_has_its_default_clearing_policy():
    assert dict(ClearingPolicy.objects.values_list("method", "rule")) == {
        "ideal": "provider_paid",
        "card": "provider_paid",
        "paypal": "provider_paid",
        "bancontact": "provider_paid",
        "bank_transfer": "bank_statement",
        "pay_later": "credit_check",
        "pos": "immediate",
        "store_credit": "store_credit",
    }


@pytest.mark.django_db
def test_a_flush_gets_the_policies_back():
    from payments.defaults import ensure_defaults

    ClearingPolicy.objects.all().delete()
    ensure_defaults()
    assert ClearingPolicy.objects.count() == 8 and clearing_rule_for("pos") == ClearingRule.IMMEDIATE


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["pos", "ideal", "bank_transfer", "pay_later"])
def test_intake_with_its_payment_costs_the_same_queries_for_1_3_and_20_lines(api_for, channel, utr, method):
    from payments.tests.factories import product

    products = [product(f"Q-{method}-{i}", location=utr) for i in range(20)]
    shop = api_for(channel=channel)
    warm = order_payload(lines=[{"sku": products[0].sku}], method=method, reference=f"warm-{method}")
    shop.post("/api/v1/orders/", _json(warm), format="json")
    counts = {}
    for n in (1, 3, 20):
        body = order_payload(lines=[{"sku": p.sku} for p in products[:n]], method=method, reference=f"{method}-{n}")
        with CaptureQueriesContext(connection) as ctx:
            response = shop.post("/api/v1/orders/", _json(body), format="json")
        assert response.status_code == 201, response.json()
        counts[n] = len(ctx.captured_queries)
    assert counts[1] == counts[3] == counts[20], counts
    limit = 25 if method != "pay_later" else 27  # pay later also looks for overdue invoices and blocked accounts
    assert counts[20] <= limit, counts


def _json(payload: dict) -> dict:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


@pytest.mark.django_db
def test_a_point_of_sale_order_is_paid_and_cleared_at_once(channel, shirt):
    order = place(channel, method="pos", lines=[{"sku": shirt.sku, "unit_price": "10.00"}], shipping="0.00")
    payment = Payment.objects.get(order=order)
    assert order.cleared_at is not None and order.status == OrderStatus.RELEASED
    assert (payment.status, payment.paid_amount) == (PaymentStatus.PAID, D("10.00"))
    assert PaymentEvent.objects.get(payment=payment).kind == PaymentEventKind.RECEIVED
    assert not OutboxMessage.objects.filter(task_name="payments.payment_start").exists()


@pytest.mark.django_db
def test_staff_change_when_a_method_clears(channel, shirt, finance, agent):
    with pytest.raises(PermissionDenied):
        clearing_policy_update(method="bank_transfer", rule=ClearingRule.IMMEDIATE, actor=agent)
    clearing_policy_update(method="bank_transfer", rule=ClearingRule.IMMEDIATE, actor=finance, note="trusted")
    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "10.00"}])
    assert order.cleared_at is not None and order.status == OrderStatus.RELEASED
    history = ClearingPolicy.history.filter(method="bank_transfer").latest("history_date")
    assert (history.history_user, history.rule) == (finance, ClearingRule.IMMEDIATE)


@pytest.mark.django_db
def test_pay_later_clears_after_the_credit_check_and_is_invoiced_on_shipment(channel, shirt, run_on_commit):
    with run_on_commit():
        order = place(channel, method="pay_later", lines=[{"sku": shirt.sku, "unit_price": "100.00"}])
    order.refresh_from_db()
    payment = order.payments.get()
    assert (payment.status, payment.authorized_amount) == (PaymentStatus.AUTHORIZED, D("104.95"))
    assert order.cleared_at is not None and order.status == OrderStatus.RELEASED
    assert PaymentEvent.objects.filter(payment=payment, kind=PaymentEventKind.CREDIT_CHECK_PASSED).exists()
    # shipping invoices it; the customer pays the invoice by transfer later
    (shipment,) = ship(order)
    assert shipment.invoice.total_amount == D("104.95")


@pytest.mark.django_db
def test_pay_later_is_refused_above_the_credit_limit_and_the_order_waits(channel, shirt, run_on_commit):
    with run_on_commit():
        order = place(channel, method="pay_later", lines=[{"sku": shirt.sku, "quantity": 8, "unit_price": "100.00"}])
    order.refresh_from_db()
    payment = order.payments.get()
    assert payment.status == PaymentStatus.FAILED
    event = PaymentEvent.objects.get(payment=payment, kind=PaymentEventKind.CREDIT_CHECK_FAILED)
    assert event.data["reasons"] == ["credit_limit_exceeded"]
    assert order.cleared_at is None and order.status == OrderStatus.AWAITING_PAYMENT
    # running it again changes nothing
    payment_start(payment_id=payment.pk)
    assert PaymentEvent.objects.filter(payment=payment).count() == 1


def _pay_later_order_authorised_at_the_provider(channel, sku: str, quantity: int, run_on_commit) -> tuple:
    """A pay-later order at the provider (Riverty through Mollie, simulated), authorised
    there for the order's total (100.00 a unit + 4.95 shipping). Returns (order, provider id)."""
    remote = SimulatorProvider().create_payment(
        amount=D("100.00") * quantity + D("4.95"),
        description="x",
        reference="",
        redirect_url="https://shop.example.nl/",
        webhook_url="",
        method="pay_later",
        idempotency_key=f"riverty-{sku}-{quantity}",
    )
    simulated_payment_complete(provider_id=remote.id, outcome="paid")  # authorised at the provider
    with run_on_commit():
        order = place(
            channel,
            method="pay_later",
            provider="mollie",
            provider_reference=remote.id,
            lines=[{"sku": sku, "quantity": quantity, "unit_price": "100.00"}],
        )
    return order, remote.id


@pytest.mark.django_db
def test_pay_later_at_a_provider_is_captured_for_what_shipped(channel, shirt, run_on_commit):
    order, provider_id = _pay_later_order_authorised_at_the_provider(channel, shirt.sku, 1, run_on_commit)
    order.refresh_from_db()
    assert order.cleared_at is not None
    assert order.payments.get().status == PaymentStatus.AUTHORIZED
    # when it ships, the invoice's amount is captured at the provider after commit
    with run_on_commit():
        (shipment,) = ship(order)
    record = SimulatedProviderPayment.objects.get(provider_id=provider_id)
    assert (record.status, record.amount_captured) == ("paid", shipment.invoice.total_amount)
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.paid_amount) == (PaymentStatus.PAID, D("104.95"))
    assert PaymentEvent.objects.filter(payment=payment, kind=PaymentEventKind.CAPTURED).count() == 1


@pytest.mark.django_db
def test_pay_later_shipped_in_two_parcels_captures_each_invoice_from_one_authorisation(channel, shirt, run_on_commit):
    order, provider_id = _pay_later_order_authorised_at_the_provider(channel, shirt.sku, 2, run_on_commit)
    # when the first unit ships, then the second
    with run_on_commit():
        (first,) = ship(order, {shirt.sku: 1})
    with run_on_commit():
        (second,) = ship(order, {shirt.sku: 1})
    # then each invoice was captured from the one authorisation, and together they are the order
    invoiced = first.invoice.total_amount + second.invoice.total_amount
    assert invoiced == order.total_amount == D("204.95")
    record = SimulatedProviderPayment.objects.get(provider_id=provider_id)
    assert [D(c["amount"]) for c in record.captures] == [first.invoice.total_amount, second.invoice.total_amount]
    assert (record.status, record.amount_captured) == ("paid", invoiced)
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.paid_amount) == (PaymentStatus.PAID, invoiced)
    assert PaymentEvent.objects.filter(payment=payment, kind=PaymentEventKind.CAPTURED).count() == 2
    assert PaymentEvent.objects.filter(payment=payment, kind=PaymentEventKind.RECEIVED).count() == 2
    # and nothing more can be captured than was authorised
    with pytest.raises(CaptureExceedsAuthorized):
        simulated_payment_capture(provider_id=provider_id, amount=D("0.01"), idempotency_key="one-cent-more")


@pytest.mark.django_db
def test_an_agent_sends_a_payment_link_for_the_rest_and_paying_it_clears(
    channel, shirt, agent, run_on_commit, mailoutbox
):
    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "40.00"}], shipping="0.00")
    bank_statement_import(data=camt([{"amount": "25.00", "reference": order.payment_reference}]), filename="a.xml")
    assert HoldReason.PAYMENT_MISMATCH in Order.objects.get(pk=order.pk).hold_reasons
    # when
    with run_on_commit():
        link = payment_link_create(order_id=order.pk, actor=agent)
    # then a link for 15.00 went to the customer
    assert (link.kind, link.amount, link.status) == (PaymentKind.LINK, D("15.00"), PaymentStatus.OPEN)
    assert link.provider_id.startswith("sim_pl_") and link.checkout_url
    assert any(link.checkout_url in m.body for m in mailoutbox)
    # asking again sends the same link, no second one
    with run_on_commit():
        assert payment_link_create(order_id=order.pk, actor=agent).pk == link.pk
    assert Payment.objects.filter(order=order, kind=PaymentKind.LINK).count() == 1
    # when the customer pays it
    simulated_payment_complete(provider_id=link.provider_id, outcome="paid")
    from payments.services.payments import payment_sync

    payment_sync(provider=link.provider, provider_id=link.provider_id)
    order.refresh_from_db()
    assert order.cleared_at is not None and HoldReason.PAYMENT_MISMATCH not in order.hold_reasons
    assert set(order.fulfilments.values_list("status", flat=True)) == {FulfilmentStatus.RELEASED}
    with pytest.raises(NothingDue):
        payment_link_create(order_id=order.pk, actor=agent)


@pytest.mark.django_db
def test_money_received_by_hand_counts_only_after_a_second_person_approves(channel, shirt, finance):
    manager = UserFactory(username="marieke", role=roles.MANAGER)
    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "40.00"}], shipping="0.00")
    approval = payment_manual_request(order_id=order.pk, amount=D("40.00"), note="paid cash at the desk", actor=finance)
    assert Payment.objects.filter(order=order).count() == 1 and Order.objects.get(pk=order.pk).cleared_at is None
    approval = approval_decide(approval_id=approval.pk, decided_by=manager, approve=True)
    assert approval.status == ApprovalRequest.Status.EXECUTED, approval.error
    manual = Payment.objects.get(order=order, kind=PaymentKind.MANUAL)
    assert (manual.paid_amount, manual.status) == (D("40.00"), PaymentStatus.PAID)
    assert Order.objects.get(pk=order.pk).cleared_at is not None
    event = PaymentEvent.objects.get(payment=manual)
    assert event.actor == manager and event.actor_label.startswith(f"approval:{approval.pk}:")


@pytest.mark.django_db
def test_the_payment_summary_in_the_api(api_for, channel, shirt):
    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "40.00"}], shipping="0.00")
    bank_statement_import(data=camt([{"amount": "25.00", "reference": order.payment_reference}]), filename="a.xml")
    body = api_for(channel=channel).get(f"/api/v1/orders/{order.number}/").json()
    assert body["status"] == "awaiting_payment" and "payment_mismatch" in body["hold_reasons"]
    assert body["payment"] == {
        "method": "bank_transfer",
        "status": "pending",
        "reference": order.payment_reference,
        "amount_due": "40.00",
        "amount_paid": "25.00",
        "cleared": False,
    }
    from payments.reference import payment_reference_is_valid

    assert len(body["payment"]["reference"]) == 16 and payment_reference_is_valid(body["payment"]["reference"])


@pytest.mark.django_db
def test_a_new_order_hands_its_payment_and_its_webhook_to_the_workers_in_one_insert(channel, shirt, run_on_commit):
    # given: a channel that takes webhooks
    channel.webhook_url = "https://webshop.example.org/hooks/"
    channel.save(update_fields=["webhook_url"])
    # when
    with run_on_commit(), CaptureQueriesContext(connection) as ctx:
        place(channel, method="ideal", lines=[{"sku": shirt.sku, "unit_price": "10.00"}])
    # then: both messages in one INSERT, both published after commit
    inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "core_outboxmessage"')]
    assert len(inserts) == 1
    assert sorted((m.task_name, m.sent_at is not None) for m in OutboxMessage.objects.all()) == [
        ("orders.webhook_deliver", True),
        ("payments.payment_start", True),
    ]
