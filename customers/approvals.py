"""Four-eyes actions of the customers app (registered at start-up by core)."""

from django.utils.translation import gettext_lazy as _

from core.approvals import approval_action
from core.models import ApprovalRequest
from customers.services import BLOCK_PERMISSION, UNBLOCK_ACTION, customer_unblock_execute


@approval_action(UNBLOCK_ACTION, label=_("Unblock a customer"), permission=BLOCK_PERMISSION)
def _unblock(payload: dict, *, approval: ApprovalRequest) -> dict:
    customer = customer_unblock_execute(approval=approval)
    return {"customer_id": customer.pk}
