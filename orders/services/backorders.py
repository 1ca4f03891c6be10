"""Backorders: what no location had when the order came in is allocated when stock
arrives (inventory receipts queue `orders.backorders_allocate`), oldest order first."""

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from inventory.services.ledger import stock_lock_for_products, stock_reserve
from orders.events import OrderEventKind, order_event_build, order_events_create
from orders.locks import order_lines_qs_for_update, order_qs_for_update
from orders.models import Fulfilment, FulfilmentLine, OrderLine
from orders.services.allocation import LineNeed, StockOption, plan_allocation
from orders.services.fulfilment import order_holds_changed
from orders.states import HoldReason


def order_backorders_allocate(*, product_ids: list[int] | None = None, actor=None, limit: int = 500) -> int:
    """Allocate backorders (of these products, or all) now that stock may be there.
    Each order is handled in its own transaction. Returns the number of orders that
    received stock."""
    lines = OrderLine.objects.filter(quantity_backordered__gt=0, order__cancelled_at__isnull=True)
    if product_ids:
        lines = lines.filter(product_id__in=product_ids)
    order_ids = list(
        lines.order_by("order__placed_at", "order_id").values_list("order_id", flat=True).distinct()[:limit]
    )
    served = 0
    for order_id in dict.fromkeys(order_ids):
        if _allocate_for_order(order_id=order_id, actor=actor):
            served += 1
    return served


@transaction.atomic
def _allocate_for_order(*, order_id: int, actor) -> bool:
    order = order_qs_for_update().select_related("channel").get(pk=order_id)
    if order.cancelled_at is not None:
        return False
    lines = [line for line in order_lines_qs_for_update(order.pk) if line.quantity_backordered > 0]
    if not lines:
        return False
    stock_rows = stock_lock_for_products({line.product_id for line in lines})
    needs = [
        LineNeed(key=i, product_id=line.product_id, storage_kind=line.storage_kind, quantity=line.quantity_backordered)
        for i, line in enumerate(lines)
    ]
    options = [
        StockOption(
            stock_id=s.pk,
            product_id=s.product_id,
            location_id=s.location_id,
            available=s.available,
            storage_kinds=tuple(s.location.storage_kinds),
            priority=s.location.priority,
            cutoff=s.location.cutoff_time,
        )
        for s in stock_rows
    ]
    plan = plan_allocation(needs, options, now=timezone.localtime().time())
    if not plan.allocations:
        return False
    locations = {s.location_id: s.location for s in stock_rows}
    existing = Fulfilment.objects.filter(order_id=order.pk).count()
    by_location = defaultdict(list)
    for allocation in plan.allocations:
        by_location[allocation.location_id].append(allocation)
    fulfilments = {}
    for seq, location_id in enumerate(sorted(by_location, key=lambda loc: locations[loc].priority), start=existing + 1):
        fulfilments[location_id] = Fulfilment(
            order=order,
            code=f"{order.number}-{seq}",
            location=locations[location_id],
            promised_ship_date=order.promised_ship_date,
        )
    Fulfilment.objects.bulk_create(list(fulfilments.values()))
    FulfilmentLine.objects.bulk_create(
        [
            FulfilmentLine(
                fulfilment=fulfilments[a.location_id], order_line=lines[a.key], stock_id=a.stock_id, quantity=a.quantity
            )
            for a in plan.allocations
        ]
    )
    stock_reserve(
        allocations=[(a.stock_id, a.quantity) for a in plan.allocations],
        reference=f"order:{order.number}:backorder",
        actor=actor,
        locked={s.pk: s for s in stock_rows},
    )
    for key, line in enumerate(lines):
        line.quantity_backordered = plan.backorders.get(key, 0)
    OrderLine.objects.bulk_update(lines, ["quantity_backordered"])
    still_waiting = any(line.quantity_backordered for line in lines)
    if not still_waiting and HoldReason.BACKORDER in order.hold_reasons:
        order.hold_reasons = [h for h in order.hold_reasons if h != HoldReason.BACKORDER]
        order.save(update_fields=["hold_reasons", "updated_at"])
    events = [
        order_event_build(
            order=order,
            kind=OrderEventKind.BACKORDER_ALLOCATED,
            actor=actor,
            data={
                "fulfilments": {f.code: f.location.code for f in fulfilments.values()},
                "still_backordered": {lines[k].sku: q for k, q in plan.backorders.items()},
            },
        )
    ]
    events += order_holds_changed(order=order, actor=actor, reason="stock arrived")
    order_events_create(events)
    return True
