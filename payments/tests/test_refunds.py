"""Refunds: through the provider (simulator), in a SEPA file, as store credit; never
more than was paid minus refunded (also for two refunds at the same moment); above the
limit a second person approves; proposals after overpayment and cancellation."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from core import roles
from core.approvals import FourEyesViolation, approval_decide
from core.models import ApprovalRequest
from core.tests.factories import UserFactory
from orders.models import Order
from orders.services.cancellation import order_cancel
from payments.exceptions import InvalidIban, RefundExceedsPaid
from payments.models import CreditAccount, Payment, PaymentEvent, Refund, SepaBatch, SimulatedProviderPayment
from payments.providers.simulator import SimulatorProvider
from payments.services.credit import store_credit_grant
from payments.services.payments import payment_sync
from payments.services.refunds import (
    refund_cancel,
    refund_proposal_accept,
    refund_request,
    sepa_batch_create,
    sepa_batch_mark_sent,
)
from payments.services.simulator import simulated_payment_complete
from payments.services.statements import bank_statement_import
from payments.states import PaymentEventKind, PaymentStatus, RefundMethod, RefundReason, RefundStatus
from payments.tests.factories import camt, place, product, shop, warehouse

D = Decimal


def _paid_by_ideal(channel, item, amount="42.85", key="k") -> Order:
    remote = SimulatorProvider().create_payment(
        amount=D(amount),
        description="x",
        reference="",
        redirect_url="https://shop.example.nl/",
        webhook_url="",
        method="ideal",
        idempotency_key=key,
    )
    order = place(
        channel,
        method="ideal",
        provider="mollie",
        provider_reference=remote.id,
        shipping="0.00",
        lines=[{"sku": item.sku, "unit_price": amount}],
    )
    simulated_payment_complete(provider_id=remote.id, outcome="paid")
    payment_sync(provider="mollie", provider_id=remote.id)
    return Order.objects.get(pk=order.pk)


@pytest.fixture
def finance(db):
    return UserFactory(username="femke", role=roles.FINANCE)


@pytest.fixture
def manager(db):
    return UserFactory(username="marieke", role=roles.MANAGER)


def _state():
    return (
        Refund.objects.count(),
        PaymentEvent.objects.count(),
        list(Payment.objects.order_by("pk").values_list("refunded_amount", "status")),
        list(SimulatedProviderPayment.objects.order_by("pk").values_list("amount_refunded", flat=True)),
    )


@pytest.mark.django_db
def test_a_provider_refund_goes_through_the_provider(channel, shirt, finance, run_on_commit):
    order = _paid_by_ideal(channel, shirt)
    payment = order.payments.get()
    # when
    with run_on_commit():
        refund = refund_request(payment_id=payment.pk, amount=D("10.00"), reason="goodwill", actor=finance)
    # then the provider refunded it and we recorded it
    refund.refresh_from_db()
    assert (refund.method, refund.status) == (RefundMethod.PROVIDER, RefundStatus.REFUNDED)
    assert refund.provider_refund_id.startswith("sim_re_")
    remote = SimulatedProviderPayment.objects.get(provider_id=payment.provider_id)
    assert remote.amount_refunded == D("10.00")
    payment.refresh_from_db()
    assert (payment.refunded_amount, payment.status) == (D("10.00"), PaymentStatus.PARTIALLY_REFUNDED)
    event = PaymentEvent.objects.get(payment=payment, kind=PaymentEventKind.REFUNDED)
    assert event.amount == D("10.00")
    # asking the provider again changes nothing (its refund is ours)
    before = _state()
    payment_sync(provider="mollie", provider_id=payment.provider_id)
    assert _state() == before


@pytest.mark.django_db
def test_a_refund_never_exceeds_what_was_paid_and_a_refused_one_changes_nothing(channel, shirt, finance, run_on_commit):
    order = _paid_by_ideal(channel, shirt)
    payment = order.payments.get()
    with run_on_commit():
        refund_request(payment_id=payment.pk, amount=D("40.00"), reason="goodwill", actor=finance)
    before = _state()
    with pytest.raises(RefundExceedsPaid):
        refund_request(payment_id=payment.pk, amount=D("2.86"), reason="goodwill", actor=finance)
    assert _state() == before
    with run_on_commit():
        refund_request(payment_id=payment.pk, amount=D("2.85"), reason="goodwill", actor=finance)
    payment.refresh_from_db()
    assert (payment.refunded_amount, payment.status) == (D("42.85"), PaymentStatus.REFUNDED)


@pytest.mark.django_db(transaction=True)
def test_two_refunds_at_the_same_moment_never_refund_more_than_was_paid():
    channel, location = shop(), warehouse()
    item = product("RACE-1", location=location)
    finance = UserFactory(username="femke", role=roles.FINANCE)
    order = _paid_by_ideal(channel, item, amount="50.00")
    payment = order.payments.get()
    barrier = threading.Barrier(2)
    outcomes = []

    def refund():
        from payments.services.refunds import refund_start

        try:
            barrier.wait()
            refund_start(payment_id=payment.pk, amount=D("30.00"), reason="goodwill", method="provider", actor=finance)
            outcomes.append("refunded")
        except RefundExceedsPaid:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=refund) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refunded", "refused"]
    assert Refund.objects.filter(order=order).exclude(status=RefundStatus.PROPOSED).count() == 1
    assert SimulatedProviderPayment.objects.get(provider_id=payment.provider_id).amount_refunded == D("30.00")
    assert Payment.objects.get(pk=payment.pk).refunded_amount == D("30.00")


@pytest.mark.django_db
def test_above_the_limit_a_second_person_approves(channel, shirt, finance, manager, run_on_commit):
    order = _paid_by_ideal(channel, shirt, amount="400.00")
    payment = order.payments.get()
    before = _state()
    # when finance asks for 300.00 (the limit is 250.00)
    approval = refund_request(payment_id=payment.pk, amount=D("300.00"), reason="goodwill", actor=finance, note="x")
    # then nothing is refunded yet
    assert isinstance(approval, ApprovalRequest) and approval.status == ApprovalRequest.Status.PENDING
    assert _state() == before
    with pytest.raises(FourEyesViolation):
        approval_decide(approval_id=approval.pk, decided_by=finance, approve=True)
    # when the manager approves
    with run_on_commit():
        approval = approval_decide(approval_id=approval.pk, decided_by=manager, approve=True)
    # then it is refunded, by the provider, naming both
    assert approval.status == ApprovalRequest.Status.EXECUTED, approval.error
    refund = Refund.objects.get(pk=approval.result["refund_id"])
    refund.refresh_from_db()
    assert (refund.status, refund.requested_by, refund.approved_by) == (RefundStatus.REFUNDED, finance, manager)
    assert Payment.objects.get(pk=payment.pk).refunded_amount == D("300.00")


@pytest.mark.django_db
def test_bank_transfer_refunds_go_out_in_a_sepa_file(channel, shirt, finance, run_on_commit):
    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "20.00"}], shipping="0.00")
    bank_statement_import(
        data=camt([{"amount": "20.00", "reference": order.payment_reference, "name": "An de Vries"}]), filename="a.xml"
    )
    payment = order.payments.get()
    # a wrong IBAN is refused and changes nothing
    before = _state()
    with pytest.raises(InvalidIban):
        refund_request(
            payment_id=payment.pk, amount=D("5.00"), reason="goodwill", actor=finance, iban="NL00BANK0000000000"
        )
    assert _state() == before
    # when finance refunds 5.00 (to the account it came from) and makes the file
    refund = refund_request(payment_id=payment.pk, amount=D("5.00"), reason="goodwill", actor=finance)
    assert (refund.method, refund.status, refund.iban) == (RefundMethod.SEPA, RefundStatus.QUEUED, "NL02ABNA0123456789")
    batch = sepa_batch_create(actor=finance)
    # then the pain.001 file holds it
    xml = bytes(batch.xml).decode()
    assert "pain.001.001.03" in xml and "NL02ABNA0123456789" in xml and '<InstdAmt Ccy="EUR">5.00</InstdAmt>' in xml
    assert f"<EndToEndId>REFUND-{refund.pk}</EndToEndId>" in xml and "An de Vries" in xml
    assert (batch.transfer_count, batch.total_amount) == (1, D("5.00"))
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PROCESSING and refund.sepa_batch == batch
    # it counts as refunded once uploaded at the bank
    sepa_batch_mark_sent(batch_id=batch.pk, actor=finance)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REFUNDED
    assert Payment.objects.get(pk=payment.pk).refunded_amount == D("5.00")
    assert SepaBatch.objects.get().status == SepaBatch.Status.SENT


@pytest.mark.django_db
def test_a_cancelled_paid_order_gets_a_refund_proposal_which_finance_accepts(channel, shirt, finance, run_on_commit):
    order = _paid_by_ideal(channel, shirt)
    order_cancel(order_id=order.pk, reason="customer changed their mind")
    proposal = Refund.objects.get(order=order)
    assert (proposal.status, proposal.amount, proposal.reason) == (
        RefundStatus.PROPOSED,
        D("42.85"),
        RefundReason.CANCELLATION,
    )
    with run_on_commit():
        refund_proposal_accept(refund_id=proposal.pk, actor=finance)
    proposal.refresh_from_db()
    assert proposal.status == RefundStatus.REFUNDED
    assert Payment.objects.get(order=order).status == PaymentStatus.REFUNDED
    assert Refund.objects.filter(order=order).count() == 1


@pytest.mark.django_db
def test_a_dismissed_proposal_is_not_proposed_again(channel, shirt, finance):
    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "10.00"}], shipping="0.00")
    bank_statement_import(data=camt([{"amount": "11.00", "reference": order.payment_reference}]), filename="a.xml")
    proposal = Refund.objects.get(order=order, status=RefundStatus.PROPOSED)
    refund_cancel(refund_id=proposal.pk, actor=finance, note="customer keeps it as a tip")
    from django.db import transaction

    from orders.locks import order_qs_for_update
    from payments.services.payments import order_payments_settle

    with transaction.atomic():
        order_payments_settle(order=order_qs_for_update().get(pk=order.pk))
    assert not Refund.objects.filter(order=order, status=RefundStatus.PROPOSED).exists()


@pytest.mark.django_db
def test_store_credit_refunds_and_orders_paid_with_store_credit(channel, shirt, finance, run_on_commit):
    order = _paid_by_ideal(channel, shirt, amount="20.00")
    refund = refund_request(
        payment_id=order.payments.get().pk,
        amount=D("15.00"),
        reason="goodwill",
        actor=finance,
        method=RefundMethod.STORE_CREDIT,
    )
    assert refund.status == RefundStatus.REFUNDED
    account = CreditAccount.objects.get(customer=order.customer)
    assert account.balance_amount == D("15.00")
    # when the customer pays a next order of 25.00 with store credit
    with run_on_commit():
        second = place(
            channel, method="store_credit", lines=[{"sku": shirt.sku, "unit_price": "25.00"}], shipping="0.00"
        )
    # then the credit is used up and 10.00 is still due (payment_mismatch)
    account.refresh_from_db()
    assert account.balance_amount == D("0.00")
    second.refresh_from_db()
    assert second.cleared_at is None and "payment_mismatch" in second.hold_reasons
    assert second.payments.get().paid_amount == D("15.00")
    # a grant tops it up; a new start draws nothing twice
    store_credit_grant(customer_id=order.customer_id, amount=D("50.00"), actor=finance, note="voucher")
    from payments.services.credit import store_credit_draw

    store_credit_draw(payment_id=second.payments.get().pk)
    assert Payment.objects.get(order=second).paid_amount == D("15.00")
