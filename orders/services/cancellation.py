from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import Conflict
from inventory.services.ledger import stock_release
from orders.events import OrderEventKind, order_event_build, order_events_create
from orders.locks import fulfilment_qs_for_update, order_lines_qs_for_update, order_qs_for_update
from orders.models import Fulfilment, FulfilmentLine, Order, OrderLine
from orders.services.status import order_status_refresh
from orders.states import FulfilmentStatus, HoldReason

# Work other apps do when an order is cancelled (refund proposal for what was paid, …).
ORDER_CANCELLED_HOOKS: list = []


@transaction.atomic
def order_cancel(*, order_id: int, actor=None, reason: str = "") -> Order:
    """Cancel an order before anything shipped: reservations go back through the
    ledger, fulfilments are cancelled, backorders dropped."""
    order = order_qs_for_update().select_related("channel").get(pk=order_id)
    if order.cancelled_at is not None:
        return order
    lines = list(order_lines_qs_for_update(order.pk))
    if any(line.quantity_shipped for line in lines):
        raise Conflict(
            _("Order %(number)s has (partly) shipped and can no longer be cancelled.") % {"number": order.number},
            code="already_shipped",
        )
    fulfilments = list(fulfilment_qs_for_update().filter(order_id=order.pk))
    f_lines = list(FulfilmentLine.objects.filter(fulfilment__order_id=order.pk).order_by("pk"))
    stock_release(
        allocations=[(fl.stock_id, fl.quantity - fl.quantity_shipped) for fl in f_lines],
        reference=f"order:{order.number}:cancel",
        actor=actor,
        reason=reason,
    )
    now = timezone.now()
    for fulfilment in fulfilments:
        fulfilment.status = FulfilmentStatus.CANCELLED
        fulfilment.cancelled_at = now
    Fulfilment.objects.bulk_update(fulfilments, ["status", "cancelled_at", "updated_at"])
    for line in lines:
        line.quantity_cancelled = line.quantity
        line.quantity_backordered = 0
    OrderLine.objects.bulk_update(lines, ["quantity_cancelled", "quantity_backordered"])
    order.cancelled_at = now
    order.cancel_reason = reason[:255]
    order.hold_reasons = [h for h in order.hold_reasons if h != HoldReason.BACKORDER]
    order.save(update_fields=["cancelled_at", "cancel_reason", "hold_reasons", "updated_at"])
    events = [order_event_build(order=order, kind=OrderEventKind.CANCELLED, actor=actor, data={"reason": reason})]
    events += order_status_refresh(order=order, actor=actor, fulfilments=fulfilments, lines=lines, reason=reason)
    order_events_create(events)
    for hook in ORDER_CANCELLED_HOOKS:
        hook(order=order, actor=actor)
    return order
