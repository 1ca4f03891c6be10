"""Refunds: through the provider for provider payments, in a SEPA transfer file
(pain.001) for bank transfers, or as store credit.

- A refund never exceeds what the payment received minus what was refunded, charged
  back or is on its way out; this is checked with the order and the payment locked, so
  two refunds at the same moment cannot both pass.
- Above a staff-editable amount a second person approves (core.approvals,
  `payments.refund`); the refund is made only when the approval is carried out.
- A provider refund is recorded as intent (queued), committed, sent to the provider
  after commit with the refund's idempotency key, and its result recorded in a new
  transaction. SEPA refunds wait for the next transfer file; they count as refunded
  when finance marks the file as uploaded to the bank.
- Refund proposals (too much received, a cancelled order, a credit note) are made by
  the reconciliation; finance accepts, turns into store credit, or dismisses them.
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from core.approvals import approval_request_create
from core.audit import audited
from core.exceptions import Conflict, PermissionDenied
from core.money import ZERO, round_money
from core.rules import define_rule, rule_value
from core.services import outbox_enqueue
from orders.events import order_event_create
from orders.locks import order_qs_for_update
from orders.models import Order
from payments.events import payment_event_create
from payments.exceptions import InvalidIban, ProviderRejected, RefundExceedsPaid, SepaFileError
from payments.locks import payment_qs_for_update, refund_qs_for_update, sepa_batch_qs_for_update
from payments.models import BankMatch, Payment, Refund, SepaBatch
from payments.providers.registry import get_provider
from payments.sepa import SepaTransfer, refund_transfer_file
from payments.states import (
    REFUND_COMMITTED_STATUSES,
    PaymentEventKind,
    PaymentKind,
    PaymentStatus,
    RefundMethod,
    RefundReason,
    RefundStatus,
    refund_ensure_transition,
)

REFUND_ACTION = "payments.refund"
REFUND_TASK = "payments.refund_execute"
REFUND_APPROVAL_ABOVE = define_rule(
    "payments.refund.approval_above",
    Decimal("250.00"),
    label="Refunds above this amount need a second person's approval",
    unit="EUR",
)


def payment_refundable(payment: Payment) -> Decimal:
    """What may still be refunded from a payment (read with the payment locked)."""
    in_flight = (
        Refund.objects.filter(payment_id=payment.pk, status__in=REFUND_COMMITTED_STATUSES).aggregate(s=Sum("amount"))[
            "s"
        ]
        or ZERO
    )
    return payment.paid_amount - payment.refunded_amount - payment.charged_back_amount - in_flight


def refund_method_default(payment: Payment) -> str:
    if payment.method == "store_credit":
        return RefundMethod.STORE_CREDIT
    if payment.provider and payment.provider_id and payment.kind in (PaymentKind.INITIAL, PaymentKind.LINK):
        return RefundMethod.PROVIDER
    return RefundMethod.SEPA


def refund_account_default(payment: Payment) -> tuple[str, str]:
    """(IBAN, name) the money came from, as the bank statement showed it."""
    match = (
        BankMatch.objects.filter(payment_id=payment.pk)
        .exclude(line__counterparty_iban="")
        .select_related("line")
        .order_by("-pk")
        .first()
    )
    if match is None:
        return "", ""
    return match.line.counterparty_iban, match.line.counterparty_name


def _check_request(*, actor) -> None:
    if getattr(actor, "username", None) and not actor.has_perm("payments.request_refund"):
        raise PermissionDenied(_("You may not refund."))


def _clean_account(method: str, payment: Payment, iban: str, account_name: str) -> tuple[str, str]:
    if method != RefundMethod.SEPA:
        return "", ""
    if not iban:
        iban, default_name = refund_account_default(payment)
        account_name = account_name or default_name
    try:
        iban = IBAN(iban).compact
    except (SchwiftyException, ValueError, TypeError) as exc:
        raise InvalidIban(
            _("A SEPA refund needs the customer's IBAN; %(iban)r is not valid.") % {"iban": str(iban)[:40]},
            attr="iban",
        ) from exc
    if not (account_name or "").strip():
        raise SepaFileError(_("A SEPA refund needs the account holder's name."), code="required", attr="account_name")
    return iban, account_name.strip()[:140]


def refund_request(
    *,
    payment_id: int,
    amount: Decimal,
    reason: str,
    actor,
    method: str | None = None,
    iban: str = "",
    account_name: str = "",
    note: str = "",
    credit_note_id: int | None = None,
    proposal_id: int | None = None,
):
    """Refund `amount` from a payment. Returns the Refund, or an ApprovalRequest when
    the amount is above the approval limit (the refund is made once it is approved)."""
    _check_request(actor=actor)
    amount = round_money(Decimal(amount))
    if amount <= 0:
        raise RefundExceedsPaid(_("A refund is more than zero."), attr="amount")
    if reason not in RefundReason.values:
        raise Conflict(_("Unknown refund reason."), code="invalid_reason", attr="reason")
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    method = method or refund_method_default(payment)
    if method not in RefundMethod.values:
        raise Conflict(_("Unknown refund method."), code="invalid_method", attr="method")
    if method == RefundMethod.PROVIDER and not (payment.provider and payment.provider_id):
        raise Conflict(_("This payment did not go through a provider."), code="not_a_provider_payment", attr="method")
    iban, account_name = _clean_account(method, payment, iban, account_name)
    refundable = payment_refundable(payment)
    if amount > refundable:
        raise RefundExceedsPaid(
            _("Cannot refund %(amount)s: at most %(refundable)s is left to refund.")
            % {"amount": amount, "refundable": max(ZERO, refundable)},
            attr="amount",
        )
    payload = {
        "payment_id": payment.pk,
        "amount": str(amount),
        "reason": reason,
        "method": method,
        "iban": iban,
        "account_name": account_name,
        "note": (note or "")[:255],
        "credit_note_id": credit_note_id,
        "proposal_id": proposal_id,
    }
    if amount > rule_value(REFUND_APPROVAL_ABOVE):
        return approval_request_create(
            action=REFUND_ACTION,
            payload=payload,
            requested_by=actor,
            summary=_("Refund %(amount)s on order %(number)s (%(method)s)")
            % {"amount": amount, "number": payment.order.number, "method": RefundMethod(method).label},
            reason=note,
            subject=payment,
            amount=amount,
        )
    return refund_start(**payload, actor=actor, requested_by=actor)


def refund_start(
    *,
    payment_id: int,
    amount: str | Decimal,
    reason: str,
    method: str,
    iban: str = "",
    account_name: str = "",
    note: str = "",
    credit_note_id: int | None = None,
    proposal_id: int | None = None,
    actor=None,
    requested_by=None,
    approved_by=None,
) -> Refund:
    """Make the refund: check what is left to refund with order and payment locked,
    record it, and send it on (provider: after commit; SEPA: next file; store credit:
    at once)."""
    amount = round_money(Decimal(amount))
    with transaction.atomic(), audited(actor):
        order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
        order = order_qs_for_update().select_related("channel", "customer").get(pk=order_id)
        payment = payment_qs_for_update().get(pk=payment_id)
        refundable = payment_refundable(payment)
        if amount > refundable:
            raise RefundExceedsPaid(
                _("Cannot refund %(amount)s: at most %(refundable)s is left to refund.")
                % {"amount": amount, "refundable": max(ZERO, refundable)},
                attr="amount",
            )
        fields = {
            "payment": payment,
            "amount": amount,
            "reason": reason,
            "method": method,
            "iban": iban,
            "account_name": account_name,
            "note": (note or "")[:255],
            "credit_note_id": credit_note_id,
            "requested_by": requested_by if getattr(requested_by, "pk", None) else None,
            "approved_by": approved_by if getattr(approved_by, "pk", None) else None,
        }
        refund = None
        if proposal_id is not None:
            refund = refund_qs_for_update().filter(pk=proposal_id, order_id=order.pk).first()
            if refund is None or refund.status != RefundStatus.PROPOSED:
                raise Conflict(_("This refund proposal was already handled."), code="already_decided")
            refund_ensure_transition(refund.status, RefundStatus.QUEUED)
            for name, value in fields.items():
                setattr(refund, name, value)
            refund.status = RefundStatus.QUEUED
            refund.save(update_fields=[*(name.removesuffix("_id") for name in fields), "status", "updated_at"])
        else:
            refund = Refund.objects.create(order=order, status=RefundStatus.QUEUED, **fields)
        refund.end_to_end_id = f"REFUND-{refund.pk}"
        refund.save(update_fields=["end_to_end_id", "updated_at"])
        if method == RefundMethod.STORE_CREDIT:
            from payments.services.credit import store_credit_grant

            store_credit_grant(
                customer_id=order.customer_id,
                amount=amount,
                actor=actor,
                note=_("Refund for order %(number)s") % {"number": order.number},
                refund=refund,
                key=f"refund-credit:{refund.pk}",
            )
            _refund_done(order=order, payment=payment, refund=refund, actor=actor)
        elif method == RefundMethod.PROVIDER:
            outbox_enqueue(REFUND_TASK, refund_id=refund.pk)
        return refund


def _refund_done(*, order: Order, payment: Payment, refund: Refund, actor, provider_refund_id: str = "") -> None:
    """The money left (order, payment and refund locked by the caller)."""
    from payments.services.payments import order_payments_settle, payment_status_derive

    refund_ensure_transition(refund.status, RefundStatus.REFUNDED)
    refund.status = RefundStatus.REFUNDED
    refund.refunded_at = timezone.now()
    refund.error = ""
    if provider_refund_id:
        refund.provider_refund_id = provider_refund_id[:64]
    refund.save(update_fields=["status", "refunded_at", "error", "provider_refund_id", "provider_status", "updated_at"])
    old = payment.status
    payment.refunded_amount += refund.amount
    payment.status = payment_status_derive(payment, PaymentStatus.PAID if payment.paid_amount > 0 else old)
    payment.save(update_fields=["refunded_amount", "status", "updated_at"])
    payment_event_create(
        payment=payment,
        kind=PaymentEventKind.REFUNDED,
        actor=actor,
        from_status=old,
        to_status=payment.status,
        amount=refund.amount,
        key=f"refund:{refund.pk}",
        data={"refund": refund.pk, "method": refund.method, "reason": refund.reason},
    )
    order_event_create(
        order=order,
        kind="refunded",
        actor=actor,
        data={"amount": str(refund.amount), "refund": refund.pk, "method": refund.method},
    )
    order_payments_settle(order=order, actor=actor, source="refund")


def refund_execute(*, refund_id: int, actor=None) -> Refund:
    """Send a queued provider refund (the task; safe to run again: the provider sees
    the same idempotency key and makes one refund)."""
    with transaction.atomic(), audited(actor):
        refund = refund_qs_for_update().select_related("payment").get(pk=refund_id)
        if refund.method != RefundMethod.PROVIDER or refund.status not in REFUND_COMMITTED_STATUSES:
            return refund
        if refund.status == RefundStatus.QUEUED:
            refund.status = RefundStatus.PROCESSING
            refund.save(update_fields=["status", "updated_at"])
    payment = refund.payment
    try:
        result = get_provider(payment.provider).refund(
            provider_id=payment.provider_id,
            amount=refund.amount,
            description=_("Refund order %(number)s") % {"number": refund.order.number},
            idempotency_key=f"refund-{refund.pk}",
        )
    except ProviderRejected as exc:
        with transaction.atomic(), audited(actor):
            order = order_qs_for_update().get(pk=refund.order_id)
            payment_qs_for_update().get(pk=payment.pk)
            refund = refund_qs_for_update().get(pk=refund_id)
            if refund.status != RefundStatus.PROCESSING:
                return refund
            refund.status = RefundStatus.FAILED
            refund.error = str(exc)[:2000]
            refund.save(update_fields=["status", "error", "updated_at"])
            from payments.services.payments import order_payments_settle

            order_payments_settle(order=order, actor=actor, source="refund_failed")
            return refund
    with transaction.atomic(), audited(actor):
        order = order_qs_for_update().select_related("channel", "customer").get(pk=refund.order_id)
        payment = payment_qs_for_update().get(pk=payment.pk)
        refund = refund_qs_for_update().get(pk=refund_id)
        if refund.status != RefundStatus.PROCESSING:
            return refund
        refund.provider_status = str(result.status)[:20]
        _refund_done(order=order, payment=payment, refund=refund, actor=actor, provider_refund_id=result.id)
        return refund


def refund_retry(*, refund_id: int, actor) -> Refund:
    """A failed refund is tried again (the amount is checked again)."""
    _check_request(actor=actor)
    with transaction.atomic(), audited(actor):
        order_id = Refund.objects.values_list("order_id", flat=True).get(pk=refund_id)
        order_qs_for_update().get(pk=order_id)
        refund = refund_qs_for_update().get(pk=refund_id)
        payment = payment_qs_for_update().get(pk=refund.payment_id)
        refund_ensure_transition(refund.status, RefundStatus.QUEUED)
        if refund.amount > payment_refundable(payment):
            raise RefundExceedsPaid(_("Not that much is left to refund any more."), attr="amount")
        refund.status = RefundStatus.QUEUED
        refund.error = ""
        refund.save(update_fields=["status", "error", "updated_at"])
        if refund.method == RefundMethod.PROVIDER:
            outbox_enqueue(REFUND_TASK, refund_id=refund.pk)
        return refund


def refund_cancel(*, refund_id: int, actor, note: str = "") -> Refund:
    """Finance dismisses a proposal, or cancels a refund that has not left yet (a SEPA
    refund not in a file, a failed one). A dismissed proposal is not proposed again
    for the same amount."""
    _check_request(actor=actor)
    with transaction.atomic(), audited(actor):
        order_id = Refund.objects.values_list("order_id", flat=True).get(pk=refund_id)
        order_qs_for_update().get(pk=order_id)
        refund = refund_qs_for_update().get(pk=refund_id)
        if refund.status == RefundStatus.QUEUED and (
            refund.method == RefundMethod.PROVIDER or refund.sepa_batch_id is not None
        ):
            raise Conflict(_("This refund is on its way and cannot be cancelled."), code="refund_under_way")
        refund_ensure_transition(refund.status, RefundStatus.CANCELLED)
        refund.status = RefundStatus.CANCELLED
        refund.note = (note or refund.note)[:255]
        refund.requested_by = actor if getattr(actor, "pk", None) else refund.requested_by
        refund.save(update_fields=["status", "note", "requested_by", "updated_at"])
        return refund


def refund_proposal_accept(*, refund_id: int, actor, method: str | None = None, iban: str = "", account_name: str = ""):
    """Refund what a proposal says (through the same limit and approval)."""
    proposal = Refund.objects.get(pk=refund_id)
    if proposal.status != RefundStatus.PROPOSED:
        raise Conflict(_("This refund proposal was already handled."), code="already_decided")
    return refund_request(
        payment_id=proposal.payment_id,
        amount=proposal.amount,
        reason=proposal.reason,
        actor=actor,
        method=method,
        iban=iban,
        account_name=account_name,
        note=proposal.note,
        proposal_id=proposal.pk,
    )


# --- SEPA transfer files ------------------------------------------------------------


def sepa_batch_create(*, actor, execution_date: datetime.date | None = None) -> SepaBatch:
    """Put every queued SEPA refund in one pain.001 file for upload at the bank."""
    if getattr(actor, "username", None) and not actor.has_perm("payments.add_sepabatch"):
        raise PermissionDenied(_("You may not make SEPA refund files."))
    execution_date = execution_date or timezone.localdate()
    with transaction.atomic(), audited(actor):
        refunds = list(
            refund_qs_for_update()
            .filter(status=RefundStatus.QUEUED, method=RefundMethod.SEPA, sepa_batch__isnull=True)
            .select_related("order")
        )
        if not refunds:
            raise Conflict(_("No SEPA refunds are waiting."), code="nothing_to_do")
        now = timezone.now()
        message_id = f"BO-REFUNDS-{now:%Y%m%d%H%M%S}-{refunds[0].pk}"
        transfers = [
            SepaTransfer(
                name=refund.account_name,
                iban=refund.iban,
                amount=refund.amount,
                end_to_end_id=refund.end_to_end_id or f"REFUND-{refund.pk}",
                remittance=_("Refund order %(number)s") % {"number": refund.order.number},
            )
            for refund in refunds
        ]
        xml = refund_transfer_file(transfers=transfers, execution_date=execution_date, message_id=message_id)
        batch = SepaBatch.objects.create(
            message_id=message_id,
            execution_date=execution_date,
            xml=xml,
            transfer_count=len(refunds),
            total_amount=sum((r.amount for r in refunds), ZERO),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        for refund in refunds:
            refund.sepa_batch = batch
            refund.status = RefundStatus.PROCESSING
            refund.save(update_fields=["sepa_batch", "status", "updated_at"])
        return batch


def sepa_batch_mark_sent(*, batch_id: int, actor) -> SepaBatch:
    """Finance uploaded the file at the bank: its refunds count as refunded."""
    if getattr(actor, "username", None) and not actor.has_perm("payments.mark_sepabatch_sent"):
        raise PermissionDenied(_("You may not mark SEPA files as uploaded."))
    with transaction.atomic(), audited(actor):
        refund_rows = list(
            Refund.objects.filter(sepa_batch_id=batch_id).order_by("pk").values_list("pk", "order_id", "payment_id")
        )
        orders = {o.pk: o for o in order_qs_for_update().filter(pk__in={r[1] for r in refund_rows})}
        payments = {p.pk: p for p in payment_qs_for_update().filter(pk__in={r[2] for r in refund_rows})}
        batch = sepa_batch_qs_for_update().get(pk=batch_id)
        if batch.status == SepaBatch.Status.SENT:
            return batch
        refunds = list(refund_qs_for_update().filter(sepa_batch_id=batch_id))
        batch.status = SepaBatch.Status.SENT
        batch.sent_at = timezone.now()
        batch.save(update_fields=["status", "sent_at", "updated_at"])
        for refund in refunds:
            if refund.status == RefundStatus.PROCESSING:
                _refund_done(
                    order=orders[refund.order_id], payment=payments[refund.payment_id], refund=refund, actor=actor
                )
        return batch
