"""Row locks, always in one order: order → order lines → fulfilments → stock → payment."""

from django.db.models import QuerySet

from orders.models import Fulfilment, Order, OrderLine


def order_qs_for_update() -> QuerySet[Order]:
    return Order.objects.select_for_update(of=("self",)).order_by("pk")


def order_lines_qs_for_update(order_id: int) -> QuerySet[OrderLine]:
    return OrderLine.objects.select_for_update(of=("self",)).filter(order_id=order_id).order_by("pk")


def fulfilment_qs_for_update() -> QuerySet[Fulfilment]:
    return Fulfilment.objects.select_for_update(of=("self",)).order_by("pk")
