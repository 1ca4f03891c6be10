"""Order actions that need a second person (core.approvals)."""

from django.utils.translation import gettext_lazy as _

from core.approvals import approval_action
from orders.services.holds import order_hold_release_now, order_shipping_address_change_apply


@approval_action(
    "orders.change_shipping_address",
    label=_("Change the shipping address after placement"),
    permission="orders.approve_address_change",
)
def _change_shipping_address(payload: dict, *, approval) -> dict:
    order = order_shipping_address_change_apply(
        order_id=payload["order_id"],
        address=payload["address"],
        name=payload.get("name", ""),
        actor=approval.decided_by,
    )
    return {"order": order.number}


@approval_action(
    "orders.release_hold",
    label=_("Release a fraud hold on a high-value order"),
    permission="orders.approve_hold_release",
)
def _release_hold(payload: dict, *, approval) -> dict:
    order = order_hold_release_now(
        order_id=payload["order_id"],
        reasons=payload["reasons"],
        actor=approval.decided_by,
        note=payload.get("note", ""),
    )
    return {"order": order.number, "hold_reasons": order.hold_reasons}
