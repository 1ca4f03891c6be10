"""Holds staff and other services put on an order, and their release; the shipping
address change after placement (which needs a second person)."""

from django.db import transaction
from django.utils.translation import gettext as _

from core.approvals import approval_request_create
from core.exceptions import Conflict, PermissionDenied
from core.models import ApprovalRequest
from core.rules import rule_value
from customers.addresses import address_normalise
from orders.events import OrderEventKind, order_event_build, order_events_create
from orders.locks import order_qs_for_update
from orders.models import Order, OrderAddress
from orders.services.fraud import HOLD_RELEASE_APPROVAL_ABOVE
from orders.services.fulfilment import order_holds_changed
from orders.states import HoldReason

# Holds a reviewer releases by hand (backorder and payment mismatch resolve themselves).
REVIEWABLE_HOLDS = frozenset(
    {HoldReason.FRAUD_REVIEW, HoldReason.CUSTOMER_BLOCKED, HoldReason.MANUAL, HoldReason.CHARGEBACK}
)


@transaction.atomic
def order_hold_add(*, order_id: int, reason: str, actor=None, note: str = "") -> Order:
    order = order_qs_for_update().select_related("channel").get(pk=order_id)
    if order.cancelled_at is not None or reason in order.hold_reasons:
        return order
    order.hold_reasons = [*order.hold_reasons, reason]
    order.save(update_fields=["hold_reasons", "updated_at"])
    events = [
        order_event_build(
            order=order, kind=OrderEventKind.HOLD_ADDED, actor=actor, to_status=reason, data={"note": note}
        )
    ]
    events += order_holds_changed(order=order, actor=actor, reason=reason)
    order_events_create(events)
    return order


def order_hold_release(*, order_id: int, reasons: list[str], actor, note: str = "") -> Order | ApprovalRequest:
    """A reviewer releases holds. Above a value a second person must approve: then an
    approval request is returned and the hold stays until it is approved."""
    if not actor.has_perm("orders.review_fraud"):
        raise PermissionDenied(_("You may not release held orders."))
    order = Order.objects.get(pk=order_id)
    unknown = set(reasons) - REVIEWABLE_HOLDS
    if unknown:
        raise Conflict(
            _("These holds cannot be released by hand: %(holds)s") % {"holds": ", ".join(sorted(unknown))},
            code="not_releasable",
        )
    if order.total_amount > rule_value(HOLD_RELEASE_APPROVAL_ABOVE):
        return approval_request_create(
            action="orders.release_hold",
            payload={"order_id": order.pk, "reasons": sorted(reasons), "note": note},
            requested_by=actor,
            summary=_("Release %(holds)s on order %(number)s (%(total)s)")
            % {"holds": ", ".join(sorted(reasons)), "number": order.number, "total": order.total_amount},
            reason=note,
            subject=order,
            amount=order.total_amount,
        )
    return order_hold_release_now(order_id=order.pk, reasons=reasons, actor=actor, note=note)


@transaction.atomic
def order_hold_release_now(*, order_id: int, reasons: list[str], actor=None, note: str = "") -> Order:
    order = order_qs_for_update().select_related("channel").get(pk=order_id)
    present = [r for r in reasons if r in order.hold_reasons]
    if not present or order.cancelled_at is not None:
        return order
    order.hold_reasons = [h for h in order.hold_reasons if h not in present]
    order.save(update_fields=["hold_reasons", "updated_at"])
    events = [
        order_event_build(
            order=order, kind=OrderEventKind.HOLD_RELEASED, actor=actor, from_status=reason, data={"note": note}
        )
        for reason in present
    ]
    events += order_holds_changed(order=order, actor=actor, reason="hold released")
    order_events_create(events)
    return order


def order_shipping_address_change_request(*, order_id: int, address: dict, actor, reason: str = "") -> ApprovalRequest:
    """Staff ask to change where an order goes after it was placed: a second person must
    approve (internal fraud: goods sent to another address)."""
    order = Order.objects.get(pk=order_id)
    if order.cancelled_at is not None:
        raise Conflict(_("The order is cancelled."), code="cancelled")
    normalised = address_normalise(**address).__dict__
    approval = approval_request_create(
        action="orders.change_shipping_address",
        payload={"order_id": order.pk, "address": normalised, "name": address.get("name", "")},
        requested_by=actor,
        summary=_("Ship order %(number)s to %(street)s %(number_)s, %(postal_code)s %(city)s")
        % {"number": order.number, "number_": normalised["house_number"], **normalised},
        reason=reason,
        subject=order,
    )
    with transaction.atomic():
        locked = order_qs_for_update().get(pk=order.pk)
        order_events_create(
            [
                order_event_build(
                    order=locked,
                    kind=OrderEventKind.ADDRESS_CHANGE_REQUESTED,
                    actor=actor,
                    data={"approval": approval.pk, "address": normalised},
                )
            ]
        )
    return approval


@transaction.atomic
def order_shipping_address_change_apply(*, order_id: int, address: dict, name: str = "", actor=None) -> Order:
    order = order_qs_for_update().get(pk=order_id)
    if order.cancelled_at is not None:
        raise Conflict(_("The order is cancelled."), code="cancelled")
    if order.status in ("shipped", "delivered"):
        raise Conflict(_("The order has shipped; its address can no longer change."), code="already_shipped")
    current = order.addresses.select_for_update().filter(kind=OrderAddress.Kind.SHIPPING, is_current=True).first()
    if current is not None:
        current.is_current = False
        current.save(update_fields=["is_current"])
    new = OrderAddress.objects.create(
        order=order,
        kind=OrderAddress.Kind.SHIPPING,
        name=name or (current.name if current else ""),
        company_name=current.company_name if current else "",
        **address,
    )
    order.save(update_fields=["updated_at"])
    order_events_create(
        [
            order_event_build(
                order=order,
                kind=OrderEventKind.ADDRESS_CHANGED,
                actor=actor,
                data={"from": str(current) if current else "", "to": str(new)},
            )
        ]
    )
    return order
