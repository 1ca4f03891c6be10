"""Event rows: every state change of an order writes who, when, from, to and why."""

from core.audit import actor_label
from orders.models import Order, OrderEvent


class OrderEventKind:
    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    ALLOCATED = "allocated"
    BACKORDER_ALLOCATED = "backorder_allocated"
    HOLD_ADDED = "hold_added"
    HOLD_RELEASED = "hold_released"
    CLEARED = "cleared"
    FULFILMENT_RELEASED = "fulfilment_released"
    FULFILMENT_HELD = "fulfilment_held"
    FULFILMENT_STATUS = "fulfilment_status"
    SHIPPED = "shipped"
    WEIGHT_FLAGGED = "weight_flagged"
    CANCELLED = "cancelled"
    ADDRESS_CHANGE_REQUESTED = "address_change_requested"
    ADDRESS_CHANGED = "address_changed"
    SHIPMENT_STATUS = "shipment_status"
    SLA_CHANGED = "sla_changed"


def _actor_fields(actor) -> dict:
    user = actor if getattr(actor, "pk", None) and hasattr(actor, "username") else None
    return {"actor": user, "actor_label": actor_label(user)[:120] or ("system" if actor is None else str(actor))}


def order_event_build(
    *, order: Order, kind: str, actor=None, from_status: str = "", to_status: str = "", data: dict | None = None
) -> OrderEvent:
    return OrderEvent(
        order=order,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
        **_actor_fields(actor),
    )


def order_event_create(**kwargs) -> OrderEvent:
    event = order_event_build(**kwargs)
    event.save()
    return event


def order_events_create(events: list[OrderEvent]) -> list[OrderEvent]:
    return OrderEvent.objects.bulk_create(events) if events else []
