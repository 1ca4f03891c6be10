"""Four-eyes actions of inventory (core.approvals): a write-off above the limit is booked
when a second person with `inventory.approve_write_off` approves it."""

from django.utils.translation import gettext_lazy as _

from core.approvals import approval_action
from core.models import ApprovalRequest
from inventory.services.stock import WRITE_OFF_ACTION, stock_write_off_book


@approval_action(WRITE_OFF_ACTION, label=_("Stock write-off above the limit"), permission="inventory.approve_write_off")
def _write_off(payload: dict, *, approval: ApprovalRequest) -> dict:
    movement = stock_write_off_book(
        product_id=payload["product_id"],
        location_id=payload["location_id"],
        quantity=payload["quantity"],
        reason=payload["reason"],
        actor=approval.requested_by,
        approval_id=approval.pk,
    )
    return {"movement_id": movement.pk, "on_hand_after": movement.on_hand_after}
