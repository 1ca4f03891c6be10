"""Payment actions that need a second person (core.approvals)."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from core.approvals import approval_action
from payments.services.payments import MANUAL_PAYMENT_ACTION, payment_manual_record
from payments.services.refunds import REFUND_ACTION, refund_start


@approval_action(REFUND_ACTION, label=_("Refund above the limit"), permission="payments.approve_refund")
def _refund(payload: dict, *, approval) -> dict:
    refund = refund_start(
        payment_id=payload["payment_id"],
        amount=Decimal(payload["amount"]),
        reason=payload["reason"],
        method=payload["method"],
        iban=payload.get("iban", ""),
        account_name=payload.get("account_name", ""),
        note=payload.get("note", ""),
        credit_note_id=payload.get("credit_note_id"),
        proposal_id=payload.get("proposal_id"),
        actor=approval.decided_by,
        requested_by=approval.requested_by,
        approved_by=approval.decided_by,
    )
    return {"refund_id": refund.pk, "status": refund.status}


@approval_action(
    MANUAL_PAYMENT_ACTION,
    label=_("Record a payment received by hand"),
    permission="payments.approve_manual_payment",
)
def _manual_payment(payload: dict, *, approval) -> dict:
    payment = payment_manual_record(
        order_id=payload["order_id"],
        amount=Decimal(payload["amount"]),
        note=payload.get("note", ""),
        actor=approval.decided_by,
        key=f"manual:{approval.pk}",
    )
    return {"payment_id": payment.pk}
