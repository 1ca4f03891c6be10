"""The order's status is derived, never set by hand:

cancelled                      the order was cancelled
delivered                      everything shipped and every parcel delivered
shipped                        everything (not cancelled) shipped
partially_shipped              something shipped, something still to go
on_hold                        a blocking hold (fraud review, blocked customer, chargeback,
                               address change awaiting approval, staff hold), or nothing can
                               be released because everything waits for stock
awaiting_payment               the money is not confirmed yet
released                       cleared and released to the locations
"""

from django.db.models import Prefetch

from carriers.statuses import ShipmentStatus
from orders.events import OrderEventKind, order_event_build
from orders.models import Fulfilment, Order, Shipment
from orders.states import BLOCKING_HOLDS, FulfilmentStatus, HoldReason, OrderStatus


def order_status_derive(*, order: Order, fulfilments: list[Fulfilment], lines) -> str:
    if order.cancelled_at:
        return OrderStatus.CANCELLED
    ordered = sum(line.quantity - line.quantity_cancelled for line in lines)
    shipped = sum(line.quantity_shipped for line in lines)
    if ordered > 0 and shipped >= ordered:
        shipments = [s for f in fulfilments for s in f.shipments.all()]
        if shipments and all(s.status == ShipmentStatus.DELIVERED for s in shipments):
            return OrderStatus.DELIVERED
        return OrderStatus.SHIPPED
    if shipped > 0:
        return OrderStatus.PARTIALLY_SHIPPED
    holds = set(order.hold_reasons)
    if holds & BLOCKING_HOLDS:
        return OrderStatus.ON_HOLD
    if not order.is_cleared:
        return OrderStatus.AWAITING_PAYMENT
    active = [f for f in fulfilments if f.status != FulfilmentStatus.CANCELLED]
    if HoldReason.BACKORDER in holds and not any(f.status != FulfilmentStatus.WAITING for f in active):
        return OrderStatus.ON_HOLD
    return OrderStatus.RELEASED


def fulfilments_with_shipments(order_id: int) -> list[Fulfilment]:
    return list(
        Fulfilment.objects.filter(order_id=order_id).prefetch_related(
            Prefetch("shipments", queryset=Shipment.objects.order_by("pk"))
        )
    )


def order_status_refresh(*, order: Order, actor=None, fulfilments=None, lines=None, reason: str = "") -> list:
    """Recompute the status of a locked order; when it changed, save it and return the
    event row to write (the caller writes events in bulk). Webhooks follow the event."""
    from orders.services.webhooks import webhook_enqueue

    fulfilments = fulfilments if fulfilments is not None else fulfilments_with_shipments(order.pk)
    lines = lines if lines is not None else list(order.lines.all())
    new_status = order_status_derive(order=order, fulfilments=fulfilments, lines=lines)
    if new_status == order.status:
        return []
    old_status = order.status
    order.status = new_status
    order.save(update_fields=["status", "updated_at"])
    webhook_enqueue(order=order, event="order.status_changed", data={"from": old_status, "to": new_status})
    return [
        order_event_build(
            order=order,
            kind=OrderEventKind.STATUS_CHANGED,
            actor=actor,
            from_status=old_status,
            to_status=new_status,
            data={"reason": reason} if reason else {},
        )
    ]
