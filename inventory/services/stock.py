"""Stock operations staff and other apps book: receipts, adjustments (to a counted
quantity or by a difference), write-offs (a second person approves those above a value),
transfers between locations and restocked returns.

Each one locks the stock rows (ledger order: by primary key), checks, and books its
movements through `stock_book` with who, when, a reference and a reason — all in one
transaction, so a failure changes nothing.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import Product
from core.approvals import approval_request_create
from core.models import ApprovalRequest
from core.money import round_money
from core.rules import rule_value
from inventory.exceptions import (
    InsufficientStock,
    InvalidQuantity,
    LocationInactive,
    ReasonRequired,
    StorageKindNotHandled,
    UnknownLocation,
    UnknownProduct,
    WriteOffPending,
)
from inventory.models import Location, Stock, StockMovement
from inventory.rules import WRITE_OFF_APPROVAL_ABOVE
from inventory.services.ledger import StockChange, stock_book, stock_lock, stock_rows_ensure

WRITE_OFF_ACTION = "inventory.stock_write_off"
BOOKING_SLICE = 500


def _quantity(value, *, attr: str = "quantity", allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(_("A quantity is a whole number."), attr=attr)
    if value < 0 and allow_zero:
        raise InvalidQuantity(_("A quantity cannot be negative."), attr=attr)
    if value <= 0 and not allow_zero:
        raise InvalidQuantity(_("A quantity must be more than zero."), attr=attr)
    return value


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(_("Give a reason."), attr="reason")
    return reason


def _products(product_ids) -> dict[int, Product]:
    products = Product.objects.in_bulk(set(product_ids))
    missing = set(product_ids) - set(products)
    if missing:
        raise UnknownProduct(_("Unknown product %(id)s.") % {"id": sorted(missing)[0]}, attr="product")
    return products


def _locations(location_ids) -> dict[int, Location]:
    locations = Location.objects.in_bulk(set(location_ids))
    missing = set(location_ids) - set(locations)
    if missing:
        raise UnknownLocation(_("Unknown location %(id)s.") % {"id": sorted(missing)[0]}, attr="location")
    return locations


def _check_can_store(product: Product, location: Location, *, attr: str = "location") -> None:
    if not location.is_active:
        raise LocationInactive(_("Location %(location)s is not active.") % {"location": location.code}, attr=attr)
    if not location.handles(product.storage_kind):
        raise StorageKindNotHandled(
            _("%(location)s does not handle %(kind)s goods (%(sku)s).")
            % {"location": location.code, "kind": product.get_storage_kind_display(), "sku": product.sku},
            attr=attr,
        )


def _lock_pairs(pairs: list[tuple[int, int]]) -> tuple[dict[tuple[int, int], int], dict[int, Stock]]:
    """Stock row ids for (product, location) pairs (made where missing), locked."""
    ids = stock_rows_ensure(pairs)
    return ids, stock_lock(ids.values())


@transaction.atomic
def stock_book_inflow(
    *, items: list[tuple[int, int, int]], kind: str, reference: str, actor=None, reason: str = "", check_storage=True
) -> list[StockMovement]:
    """Book goods coming in [(product_id, location_id, quantity)] as one kind of movement."""
    if not items:
        raise InvalidQuantity(_("Nothing to book."))
    for _p, _l, quantity in items:
        _quantity(quantity)
    products = _products({p for p, _l, _q in items})
    locations = _locations({loc for _p, loc, _q in items})
    if check_storage:
        for product_id, location_id, _q in items:
            _check_can_store(products[product_id], locations[location_id])
    ids, locked = _lock_pairs([(p, loc) for p, loc, _q in items])
    return stock_book(
        changes=[StockChange(ids[(p, loc)], kind, on_hand_delta=q) for p, loc, q in items],
        reference=reference,
        reason=reason,
        actor=actor,
        locked=locked,
    )


def stock_receive(
    *, product_id: int, location_id: int, quantity: int, reference: str, actor=None, reason: str = ""
) -> StockMovement:
    """Goods received at a location (outside an inbound delivery)."""
    return stock_book_inflow(
        items=[(product_id, location_id, quantity)],
        kind=StockMovement.Kind.RECEIPT,
        reference=reference or "receipt",
        actor=actor,
        reason=reason,
    )[0]


def stock_return_restock(
    *, items: list[tuple[int, int, int]], reference: str, actor=None, reason: str = ""
) -> list[StockMovement]:
    """Returned goods put back on the shelf [(product_id, location_id, quantity)]; the
    returns app calls this with the return's number as reference."""
    return stock_book_inflow(
        items=items, kind=StockMovement.Kind.RETURN_RESTOCK, reference=reference, actor=actor, reason=reason
    )


@transaction.atomic
def stock_counts_book(
    *, counts: list[tuple[int, int, int]], reference: str, reason: str, actor=None
) -> list[StockMovement]:
    """Counted quantities on hand [(product_id, location_id, counted)]: the difference to
    what the books say is booked as an adjustment (nothing for a count that matches)."""
    reason = _reason(reason)
    for _p, _l, counted in counts:
        _quantity(counted, attr="counted", allow_zero=True)
    ids, locked = _lock_pairs([(p, loc) for p, loc, _c in counts])
    changes = []
    for product_id, location_id, counted in counts:
        stock = locked[ids[(product_id, location_id)]]
        if counted != stock.on_hand:
            changes.append(StockChange(stock.pk, StockMovement.Kind.ADJUSTMENT, on_hand_delta=counted - stock.on_hand))
    # Booked in slices (one transaction, rows locked once): the ledger's bulk update per
    # slice stays small, so a count of 10,000 rows takes seconds, not minutes.
    movements = []
    for start in range(0, len(changes), BOOKING_SLICE):
        movements += stock_book(
            changes=changes[start : start + BOOKING_SLICE],
            reference=reference,
            reason=reason,
            actor=actor,
            locked=locked,
        )
    return movements


@transaction.atomic
def stock_adjust(
    *,
    product_id: int,
    location_id: int,
    reason: str,
    actor=None,
    counted: int | None = None,
    delta: int | None = None,
    reference: str = "",
) -> StockMovement | None:
    """Correct stock on hand to a counted quantity, or by a difference (+ found, − lost),
    with a reason. Returns the movement, or None when a count matches the books."""
    reason = _reason(reason)
    if (counted is None) == (delta is None):
        raise InvalidQuantity(_("Give either the counted quantity or the difference."), attr="counted")
    _products([product_id])
    _locations([location_id])
    if counted is not None:
        movements = stock_counts_book(
            counts=[(product_id, location_id, counted)], reference=reference or "count", reason=reason, actor=actor
        )
        return movements[0] if movements else None
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise InvalidQuantity(_("The difference is a whole number other than zero."), attr="delta")
    ids, locked = _lock_pairs([(product_id, location_id)])
    return stock_book(
        changes=[StockChange(ids[(product_id, location_id)], StockMovement.Kind.ADJUSTMENT, on_hand_delta=delta)],
        reference=reference or "adjustment",
        reason=reason,
        actor=actor,
        locked=locked,
    )[0]


def _ensure_unreserved(stock: Stock, quantity: int, product: Product) -> None:
    if stock.on_hand - stock.reserved < quantity:
        raise InsufficientStock(
            _("Only %(available)d of %(sku)s at %(location)s are not reserved.")
            % {"available": max(stock.available, 0), "sku": product.sku, "location": stock.location.code},
            attr="quantity",
            extra={"available": max(stock.available, 0)},
        )


@transaction.atomic
def stock_transfer(
    *,
    product_id: int,
    from_location_id: int,
    to_location_id: int,
    quantity: int,
    actor=None,
    reference: str = "",
    reason: str = "",
) -> list[StockMovement]:
    """Move unreserved stock from one location to another: a transfer out and a transfer
    in, booked together."""
    _quantity(quantity)
    if from_location_id == to_location_id:
        raise InvalidQuantity(_("Choose two different locations."), attr="to_location")
    product = _products([product_id])[product_id]
    locations = _locations([from_location_id, to_location_id])
    _check_can_store(product, locations[to_location_id], attr="to_location")
    ids, locked = _lock_pairs([(product_id, from_location_id), (product_id, to_location_id)])
    source = locked[ids[(product_id, from_location_id)]]
    source.location = locations[from_location_id]
    _ensure_unreserved(source, quantity, product)
    reference = reference or f"transfer:{locations[from_location_id].code}>{locations[to_location_id].code}"
    return stock_book(
        changes=[
            StockChange(source.pk, StockMovement.Kind.TRANSFER_OUT, on_hand_delta=-quantity),
            StockChange(ids[(product_id, to_location_id)], StockMovement.Kind.TRANSFER_IN, on_hand_delta=quantity),
        ],
        reference=reference,
        reason=reason,
        actor=actor,
        locked=locked,
    )


@dataclass(frozen=True)
class WriteOffOutcome:
    """Either booked at once (`movement`) or waiting for a second person (`approval`)."""

    value: Decimal
    movement: StockMovement | None = None
    approval: ApprovalRequest | None = None


def _write_off_check(*, product_id: int, location_id: int, quantity: int) -> tuple[Product, Stock]:
    _quantity(quantity)
    product = _products([product_id])[product_id]
    location = _locations([location_id])[location_id]
    stock = Stock.objects.filter(product_id=product_id, location_id=location_id).first()
    if stock is None:
        raise InsufficientStock(
            _("There is no stock of %(sku)s at %(location)s.") % {"sku": product.sku, "location": location.code},
            attr="quantity",
        )
    stock.location = location
    return product, stock


@transaction.atomic
def stock_write_off(*, product_id: int, location_id: int, quantity: int, reason: str, actor) -> WriteOffOutcome:
    """Write off damaged, expired or lost unreserved stock. Worth more at cost price than
    the rule `inventory.write_off_approval_above`, it waits for a second person's approval
    (four eyes) and is booked when approved."""
    reason = _reason(reason)
    product, stock = _write_off_check(product_id=product_id, location_id=location_id, quantity=quantity)
    value = round_money(product.cost_price * quantity)
    if value > rule_value(WRITE_OFF_APPROVAL_ABOVE):
        _ensure_unreserved(stock, quantity, product)  # fail now, not when the approver decides
        payload = {"product_id": product_id, "location_id": location_id, "quantity": quantity, "reason": reason}
        approval = approval_request_create(
            action=WRITE_OFF_ACTION,
            payload=payload,
            requested_by=actor,
            summary=_("Write off %(quantity)d × %(sku)s at %(location)s (€ %(value)s)")
            % {"quantity": quantity, "sku": product.sku, "location": stock.location.code, "value": value},
            reason=reason,
            subject=stock,
            amount=value,
        )
        if approval.payload != payload:
            raise WriteOffPending(
                _("Another write-off of this stock is waiting for approval; decide on that one first."),
                extra={"approval_id": approval.pk},
            )
        return WriteOffOutcome(value=value, approval=approval)
    movement = stock_write_off_book(
        product_id=product_id, location_id=location_id, quantity=quantity, reason=reason, actor=actor
    )
    return WriteOffOutcome(value=value, movement=movement)


@transaction.atomic
def stock_write_off_book(
    *, product_id: int, location_id: int, quantity: int, reason: str, actor=None, approval_id: int | None = None
) -> StockMovement:
    """Book a write-off (after approval where one was needed)."""
    reason = _reason(reason)
    product, stock = _write_off_check(product_id=product_id, location_id=location_id, quantity=quantity)
    locked = stock_lock([stock.pk])
    row = locked[stock.pk]
    row.location = stock.location
    _ensure_unreserved(row, quantity, product)
    return stock_book(
        changes=[StockChange(row.pk, StockMovement.Kind.WRITE_OFF, on_hand_delta=-quantity)],
        reference=f"write-off approval:{approval_id}" if approval_id else "write-off",
        reason=reason,
        actor=actor,
        locked=locked,
    )[0]


@transaction.atomic
def stock_thresholds_set(*, stock_id: int, safety_stock: int, reorder_point: int, actor=None) -> Stock:
    """Set the planning thresholds of a stock row. Only these two columns are written, so
    the counters, which the ledger moves meanwhile, are never overwritten."""
    _quantity(safety_stock, attr="safety_stock", allow_zero=True)
    _quantity(reorder_point, attr="reorder_point", allow_zero=True)
    stock = stock_lock([stock_id]).get(stock_id)
    if stock is None:
        raise InvalidQuantity(_("Unknown stock row %(id)s.") % {"id": stock_id})
    stock.safety_stock, stock.reorder_point = safety_stock, reorder_point
    stock.save(update_fields=["safety_stock", "reorder_point"])
    return stock
