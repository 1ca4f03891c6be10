"""The stock ledger: the only code that changes stock counters.

Every change is a `StockChange` booked by `stock_book`: the stock rows are locked in
primary-key order (one query), the new counters are checked, written in one bulk update
and one movement row per change is written in one bulk insert — a constant number of
queries however many lines an order has. Two requests that want the last unit are
serialised by the row lock: the second sees what the first left.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import actor_label as _actor_label
from core.exceptions import ApplicationError
from inventory.models import Stock, StockMovement


class InsufficientStock(ApplicationError):
    code = "insufficient_stock"


class InvalidStockChange(ApplicationError):
    code = "invalid_stock_change"


@dataclass(frozen=True)
class StockChange:
    stock_id: int
    kind: str
    on_hand_delta: int = 0
    reserved_delta: int = 0


def stock_qs_for_update() -> QuerySet[Stock]:
    return Stock.objects.select_for_update(of=("self",)).order_by("pk")


def stock_lock(stock_ids: Iterable[int]) -> dict[int, Stock]:
    """Lock the stock rows (ordered by pk, so two transactions never deadlock)."""
    ids = sorted(set(stock_ids))
    return {stock.pk: stock for stock in stock_qs_for_update().filter(pk__in=ids)}


def stock_lock_for_products(product_ids: Iterable[int]) -> list[Stock]:
    """Lock every stock row of these products at active locations, with its location."""
    return list(
        stock_qs_for_update()
        .select_related("location")
        .filter(product_id__in=set(product_ids), location__is_active=True)
    )


@transaction.atomic
def stock_rows_ensure(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """The stock row ids for (product_id, location_id) pairs, creating missing rows."""
    pairs = set(pairs)
    existing = {
        (p, loc): pk
        for pk, p, loc in Stock.objects.filter(
            product_id__in={p for p, _ in pairs}, location_id__in={loc for _, loc in pairs}
        ).values_list("pk", "product_id", "location_id")
    }
    missing = [Stock(product_id=p, location_id=loc) for p, loc in pairs if (p, loc) not in existing]
    if missing:
        Stock.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {
            (p, loc): pk
            for pk, p, loc in Stock.objects.filter(
                product_id__in={p for p, _ in pairs}, location_id__in={loc for _, loc in pairs}
            ).values_list("pk", "product_id", "location_id")
        }
    return {pair: existing[pair] for pair in pairs}


def stock_book(
    *,
    changes: list[StockChange],
    reference: str,
    reason: str = "",
    actor=None,
    locked: dict[int, Stock] | None = None,
) -> list[StockMovement]:
    """Apply the changes and write their movements, all or nothing.

    Raises InsufficientStock when a reservation or a shipment needs more than is there,
    InvalidStockChange when a counter would go below zero. `locked` passes rows the
    caller already holds (from `stock_lock*`), so they are not read again.

    Inside a caller's transaction no savepoint is made: every check comes before the
    first write, so a refusal leaves the caller's transaction as it was."""
    if not transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return _stock_book(changes=changes, reference=reference, reason=reason, actor=actor, locked=locked)
    return _stock_book(changes=changes, reference=reference, reason=reason, actor=actor, locked=locked)


def _stock_book(*, changes, reference, reason, actor, locked) -> list[StockMovement]:
    if not changes:
        return []
    rows = dict(locked or {})
    to_lock = {c.stock_id for c in changes} - set(rows)
    if to_lock:
        rows.update(stock_lock(to_lock))
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    reserving = {c.stock_id for c in changes if c.reserved_delta > 0}
    for change in changes:
        if change.stock_id not in rows:
            raise InvalidStockChange(_("Unknown stock row %(id)s.") % {"id": change.stock_id})
        totals[change.stock_id][0] += change.on_hand_delta
        totals[change.stock_id][1] += change.reserved_delta

    now = timezone.now()
    label = _actor_label(actor)
    for stock_id, (on_hand_delta, reserved_delta) in totals.items():
        stock = rows[stock_id]
        on_hand, reserved = stock.on_hand + on_hand_delta, stock.reserved + reserved_delta
        # A reservation may never promise more than is there. (A count may find less than
        # is reserved; that is booked as the truth and shows as negative availability.)
        if stock_id in reserving and on_hand - reserved < 0:
            raise InsufficientStock(
                _("Only %(available)d available of product %(product)s at %(location)s.")
                % {"available": max(stock.available, 0), "product": stock.product_id, "location": stock.location_id},
                extra={"stock_id": stock_id, "available": max(stock.available, 0)},
            )
        if on_hand < 0 or reserved < 0:
            raise InvalidStockChange(
                _("Stock of product %(product)s at %(location)s cannot go below zero.")
                % {"product": stock.product_id, "location": stock.location_id},
                extra={"stock_id": stock_id},
            )
        stock.on_hand, stock.reserved, stock.updated_at = on_hand, reserved, now

    # movements carry the counters after each change, in booking order
    running = {
        stock_id: [rows[stock_id].on_hand - t[0], rows[stock_id].reserved - t[1]] for stock_id, t in totals.items()
    }
    movements = []
    for change in changes:
        counters = running[change.stock_id]
        counters[0] += change.on_hand_delta
        counters[1] += change.reserved_delta
        movements.append(
            StockMovement(
                stock_id=change.stock_id,
                kind=change.kind,
                on_hand_delta=change.on_hand_delta,
                reserved_delta=change.reserved_delta,
                on_hand_after=counters[0],
                reserved_after=counters[1],
                reference=reference[:120],
                reason=reason[:255],
                actor=actor if getattr(actor, "pk", None) else None,
                actor_label=label[:120],
            )
        )
    _write_counters([rows[i] for i in totals])
    return StockMovement.objects.bulk_create(movements, batch_size=2000)


def _write_counters(stocks: list[Stock]) -> None:
    """Write the new counters of locked rows in one statement. On PostgreSQL an UPDATE …
    FROM (VALUES …) (linear in the number of rows); elsewhere Django's bulk_update."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        Stock.objects.bulk_update(stocks, ["on_hand", "reserved", "updated_at"], batch_size=500)
        return
    table = connection.ops.quote_name(Stock._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(stocks), 5000):
            chunk = stocks[start : start + 5000]
            values = ", ".join(["(%s::bigint, %s::integer, %s::integer, %s::timestamptz)"] * len(chunk))
            params = [p for s in chunk for p in (s.pk, s.on_hand, s.reserved, s.updated_at)]
            cursor.execute(
                f"UPDATE {table} AS s SET on_hand = v.on_hand, reserved = v.reserved, updated_at = v.updated_at "  # noqa: S608 — table name from the model, values are parameters
                f"FROM (VALUES {values}) AS v(id, on_hand, reserved, updated_at) WHERE s.id = v.id",
                params,
            )


def stock_reserve(
    *, allocations: list[tuple[int, int]], reference: str, actor=None, locked=None
) -> list[StockMovement]:
    """Reserve quantities [(stock_id, quantity)] for a fulfilment."""
    return stock_book(
        changes=[StockChange(s, StockMovement.Kind.ALLOCATION, reserved_delta=q) for s, q in allocations if q],
        reference=reference,
        actor=actor,
        locked=locked,
    )


def stock_release(*, allocations: list[tuple[int, int]], reference: str, actor=None, reason: str = ""):
    """Give back reserved quantities [(stock_id, quantity)] (cancellation, re-allocation)."""
    return stock_book(
        changes=[StockChange(s, StockMovement.Kind.RELEASE, reserved_delta=-q) for s, q in allocations if q],
        reference=reference,
        actor=actor,
        reason=reason,
    )


def stock_ship(*, items: list[tuple[int, int]], reference: str, actor=None):
    """Book reserved quantities [(stock_id, quantity)] out: they left the building."""
    return stock_book(
        changes=[
            StockChange(s, StockMovement.Kind.SHIPMENT, on_hand_delta=-q, reserved_delta=-q) for s, q in items if q
        ],
        reference=reference,
        actor=actor,
    )
