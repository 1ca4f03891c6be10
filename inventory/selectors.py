"""Reads of inventory shared by the API, the admin, the tasks and other apps.

Available to sell for a SKU: over all active locations, the sum of what each location
has on hand and not reserved (a location where a count found less than is reserved adds
nothing rather than taking from the others). Safety stock and the reorder point steer
purchasing (the low-stock list); they do not hold stock back from sale.
"""

import datetime
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.db.models import (
    Case,
    DateTimeField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from catalog.models import Product
from inventory.models import InboundDelivery, InboundLine, Stock

AVAILABLE = ExpressionWrapper(F("on_hand") - F("reserved"), output_field=IntegerField())
SELLABLE = Case(When(on_hand__gt=F("reserved"), then=F("on_hand") - F("reserved")), default=Value(0))
LOW_STOCK = Q(reorder_point__gt=0, available_qty__lt=F("reorder_point"))


def stock_with_available() -> QuerySet[Stock]:
    """Stock rows with `available_qty` (on hand − reserved) for filtering and sorting."""
    return Stock.objects.annotate(available_qty=AVAILABLE)


def stock_available_map(*, product_ids: Iterable[int]) -> dict[int, int]:
    """Per product: the quantity available to sell over all active locations (one query)."""
    ids = set(product_ids)
    if not ids:
        return {}
    rows = (
        Stock.objects.filter(product_id__in=ids, location__is_active=True)
        .values("product_id")
        .annotate(sellable=Sum(SELLABLE))
        .values_list("product_id", "sellable")
    )
    result = dict.fromkeys(ids, 0)
    result.update({product_id: sellable or 0 for product_id, sellable in rows})
    return result


def _open_lines() -> QuerySet[InboundLine]:
    return InboundLine.objects.filter(
        delivery__status=InboundDelivery.Status.EXPECTED,
        delivery__location__is_active=True,
        quantity_received__lt=F("quantity_expected"),
    )


def inbound_next_expected_map(
    *, product_ids: Iterable[int], today: datetime.date | None = None
) -> dict[int, datetime.date]:
    """Per product with an open inbound delivery: the date the next one is expected (an
    overdue delivery is expected today). One query."""
    day = today or timezone.localdate()
    rows = (
        _open_lines()
        .filter(product_id__in=set(product_ids))
        .values("product_id")
        .annotate(first=Min("delivery__expected_on"))
        .values_list("product_id", "first")
    )
    return {product_id: max(first, day) for product_id, first in rows}


def inbound_incoming_map(*, product_ids: Iterable[int]) -> dict[tuple[int, int], int]:
    """Per (product, location): the quantity still expected from open inbound deliveries."""
    rows = (
        _open_lines()
        .filter(product_id__in=set(product_ids))
        .values("product_id", "delivery__location_id")
        .annotate(outstanding=Sum(F("quantity_expected") - F("quantity_received")))
        .values_list("product_id", "delivery__location_id", "outstanding")
    )
    return {(product_id, location_id): outstanding for product_id, location_id, outstanding in rows}


def stock_low_list(*, location_id: int | None = None) -> QuerySet[Stock]:
    """Stock rows of active products at active locations whose available quantity is
    below their reorder point."""
    qs = (
        stock_with_available()
        .filter(LOW_STOCK, location__is_active=True, product__is_active=True)
        .select_related("product", "location")
        .order_by("location__priority", "location__code", "product__sku")
    )
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    return qs


@dataclass(frozen=True)
class LowStockItem:
    sku: str
    name: str
    location: str
    on_hand: int
    reserved: int
    available: int
    reorder_point: int
    safety_stock: int
    incoming: int
    next_expected_on: datetime.date | None


def low_stock_items() -> list[LowStockItem]:
    """The low-stock list with what is already on its way (three queries)."""
    rows = list(stock_low_list())
    product_ids = {s.product_id for s in rows}
    incoming = inbound_incoming_map(product_ids=product_ids)
    expected = inbound_next_expected_map(product_ids=product_ids)
    return [
        LowStockItem(
            sku=s.product.sku,
            name=s.product.name_nl,
            location=s.location.code,
            on_hand=s.on_hand,
            reserved=s.reserved,
            available=s.available,
            reorder_point=s.reorder_point,
            safety_stock=s.safety_stock,
            incoming=incoming.get((s.product_id, s.location_id), 0),
            next_expected_on=expected.get(s.product_id),
        )
        for s in rows
    ]


@dataclass(frozen=True)
class LedgerDifference:
    stock_id: int
    sku: str
    location: str
    on_hand: int
    ledger_on_hand: int
    reserved: int
    ledger_reserved: int


def stock_ledger_differences() -> list[LedgerDifference]:
    """Stock rows whose counters differ from the sums of their ledger movements."""
    rows = (
        Stock.objects.annotate(
            ledger_on_hand=Coalesce(Sum("movements__on_hand_delta"), 0),
            ledger_reserved=Coalesce(Sum("movements__reserved_delta"), 0),
        )
        .exclude(on_hand=F("ledger_on_hand"), reserved=F("ledger_reserved"))
        .order_by("pk")
        .values_list("pk", "product__sku", "location__code", "on_hand", "ledger_on_hand", "reserved", "ledger_reserved")
    )
    return [LedgerDifference(*row) for row in rows]


def stock_list_for_sync(
    *, products: QuerySet[Product] | None = None, product_ids: Collection[int] | None = None
) -> QuerySet[Product]:
    """Products with `available` (to sell, over active locations), `next_expected_on`
    (first open inbound delivery) and `changed_at` (the last change of any of these, or
    the product's creation), for the stock sync API. One query per page.

    The levels come from the view `StockLevel`, which reads the stock rows and inbound
    lines once, grouped by product (a page sorted by `changed_at` needs them all). With
    `product_ids` the view is narrowed inside the join (PostgreSQL then reads only those
    products' rows) and only those products are listed. `products` narrows the list
    further (the API's filters)."""
    products = Product.objects.all() if products is None else products
    level = "stock_level"
    if product_ids is not None:
        ids = sorted(set(product_ids))
        if ids:
            products = products.filter(pk__in=ids).annotate(
                level=FilteredRelation("stock_level", condition=Q(stock_level__product_id__in=ids))
            )
            level = "level"
        else:
            products = products.none()
    return products.annotate(
        available=Coalesce(F(f"{level}__available"), 0),
        next_expected_on=F(f"{level}__next_expected_on"),
        changed_at=Greatest(
            F("created_at"), Coalesce(F(f"{level}__changed_at"), F("created_at")), output_field=DateTimeField()
        ),
    )


STOCK_SYNC_CANDIDATES_MAX = 2000


def stock_changed_candidates(*, since: datetime.datetime) -> list[int] | None:
    """The products whose stock sync `changed_at` can be at or after `since`, looked up
    through the indexed change times (a stock row, its location, an inbound delivery, the
    product's creation; one query): a shop syncing every few minutes reads the rows of
    those minutes, whatever the size of the catalogue. None when more than
    STOCK_SYNC_CANDIDATES_MAX products changed: then the whole list, filtered, is as good.

    The change times are read as they come (UNION ALL) and at most a few times the
    maximum of them: a product counts once per stock row, location and delivery that
    changed, so the rows are made distinct here. When that read hits its limit, more
    products may have changed than it saw, and the answer is None as well."""
    limit = 4 * (STOCK_SYNC_CANDIDATES_MAX + 1)
    changes = (
        Product.objects.filter(created_at__gte=since)
        .order_by()  # SQLite takes no ORDER BY inside a UNION
        .values_list("pk", flat=True)
        .union(
            Stock.objects.filter(updated_at__gte=since).order_by().values_list("product_id", flat=True),
            Stock.objects.filter(location__updated_at__gte=since).order_by().values_list("product_id", flat=True),
            InboundLine.objects.filter(delivery__updated_at__gte=since).order_by().values_list("product_id", flat=True),
            all=True,
        )
    )
    rows = list(changes[:limit])
    ids = set(rows)
    if len(rows) >= limit or len(ids) > STOCK_SYNC_CANDIDATES_MAX:
        return None
    return sorted(ids)


def stock_changed_since(*, since: datetime.datetime, products: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """`stock_list_for_sync()` of the products whose `changed_at` is at or after `since`."""
    candidates = stock_changed_candidates(since=since)
    return stock_list_for_sync(products=products, product_ids=candidates).filter(changed_at__gte=since)


def stock_for_product(*, product_id: int) -> list[Stock]:
    return list(
        stock_with_available().filter(product_id=product_id).select_related("location").order_by("location__priority")
    )
