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

from collections import defaultdict

from django.db.models import Prefetch
from django.utils import timezone

from carriers.statuses import ShipmentStatus
from core.audit import history_rows_write
from core.db import rows_update
from orders.events import OrderEventKind, order_event_build
from orders.models import Fulfilment, Order, OrderLine, Shipment
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
    return [_status_changed_event(order, old_status, actor, reason)]


def _status_changed_event(order: Order, old_status: str, actor, reason: str = ""):
    return order_event_build(
        order=order,
        kind=OrderEventKind.STATUS_CHANGED,
        actor=actor,
        from_status=old_status,
        to_status=order.status,
        data={"reason": reason} if reason else {},
    )


def orders_status_refresh(*, orders: list[Order], actor=None, reasons: dict[int, str] | None = None) -> list:
    """`order_status_refresh` for many locked orders at once (track & trace records a
    carrier's batch this way): three reads for all of them, and for those whose status
    changed one UPDATE, one INSERT of history rows and their webhooks together. Returns the
    event rows to write; `reasons` gives an order's reason by its id."""
    changed = orders_status_derive(orders=orders)
    if not changed:
        return []
    now = timezone.now()
    for order, _old in changed:
        order.updated_at = now
    rows_update(Order, fields=["status", "updated_at"], rows=[(order.pk, order.status, now) for order, _old in changed])
    history_rows_write(Order, pks=[order.pk for order, _old in changed], when=now)
    return orders_status_changed(changed=changed, actor=actor, reasons=reasons)


def orders_status_derive(*, orders: list[Order]) -> list[tuple[Order, str]]:
    """Derive the status of many locked orders from the database (three reads for all of
    them) and set it in memory; the caller writes it. Returns (order, old status) of those
    whose status changed."""
    if not orders:
        return []
    order_ids = [order.pk for order in orders]
    # only what order_status_derive reads
    fulfilments: dict[int, list[Fulfilment]] = defaultdict(list)
    for fulfilment in (
        Fulfilment.objects.filter(order_id__in=order_ids)
        .only("order_id", "status")
        .prefetch_related(
            Prefetch("shipments", queryset=Shipment.objects.only("fulfilment_id", "status").order_by("pk"))
        )
    ):
        fulfilments[fulfilment.order_id].append(fulfilment)
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=order_ids).only(
        "order_id", "quantity", "quantity_cancelled", "quantity_shipped"
    ):
        lines[line.order_id].append(line)
    changed: list[tuple[Order, str]] = []
    for order in orders:
        new_status = order_status_derive(order=order, fulfilments=fulfilments[order.pk], lines=lines[order.pk])
        if new_status != order.status:
            changed.append((order, order.status))
            order.status = new_status
    return changed


def orders_status_changed(*, changed: list[tuple[Order, str]], actor=None, reasons: dict[int, str] | None = None):
    """After the new statuses of `changed` (order, old status) are written: their webhooks,
    and the event rows to write."""
    from orders.services.webhooks import webhooks_enqueue

    if not changed:
        return []
    reasons = reasons or {}
    webhooks_enqueue(
        items=[
            (order, "order.status_changed", {"from": old_status, "to": order.status}) for order, old_status in changed
        ]
    )
    return [_status_changed_event(order, old_status, actor, reasons.get(order.pk, "")) for order, old_status in changed]
