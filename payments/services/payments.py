"""Payments of orders: created at intake, started after commit, kept in step with the
provider, reconciled against what the order owes, and cleared.

- `payment_create_for_order` (orders.ORDER_CREATED_HOOKS, inside the intake
  transaction, two queries): the payment as ordered; a point-of-sale payment is paid at
  once, every other one is started after commit (`payment_start`, via the outbox).
- `payment_sync(provider, provider_id)`: fetch the payment from the provider outside
  any lock, then lock order → payment and apply what changed (`payment_apply_remote`).
  Every change is compared with what is recorded, so a replayed webhook or a second
  sync changes nothing; money events carry idempotency keys as a second guard.
- `order_payments_settle(order)`: the reconciliation of one locked order: what came in
  against what is owed. In full → cleared (fulfilments released); in part →
  payment_mismatch hold (an agent sends a payment link for the rest); too much (or a
  cancelled order, or a credit note) → one refund proposal for finance.
- chargebacks put the order on hold (chargeback, blocking) and block the customer.
"""

import contextlib
import datetime
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.approvals import approval_request_create
from core.audit import audited, history_rows_write
from core.db import rows_update
from core.exceptions import Conflict, PermissionDenied
from core.money import ZERO, round_money
from core.services import outbox_enqueue
from orders.events import order_event_create
from orders.locks import order_qs_for_update
from orders.models import FraudBlock, Order
from orders.services.fulfilment import orders_clear_many
from orders.services.holds import order_hold_add, order_hold_release_now
from orders.states import PREPAID_METHODS, HoldReason, PaymentMethod
from payments import conf
from payments.events import payment_event_build, payment_event_create, payment_events_create
from payments.exceptions import ProviderPaymentNotFound, ProviderRejected, UnknownProvider
from payments.locks import payment_qs_for_update, refund_qs_for_update
from payments.models import Payment, PaymentEvent, Refund
from payments.providers.base import ProviderPayment, ProviderStatus
from payments.providers.registry import get_provider
from payments.selectors import order_money
from payments.services.clearing import clearing_rule_for, pay_later_credit_check
from payments.states import (
    ClearingRule,
    PaymentEventKind,
    PaymentKind,
    PaymentStatus,
    RefundReason,
    RefundStatus,
)

logger = logging.getLogger(__name__)

START_TASK = "payments.payment_start"
SYNC_TASK = "payments.payment_sync"
CAPTURE_TASK = "payments.payment_capture"
INSTRUCTIONS_TASK = "documents.payment_instructions_send"
LINK_MAIL_TASK = "documents.payment_link_send"
MANUAL_PAYMENT_ACTION = "payments.receive_manual"

_PROVIDER_STATUS = {
    ProviderStatus.OPEN: PaymentStatus.OPEN,
    ProviderStatus.PENDING: PaymentStatus.PENDING,
    ProviderStatus.AUTHORIZED: PaymentStatus.AUTHORIZED,
    ProviderStatus.PAID: PaymentStatus.PAID,
    ProviderStatus.FAILED: PaymentStatus.FAILED,
    ProviderStatus.EXPIRED: PaymentStatus.EXPIRED,
    ProviderStatus.CANCELLED: PaymentStatus.CANCELLED,
}


class NothingDue(Conflict):
    code = "nothing_due"


def webhook_url_for(provider: str) -> str:
    return f"{conf.site_url()}{reverse('api:payment-webhook', args=[provider])}"


def payment_status_derive(payment: Payment, base: str | None = None) -> str:
    """The payment's status from its amounts: charged back, (partly) refunded, paid;
    otherwise what the provider said (`base`) or what it was."""
    if payment.charged_back_amount > 0:
        return PaymentStatus.CHARGED_BACK
    if payment.paid_amount > 0 and payment.refunded_amount >= payment.paid_amount:
        return PaymentStatus.REFUNDED
    if payment.refunded_amount > 0:
        return PaymentStatus.PARTIALLY_REFUNDED
    if base is not None:
        return base
    if payment.paid_amount > 0:
        return PaymentStatus.PAID if payment.paid_amount >= payment.amount else PaymentStatus.PENDING
    return payment.status


# --- intake -------------------------------------------------------------------------


def payment_create_for_order(*, order: Order, payload: dict, actor=None) -> Payment:
    """orders.ORDER_CREATED_HOOKS: the payment as ordered, inside the intake transaction.

    Two queries, whatever the order: the payment row, and either the money event (paid
    at the till) or the outbox row that starts it after commit. The creation itself is
    in the order's `created` event; the payment's history starts at its first change."""
    data = payload.get("payment") or {}
    # An order is cleared at intake only when its method's rule is IMMEDIATE (clears_at_intake,
    # the intake's clearing policy): paid at the till. The rule was read for that a moment ago.
    immediate = order.cleared_at is not None
    payment = Payment(
        order=order,
        kind=PaymentKind.INITIAL,
        method=order.payment_method,
        provider=(data.get("provider") or "").strip().lower()[:40],
        provider_id=(data.get("provider_reference") or "").strip()[:128],
        reference=order.payment_reference,
        amount=order.total_amount,
        status=PaymentStatus.PAID if immediate else PaymentStatus.OPEN,
        paid_amount=order.total_amount if immediate else ZERO,
        paid_at=order.cleared_at if immediate else None,
    )
    Payment.objects.bulk_create([payment])  # no history row: see above
    if immediate:
        payment_event_create(
            payment=payment,
            kind=PaymentEventKind.RECEIVED,
            actor=actor,
            to_status=PaymentStatus.PAID,
            amount=order.total_amount,
            key=f"intake:{order.pk}",
            data={"source": "point_of_sale"},
        )
    else:
        outbox_enqueue(START_TASK, payment_id=payment.pk)
    order._payments_at_intake = [payment]
    return payment


def payment_start(*, payment_id: int, actor=None) -> Payment:
    """After the order is committed: do what its clearing rule needs. Safe to run twice."""
    payment = Payment.objects.select_related("order", "order__customer").get(pk=payment_id)
    order = payment.order
    if order.cancelled_at is not None or payment.kind != PaymentKind.INITIAL:
        return payment
    rule = clearing_rule_for(payment.method)
    if rule == ClearingRule.CREDIT_CHECK:
        return pay_later_start(payment_id=payment.pk, actor=actor)
    if rule == ClearingRule.STORE_CREDIT:
        from payments.services.credit import store_credit_draw

        return store_credit_draw(payment_id=payment.pk, actor=actor)
    if payment.provider and payment.provider_id and rule in (ClearingRule.PROVIDER_PAID, ClearingRule.BANK_STATEMENT):
        payment_sync(provider=payment.provider, provider_id=payment.provider_id, actor=actor)
    with transaction.atomic(), audited(actor):
        locked = order_qs_for_update().select_related("channel", "customer").get(pk=order.pk)
        if rule == ClearingRule.BANK_STATEMENT and order.total_amount > 0:
            outbox_enqueue(INSTRUCTIONS_TASK, payment_id=payment.pk)
        order_payments_settle(order=locked, actor=actor, source="payment_start")
    return Payment.objects.get(pk=payment.pk)


# --- provider sync ------------------------------------------------------------------


def payment_sync(*, provider: str, provider_id: str, actor=None) -> Payment | None:
    """Ask the provider for a payment and apply what changed. None when no payment of
    ours has this id (a forged or foreign webhook): nothing is called, nothing changes.

    Raises ProviderUnavailable when the provider cannot answer now (the task retries)."""
    claimants = list(
        Payment.objects.filter(provider=provider, provider_id=provider_id).order_by("pk").values_list("pk", flat=True)
    )
    if not claimants or not provider_id:
        return None
    try:
        adapter = get_provider(provider)
    except UnknownProvider:
        logger.warning("payment of an unknown provider", extra={"provider": provider, "provider_id": provider_id})
        return None
    try:
        remote = adapter.get_payment(provider_id)
    except ProviderPaymentNotFound:
        Payment.objects.filter(pk__in=claimants).update(last_synced_at=timezone.now())
        _record_once(
            payment_id=claimants[0],
            kind=PaymentEventKind.PROVIDER_UNKNOWN,
            key=f"unknown:{provider}:{provider_id}",
            actor=actor,
        )
        return None
    owner = payment_apply_remote(payment_id=claimants[0], remote=remote, actor=actor)
    for other in claimants[1:]:
        _record_once(
            payment_id=other,
            kind=PaymentEventKind.DUPLICATE_REFERENCE,
            key=f"duplicate:{other}:{provider}:{provider_id}",
            actor=actor,
            data={"paid_on_order": owner.order_id},
            hold=True,
        )
    return owner


def _record_once(*, payment_id: int, kind: str, key: str, actor, data: dict | None = None, hold: bool = False) -> None:
    with transaction.atomic(), audited(actor):
        order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
        order_qs_for_update().get(pk=order_id)
        payment = payment_qs_for_update().get(pk=payment_id)
        if PaymentEvent.objects.filter(key=key).exists():
            return
        payment_event_create(payment=payment, kind=kind, actor=actor, key=key, data=data)
        if hold:
            order_hold_add(order_id=order_id, reason=HoldReason.PAYMENT_MISMATCH, actor=actor, note=kind)


def payment_apply_remote(*, payment_id: int, remote: ProviderPayment, actor=None) -> Payment:
    """Apply the provider's view of a payment, in one transaction (order → payment
    locked). Only differences with what is recorded make changes and events."""
    with transaction.atomic(), audited(actor):
        order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
        order = order_qs_for_update().select_related("channel", "customer").get(pk=order_id)
        payment = payment_qs_for_update().get(pk=payment_id)
        now = timezone.now()
        events: list[PaymentEvent] = []
        fields = {"provider_status", "last_synced_at", "updated_at"}
        payment.provider_status = (remote.provider_status or remote.status)[:20]
        payment.last_synced_at = now
        if remote.currency.upper() != payment.currency:
            events.append(
                payment_event_build(
                    payment=payment,
                    kind=PaymentEventKind.CURRENCY_MISMATCH,
                    actor=actor,
                    key=f"currency:{payment.pk}:{remote.id}",
                    data={"currency": remote.currency, "amount": str(remote.amount)},
                )
            )
            if not PaymentEvent.objects.filter(key=events[0].key).exists():
                payment_events_create(events)
            payment.save(update_fields=sorted(fields))
            return payment
        if remote.checkout_url and remote.checkout_url != payment.checkout_url:
            payment.checkout_url = remote.checkout_url[:1000]
            fields.add("checkout_url")
        if remote.expires_at and remote.expires_at != payment.expires_at:
            payment.expires_at = remote.expires_at
            fields.add("expires_at")

        if remote.status == ProviderStatus.AUTHORIZED and payment.authorized_amount < remote.amount:
            payment.authorized_amount = remote.amount
            payment.authorized_at = now
            fields |= {"authorized_amount", "authorized_at"}
            events.append(
                payment_event_build(
                    payment=payment,
                    kind=PaymentEventKind.AUTHORIZED,
                    actor=actor,
                    amount=remote.amount,
                    key=f"authorized:{payment.pk}:{remote.id}:{remote.amount}",
                )
            )
        paid_now = remote.amount_paid
        if paid_now > payment.paid_amount:
            delta = paid_now - payment.paid_amount
            payment.paid_amount = paid_now
            payment.paid_at = remote.paid_at or now
            fields |= {"paid_amount", "paid_at"}
            events.append(
                payment_event_build(
                    payment=payment,
                    kind=PaymentEventKind.RECEIVED,
                    actor=actor,
                    amount=delta,
                    key=f"paid:{payment.pk}:{remote.id}:{paid_now}",
                    data={"source": payment.provider, "provider_id": remote.id, "method": remote.method},
                )
            )
        in_flight = sum(
            Refund.objects.filter(payment_id=payment.pk, status=RefundStatus.PROCESSING).values_list(
                "amount", flat=True
            ),
            ZERO,
        )
        outside = remote.amount_refunded - payment.refunded_amount - in_flight
        if outside > 0:
            payment.refunded_amount += outside
            fields.add("refunded_amount")
            events.append(
                payment_event_build(
                    payment=payment,
                    kind=PaymentEventKind.REFUNDED,
                    actor=actor,
                    amount=outside,
                    key=f"refunded-outside:{payment.pk}:{remote.id}:{remote.amount_refunded}",
                    data={"note": "refunded at the provider, not through the back-office"},
                )
            )
        charged_back = remote.amount_charged_back - payment.charged_back_amount
        if charged_back:
            payment.charged_back_amount = remote.amount_charged_back
            fields.add("charged_back_amount")
            events.append(
                payment_event_build(
                    payment=payment,
                    kind=PaymentEventKind.CHARGED_BACK if charged_back > 0 else PaymentEventKind.CHARGEBACK_REVERSED,
                    actor=actor,
                    amount=abs(charged_back),
                    key=f"chargeback:{payment.pk}:{remote.id}:{remote.amount_charged_back}",
                    data={"chargebacks": [c.id for c in remote.chargebacks]},
                )
            )
        old_status = payment.status
        payment.status = payment_status_derive(payment, _PROVIDER_STATUS.get(remote.status, payment.status))
        if payment.status != old_status:
            fields.add("status")
            events.append(
                payment_event_build(
                    payment=payment,
                    kind=PaymentEventKind.STATUS_CHANGED,
                    actor=actor,
                    from_status=old_status,
                    to_status=payment.status,
                    data={"provider_status": payment.provider_status},
                )
            )
        payment.save(update_fields=sorted(fields))
        payment_events_create(events)
        money_in = any(e.kind == PaymentEventKind.RECEIVED for e in events)
        if money_in:
            _order_event(order, "payment_received", actor, {"amount": str(paid_now), "payment": payment.pk})
        if charged_back > 0:
            chargeback_consequences(order=order, payment=payment, amount=charged_back, actor=actor)
        if events:
            order_payments_settle(order=order, actor=actor, source=f"provider:{payment.provider}")
        return payment


def chargeback_consequences(*, order: Order, payment: Payment, amount: Decimal, actor=None) -> None:
    """A paid payment was charged back: the order waits (blocking hold) and the customer
    is blocked, so their next orders wait for review too."""
    from customers.services import CustomerAlreadyBlocked, customer_block

    order_hold_add(
        order_id=order.pk,
        reason=HoldReason.CHARGEBACK,
        actor=actor,
        note=_("%(amount)s charged back on payment %(id)s") % {"amount": amount, "id": payment.provider_id},
    )
    with contextlib.suppress(CustomerAlreadyBlocked):
        customer_block(
            customer_id=order.customer_id,
            reason=_("Chargeback of %(amount)s on order %(number)s") % {"amount": amount, "number": order.number},
            actor=None,  # the provider reported it: a system block, not a person's
        )


# --- reconciliation -----------------------------------------------------------------


def order_payments_settle(
    *, order: Order, actor=None, source: str = "", payments: list[Payment] | None = None, sums=None
) -> None:
    """Compare what came in with what the order owes (the order is locked by the caller)
    and act: clear, hold for a mismatch, or propose a refund of what is too much.
    `payments`: all of the order's payments, already locked in this transaction;
    `sums`: its document sums when read for many orders at once."""
    if payments is None:
        payments = list(payment_qs_for_update().filter(order_id=order.pk))
    orders_payments_settle(
        orders=[order],
        payments_by_order={order.pk: payments},
        actor=actor,
        source=source,
        sums=None if sums is None else {order.pk: sums},
    )


def orders_payments_settle(
    *,
    orders: list[Order],
    payments_by_order: dict[int, list[Payment]],
    actor=None,
    source: str = "",
    sums: dict[int, tuple] | None = None,
) -> None:
    """`order_payments_settle` for many orders the caller locked with all their payments
    (a bank statement settles thousands): those paid in full are cleared together
    (`orders_clear_many`) and the open refund proposals are read in one query, so the
    common case costs the same few statements for one order or a thousand. Holds for a
    mismatch (rare: a part payment) are placed one order at a time."""
    monies = {
        order.pk: order_money(
            order=order, payments=payments_by_order[order.pk], sums=None if sums is None else sums[order.pk]
        )
        for order in orders
    }
    to_clear = [order for order in orders if _clears(order, payments_by_order[order.pk], monies[order.pk])]
    orders_clear_many(orders=to_clear, actor=actor, source=source or "payment")
    clearing = {order.pk for order in to_clear}
    for order in orders:
        received, expected = monies[order.pk].received, monies[order.pk].expected
        mismatch = HoldReason.PAYMENT_MISMATCH in order.hold_reasons
        if order.pk in clearing and mismatch:
            released = order_hold_release_now(
                order_id=order.pk, reasons=[HoldReason.PAYMENT_MISMATCH], actor=actor, note=_("paid in full")
            )
            order.hold_reasons, order.status = released.hold_reasons, released.status
        elif order.pk in clearing:
            continue
        elif order.cleared_at is None and order.cancelled_at is None and received > 0 and not mismatch:
            order_hold_add(
                order_id=order.pk,
                reason=HoldReason.PAYMENT_MISMATCH,
                actor=actor,
                note=_("%(received)s received of %(expected)s") % {"received": received, "expected": expected},
            )
            order.refresh_from_db(fields=["hold_reasons", "status"])
        elif order.cleared_at is not None and mismatch and received >= expected:
            order_hold_release_now(
                order_id=order.pk, reasons=[HoldReason.PAYMENT_MISMATCH], actor=actor, note=_("paid in full")
            )
            order.refresh_from_db(fields=["hold_reasons", "status"])
    proposals: dict[int, Refund] = {}
    for refund in refund_qs_for_update().filter(order_id__in=[o.pk for o in orders], status=RefundStatus.PROPOSED):
        proposals.setdefault(refund.order_id, refund)  # the first, as there should be only one
    for order in orders:
        _refund_proposal_update(
            order=order,
            payments=payments_by_order[order.pk],
            money=monies[order.pk],
            actor=actor,
            proposal=proposals.get(order.pk),
        )


def _clears(order: Order, payments: list[Payment], money) -> bool:
    """Does what came in clear this order (not cleared or cancelled yet)? In full, or, for
    pay later, authorised at the provider."""
    if order.cleared_at is not None or order.cancelled_at is not None:
        return False
    if money.received >= money.expected:
        return True
    return clearing_rule_for(order.payment_method) == ClearingRule.CREDIT_CHECK and any(
        p.kind == PaymentKind.INITIAL and p.status in (PaymentStatus.AUTHORIZED, PaymentStatus.PAID) for p in payments
    )


def _refund_proposal_update(*, order: Order, payments: list[Payment], money, actor, proposal: Refund | None) -> None:
    """One open refund proposal per order, for exactly what is too much (or none).
    `proposal`: the order's open proposal, locked by the caller."""
    excess = money.received - money.expected
    settled = order.cleared_at is not None or order.cancelled_at is not None or money.received >= money.expected
    if excess > 0 and settled:
        if order.cancelled_at is not None:
            reason = RefundReason.CANCELLATION
        elif money.credited > 0:
            reason = RefundReason.CREDIT_NOTE
        else:
            reason = RefundReason.OVERPAYMENT
        source = max(payments, key=lambda p: (p.net_amount_received, p.pk))
        dismissed = Refund.objects.filter(
            order_id=order.pk, status=RefundStatus.CANCELLED, amount=excess, requested_by__isnull=False
        ).exists()
        if proposal is None and dismissed:
            return
        if proposal is None:
            Refund.objects.create(
                order=order,
                payment=source,
                amount=excess,
                reason=reason,
                status=RefundStatus.PROPOSED,
                note=_("%(received)s received, %(expected)s owed")
                % {"received": money.received, "expected": money.expected},
            )
        elif (proposal.amount, proposal.reason, proposal.payment_id) != (excess, reason, source.pk):
            proposal.amount, proposal.reason, proposal.payment = excess, reason, source
            proposal.save(update_fields=["amount", "reason", "payment", "updated_at"])
    elif proposal is not None:
        proposal.status = RefundStatus.CANCELLED
        proposal.note = _("No longer too much received.")
        proposal.save(update_fields=["status", "note", "updated_at"])


def _order_event(order: Order, kind: str, actor, data: dict) -> None:
    order_event_create(order=order, kind=kind, actor=actor, data=data)


# --- pay later ----------------------------------------------------------------------


def pay_later_start(*, payment_id: int, actor=None) -> Payment:
    """The credit check of a pay-later order. Passed: with a provider, the provider's
    authorisation clears it; without, the back-office grants the credit itself (the
    customer pays the invoice). Failed: the order keeps awaiting payment."""
    payment = Payment.objects.select_related("order", "order__customer").get(pk=payment_id)
    order = payment.order
    check = pay_later_credit_check(customer=order.customer, amount=order.total_amount, exclude_order_id=order.pk)
    with transaction.atomic(), audited(actor):
        order = order_qs_for_update().select_related("channel", "customer").get(pk=order.pk)
        payment = payment_qs_for_update().get(pk=payment_id)
        key = f"credit-check:{payment.pk}"
        if PaymentEvent.objects.filter(key__in=[f"{key}:passed", f"{key}:failed"]).exists():
            return payment
        data = {"reasons": list(check.reasons), "open_balance": str(check.open_balance), "limit": str(check.limit)}
        if not check.passed:
            old = payment.status
            payment.status = PaymentStatus.FAILED
            payment.save(update_fields=["status", "updated_at"])
            payment_event_create(
                payment=payment,
                kind=PaymentEventKind.CREDIT_CHECK_FAILED,
                actor=actor,
                from_status=old,
                to_status=payment.status,
                key=f"{key}:failed",
                data=data,
            )
            return payment
        payment_event_create(
            payment=payment, kind=PaymentEventKind.CREDIT_CHECK_PASSED, actor=actor, key=f"{key}:passed", data=data
        )
        if not payment.provider_id:
            old = payment.status
            payment.status = PaymentStatus.AUTHORIZED
            payment.authorized_amount = payment.amount
            payment.authorized_at = timezone.now()
            payment.save(update_fields=["status", "authorized_amount", "authorized_at", "updated_at"])
            payment_event_create(
                payment=payment,
                kind=PaymentEventKind.AUTHORIZED,
                actor=actor,
                from_status=old,
                to_status=payment.status,
                amount=payment.amount,
                key=f"authorized:{payment.pk}:in-house",
            )
            order_payments_settle(order=order, actor=actor, source="credit_check")
            return payment
    return payment_sync(provider=payment.provider, provider_id=payment.provider_id, actor=actor) or payment


def payment_capture_for_shipment(*, order: Order, invoice, actor=None) -> None:
    """SHIPMENT hook part: a pay-later payment authorised at a provider is captured for
    what the shipment invoiced, after commit (never call a provider inside the lock).
    Every shipment of the order captures its own invoice from the same authorisation
    (partial captures, as pay-later providers take them), so the first capture makes
    the payment paid for that part and the next shipment captures the next part."""
    if clearing_rule_for(order.payment_method) != ClearingRule.CREDIT_CHECK or invoice.total_amount <= 0:
        return
    payment = (
        Payment.objects.filter(
            order_id=order.pk,
            kind=PaymentKind.INITIAL,
            status__in=(PaymentStatus.AUTHORIZED, PaymentStatus.PAID, PaymentStatus.PENDING),
            authorized_amount__gt=F("paid_amount"),
        )
        .exclude(provider_id="")
        .first()
    )
    if payment is None:
        return
    payment_event_create(
        payment=payment,
        kind=PaymentEventKind.CAPTURE_REQUESTED,
        actor=actor,
        amount=invoice.total_amount,
        key=f"capture:{invoice.number}:requested",
        data={"invoice": invoice.number},
    )
    outbox_enqueue(
        CAPTURE_TASK, payment_id=payment.pk, amount=str(invoice.total_amount), key=f"capture-{invoice.number}"
    )


def payment_capture(*, payment_id: int, amount: Decimal, key: str, actor=None) -> Payment:
    """Capture at the provider with an idempotency key (safe to repeat), then record
    the provider's new state."""
    payment = Payment.objects.get(pk=payment_id)
    if PaymentEvent.objects.filter(key__in=[f"{key}:captured", f"{key}:failed"]).exists():
        return payment
    adapter = get_provider(payment.provider)
    try:
        capture = adapter.capture(provider_id=payment.provider_id, amount=amount, idempotency_key=key)
    except ProviderRejected as exc:
        _record_once(
            payment_id=payment.pk,
            kind=PaymentEventKind.CAPTURE_FAILED,
            key=f"{key}:failed",
            actor=actor,
            data={"amount": str(amount), "error": str(exc)[:500]},
        )
        return payment
    _record_once(
        payment_id=payment.pk,
        kind=PaymentEventKind.CAPTURED,
        key=f"{key}:captured",
        actor=actor,
        data={"amount": str(capture.amount), "capture": capture.id},
    )
    return payment_sync(provider=payment.provider, provider_id=payment.provider_id, actor=actor) or payment


# --- payment links for what is still due --------------------------------------------


def payment_link_create(*, order_id: int, actor, amount: Decimal | None = None) -> Payment:
    """An agent sends the customer a payment link for what is still due (or `amount`).
    The intent is recorded first; the provider is called after commit with the
    payment's idempotency key, so asking again after a failure makes no second link."""
    if actor is not None and not actor.has_perm("payments.send_payment_link"):
        raise PermissionDenied(_("You may not send payment links."))
    with transaction.atomic(), audited(actor):
        order = order_qs_for_update().get(pk=order_id)
        if order.cancelled_at is not None:
            raise Conflict(_("The order is cancelled."), code="cancelled")
        payments = list(payment_qs_for_update().filter(order_id=order.pk))
        rest = order_money(order=order, payments=payments).rest
        wanted = round_money(amount) if amount is not None else rest
        if wanted <= 0 or rest <= 0:
            raise NothingDue(_("Nothing is due on order %(number)s.") % {"number": order.number})
        if wanted > rest:
            raise Conflict(
                _("At most %(rest)s is due on order %(number)s.") % {"rest": rest, "number": order.number},
                code="more_than_due",
                attr="amount",
            )
        payment = next(
            (
                p
                for p in payments
                if p.kind == PaymentKind.LINK
                and p.status == PaymentStatus.OPEN
                and p.amount == wanted
                and (p.expires_at is None or p.expires_at > timezone.now())
            ),
            None,
        )
        if payment is None:
            payment = Payment.objects.create(
                order=order,
                kind=PaymentKind.LINK,
                method=order.payment_method if order.payment_method in PREPAID_METHODS else PaymentMethod.IDEAL,
                provider=conf.payment_link_provider(),
                reference=order.payment_reference,
                amount=wanted,
                idempotency_key=f"link-{uuid.uuid4().hex}",
                expires_at=timezone.now() + datetime.timedelta(days=conf.payment_link_valid_days()),
            )
        elif payment.provider_id:
            outbox_enqueue(LINK_MAIL_TASK, payment_id=payment.pk)  # the same link again
            return payment
    remote = get_provider(payment.provider).create_payment_link(
        amount=payment.amount,
        description=_("Order %(number)s") % {"number": order.number},
        reference=order.payment_reference,
        redirect_url=conf.payment_return_url(),
        webhook_url=webhook_url_for(payment.provider),
        expires_at=payment.expires_at,
        idempotency_key=payment.idempotency_key,
    )
    with transaction.atomic(), audited(actor):
        order_qs_for_update().get(pk=order_id)
        payment = payment_qs_for_update().get(pk=payment.pk)
        if payment.provider_id:
            return payment
        payment.provider_id = remote.id
        payment.checkout_url = remote.checkout_url[:1000]
        payment.provider_status = remote.provider_status[:20]
        payment.save(update_fields=["provider_id", "checkout_url", "provider_status", "updated_at"])
        payment_event_create(
            payment=payment,
            kind=PaymentEventKind.LINK_CREATED,
            actor=actor,
            amount=payment.amount,
            key=f"link:{payment.pk}",
            data={"url": payment.checkout_url},
        )
        outbox_enqueue(LINK_MAIL_TASK, payment_id=payment.pk)
    return payment


# --- money received by hand (four eyes) ---------------------------------------------


def payment_manual_request(*, order_id: int, amount: Decimal, note: str, actor):
    """Finance says money came in without a bank line (cash at the desk, a cheque, a
    foreign account): a second person must approve before it counts."""
    if actor is None or not actor.has_perm("payments.request_manual_payment"):
        raise PermissionDenied(_("You may not record payments received by hand."))
    amount = round_money(Decimal(amount))
    if amount <= 0:
        raise Conflict(_("The amount must be more than zero."), code="invalid_amount", attr="amount")
    if not (note or "").strip():
        raise Conflict(_("Say how the money was received."), code="reason_required", attr="note")
    order = Order.objects.get(pk=order_id)
    return approval_request_create(
        action=MANUAL_PAYMENT_ACTION,
        payload={"order_id": order.pk, "amount": str(amount), "note": note.strip()[:255]},
        requested_by=actor,
        summary=_("Record %(amount)s received by hand for order %(number)s")
        % {"amount": amount, "number": order.number},
        reason=note,
        subject=order,
        amount=amount,
    )


def payment_manual_record(*, order_id: int, amount: Decimal, note: str, actor, key: str) -> Payment:
    """The approved receipt: a payment of kind `manual`, paid, and the order settled."""
    with transaction.atomic(), audited(actor):
        order = order_qs_for_update().select_related("channel", "customer").get(pk=order_id)
        existing = PaymentEvent.objects.filter(key=key).select_related("payment").first()
        if existing is not None:
            return existing.payment
        payment = Payment.objects.create(
            order=order,
            kind=PaymentKind.MANUAL,
            method=order.payment_method,
            reference=order.payment_reference,
            amount=amount,
            paid_amount=amount,
            paid_at=timezone.now(),
            status=PaymentStatus.PAID,
        )
        payment_event_create(
            payment=payment,
            kind=PaymentEventKind.RECEIVED,
            actor=actor,
            to_status=PaymentStatus.PAID,
            amount=amount,
            key=key,
            data={"source": "manual", "note": note},
        )
        _order_event(order, "payment_received", actor, {"amount": str(amount), "payment": payment.pk, "manual": True})
        order_payments_settle(order=order, actor=actor, source="manual")
        return payment


# --- bank transfers -----------------------------------------------------------------


def bank_payment_for(order: Order, payments: list[Payment]) -> Payment:
    """The payment a bank transfer for `order` is booked on: the payment as ordered when
    that is a transfer (or in-house pay later), else the order's one bank payment."""
    initial = next((p for p in payments if p.kind == PaymentKind.INITIAL), None)
    if initial is not None and (
        initial.method == PaymentMethod.BANK_TRANSFER
        or (initial.method == PaymentMethod.PAY_LATER and not initial.provider_id)
    ):
        return initial
    bank = next((p for p in payments if p.kind == PaymentKind.BANK), None)
    if bank is None:
        bank = Payment.objects.create(
            order=order,
            kind=PaymentKind.BANK,
            method=PaymentMethod.BANK_TRANSFER,
            reference=order.payment_reference,
            amount=ZERO,
        )
    return bank


def payment_receive_bank(
    *,
    order: Order,
    amount: Decimal,
    key: str,
    actor=None,
    data: dict | None = None,
    blocked_ibans: set[str] | None = None,
) -> Payment:
    """Book money from a bank line on the locked order's bank payment and settle.
    `blocked_ibans` (the FraudBlock IBANs, read once by a caller booking many lines)
    saves a query per line."""
    payments = list(payment_qs_for_update().filter(order_id=order.pk))
    payment = bank_payment_for(order, payments)
    if payment not in payments:
        payments.append(payment)
    payment.paid_amount += amount
    payment.paid_at = timezone.now()
    old = payment.status
    payment.status = payment_status_derive(payment)
    if payment.status == old and payment.paid_amount >= payment.amount:
        payment.status = PaymentStatus.PAID
    payment.save(update_fields=["paid_amount", "paid_at", "status", "updated_at"])
    events = [
        payment_event_build(
            payment=payment,
            kind=PaymentEventKind.RECEIVED,
            actor=actor,
            amount=amount,
            key=key,
            data={"source": "bank", **(data or {})},
        )
    ]
    if payment.status != old:
        events.append(
            payment_event_build(
                payment=payment,
                kind=PaymentEventKind.STATUS_CHANGED,
                actor=actor,
                from_status=old,
                to_status=payment.status,
            )
        )
    payment_events_create(events)
    _order_event(order, "payment_received", actor, {"amount": str(amount), "payment": payment.pk, "source": "bank"})
    iban = ((data or {}).get("counterparty_iban") or "").upper()
    if blocked_ibans is not None:
        blocked = iban in blocked_ibans
    else:
        blocked = bool(iban) and FraudBlock.objects.filter(kind=FraudBlock.Kind.IBAN, value__iexact=iban).exists()
    if blocked:
        order_hold_add(
            order_id=order.pk,
            reason=HoldReason.FRAUD_REVIEW,
            actor=actor,
            note=_("Paid from blocked account %(iban)s") % {"iban": iban},
        )
        order.refresh_from_db(fields=["hold_reasons", "status"])
    order_payments_settle(order=order, actor=actor, source="bank", payments=payments)
    return payment


@dataclass(frozen=True)
class BankBooking:
    """Money from one bank line for one order (locked by the caller)."""

    order: Order
    amount: Decimal
    key: str
    data: dict


def payments_receive_bank_many(
    *,
    bookings: list[BankBooking],
    payments_by_order: dict[int, list[Payment]],
    actor=None,
    blocked_ibans: set[str] | None = None,
) -> list[Payment]:
    """Book many bank lines at once (a statement import): the orders and their payments
    are locked by the caller (`payments_by_order`, all of each order's payments). The
    same rules as `payment_receive_bank`, with the writes in bulk and each order settled
    once at the end. Returns the payment each booking went to."""
    from orders.events import order_event_build, order_events_create
    from payments.selectors import document_sums_for

    now = timezone.now()
    changed: dict[int, Payment] = {}
    events: list[PaymentEvent] = []
    order_events = []
    booked_to: list[Payment] = []
    blocked: list[tuple[Order, str]] = []
    for booking in bookings:
        order = booking.order
        payments = payments_by_order.setdefault(order.pk, [])
        payment = bank_payment_for(order, payments)
        if payment not in payments:
            payments.append(payment)
        old = payment.status
        payment.paid_amount += booking.amount
        payment.paid_at = now
        payment.updated_at = now
        payment.status = payment_status_derive(payment)
        if payment.status == old and payment.paid_amount >= payment.amount:
            payment.status = PaymentStatus.PAID
        changed[payment.pk] = payment
        events.append(
            payment_event_build(
                payment=payment,
                kind=PaymentEventKind.RECEIVED,
                actor=actor,
                amount=booking.amount,
                key=booking.key,
                data={"source": "bank", **booking.data},
            )
        )
        if payment.status != old:
            events.append(
                payment_event_build(
                    payment=payment,
                    kind=PaymentEventKind.STATUS_CHANGED,
                    actor=actor,
                    from_status=old,
                    to_status=payment.status,
                )
            )
        order_events.append(
            order_event_build(
                order=order,
                kind="payment_received",
                actor=actor,
                data={"amount": str(booking.amount), "payment": payment.pk, "source": "bank"},
            )
        )
        iban = (booking.data.get("counterparty_iban") or "").upper()
        if blocked_ibans is not None and iban in blocked_ibans:
            blocked.append((order, iban))
        booked_to.append(payment)
    # one UPDATE … FROM (VALUES …) and one INSERT of their history rows (the actor of the
    # block, as a save() would record it); bulk_update's CASE per field and row grows
    # with the square of the rows
    rows_update(
        Payment,
        fields=["paid_amount", "paid_at", "status", "updated_at"],
        rows=[(p.pk, p.paid_amount, p.paid_at, p.status, p.updated_at) for p in changed.values()],
    )
    with audited(actor):
        history_rows_write(Payment, pks=list(changed), when=now)
    payment_events_create(events)
    order_events_create(order_events)
    for order, iban in blocked:
        held = order_hold_add(
            order_id=order.pk,
            reason=HoldReason.FRAUD_REVIEW,
            actor=actor,
            note=_("Paid from blocked account %(iban)s") % {"iban": iban},
        )
        order.hold_reasons, order.status = held.hold_reasons, held.status
    orders = {booking.order.pk: booking.order for booking in bookings}
    orders_payments_settle(
        orders=[orders[order_id] for order_id in sorted(orders)],
        payments_by_order=payments_by_order,
        actor=actor,
        source="bank",
        sums=document_sums_for(orders),
    )
    return booked_to
