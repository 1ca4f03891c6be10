"""Reads shared by the API, the admin, the helpdesk and tasks."""

from django.db.models import Prefetch, QuerySet

from core.exceptions import NotFound
from orders.models import Fulfilment, FulfilmentLine, Order, OrderAddress, OrderLine, Shipment, ShipmentLine
from orders.states import FulfilmentStatus


def order_prefetch() -> list[Prefetch | str]:
    """Everything the order representation needs, in a fixed number of queries."""
    return [
        Prefetch("addresses", queryset=OrderAddress.objects.order_by("pk")),
        Prefetch("lines", queryset=OrderLine.objects.order_by("line_number")),
        Prefetch("fulfilments", queryset=Fulfilment.objects.select_related("location").order_by("pk")),
        Prefetch("fulfilments__lines", queryset=FulfilmentLine.objects.select_related("order_line").order_by("pk")),
        Prefetch("fulfilments__shipments", queryset=Shipment.objects.order_by("pk")),
        Prefetch(
            "fulfilments__shipments__lines",
            queryset=ShipmentLine.objects.select_related("fulfilment_line__order_line").order_by("pk"),
        ),
        # the payment summary and the invoices (payments app; by related name, no import)
        "payments",
        "invoices",
    ]


def order_list(*, channel_id: int | None = None) -> QuerySet[Order]:
    qs = Order.objects.select_related("channel")
    if channel_id is not None:
        qs = qs.filter(channel_id=channel_id)
    return qs


def access_order(*, number: str, channel_id: int | None = None, for_update: bool = False) -> Order:
    """One order as the caller may see it; another channel's order is not found."""
    order = order_list(channel_id=channel_id).prefetch_related(*order_prefetch()).filter(number=number).first()
    if order is None:
        raise NotFound("Order not found.", code="not_found")
    return order


def fulfilment_worklist(*, location_id: int, status: str | None = FulfilmentStatus.RELEASED) -> QuerySet[Fulfilment]:
    """A location's work: oldest promise first."""
    qs = (
        Fulfilment.objects.filter(location_id=location_id)
        .select_related("location", "order", "order__channel")
        .prefetch_related(
            Prefetch("lines", queryset=FulfilmentLine.objects.select_related("order_line").order_by("pk")),
            Prefetch("shipments", queryset=Shipment.objects.order_by("pk")),
            Prefetch(
                "shipments__lines",
                queryset=ShipmentLine.objects.select_related("fulfilment_line__order_line").order_by("pk"),
            ),
            Prefetch("order__addresses", queryset=OrderAddress.objects.order_by("pk")),
        )
    )
    if status:
        qs = qs.filter(status=status)
    return qs


def access_fulfilment(*, code: str, location_id: int | None = None) -> Fulfilment:
    qs = fulfilment_worklist(location_id=location_id, status=None) if location_id else Fulfilment.objects.all()
    fulfilment = qs.filter(code=code).first()
    if fulfilment is None:
        raise NotFound("Fulfilment not found.", code="not_found")
    return fulfilment
