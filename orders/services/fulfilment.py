"""Fulfilments: release to the location, pick, pack, ship (one or more parcels),
and the clearing that lets an order ship at all.

Release rule: a fulfilment goes to its location only when the order is cleared
(the money is confirmed) and carries no blocking hold; with the channel's
partial-shipments setting off, also only when nothing is on backorder."""

from collections import defaultdict

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carriers.registry import get_adapter
from carriers.statuses import ShipmentStatus
from core.audit import history_rows_write
from core.db import rows_update
from core.exceptions import Conflict, NotFound
from core.rules import define_rule, rule_values
from inventory.services.ledger import stock_ship
from orders.events import OrderEventKind, order_event_build, order_events_create
from orders.exceptions import NotCleared, OrderOnHold, ShipmentInvalid
from orders.locks import fulfilment_qs_for_update, order_lines_qs_for_update, order_qs_for_update
from orders.models import Fulfilment, FulfilmentLine, Order, OrderLine, Shipment, ShipmentLine
from orders.services.sla import promised_ship_date
from orders.services.status import (
    fulfilments_with_shipments,
    order_status_refresh,
    orders_status_changed,
    orders_status_derive,
)
from orders.services.webhooks import webhook_enqueue
from orders.states import (
    BLOCKING_HOLDS,
    FULFILMENT_TRANSITIONS,
    SHIPPABLE_FULFILMENT_STATUSES,
    FulfilmentStatus,
    HoldReason,
    ensure_transition,
)

WEIGHT_TOLERANCE_PERCENT = define_rule(
    "orders.packing.weight_tolerance_percent",
    25,
    label="A parcel weighing more than this percentage off its expected weight is flagged",
    unit="%",
)
WEIGHT_TOLERANCE_GRAMS = define_rule(
    "orders.packing.weight_tolerance_grams",
    150,
    label="…but never flagged for a difference below this many grams (packaging)",
    unit="g",
)


def order_is_releasable(order: Order) -> bool:
    holds = set(order.hold_reasons)
    if not order.is_cleared or holds & BLOCKING_HOLDS:
        return False
    return order.channel.partial_shipments or HoldReason.BACKORDER not in holds


def fulfilments_release_ready(*, order: Order, fulfilments: list[Fulfilment], actor=None) -> list:
    """Release the waiting fulfilments of a locked order if it may ship. Returns events."""
    now = timezone.now()
    released, events, promised_changed = _release_plan(order=order, fulfilments=fulfilments, actor=actor, now=now)
    if released:
        Fulfilment.objects.bulk_update(released, ["status", "released_at", "promised_ship_date", "updated_at"])
    if promised_changed:
        order.save(update_fields=["promised_ship_date", "updated_at"])
    return events


def _release_plan(*, order: Order, fulfilments: list[Fulfilment], actor, now) -> tuple[list[Fulfilment], list, bool]:
    """Which waiting fulfilments of a locked order go to their location now, set in
    memory with their promised ship date (and the order's, the latest of them); the
    caller writes them. Returns (released fulfilments, events, whether the order's
    promised ship date changed)."""
    if not order_is_releasable(order):
        return [], [], False
    # the promise runs from the moment the order could ship: placed and paid
    ready_at = max(order.placed_at, order.cleared_at)
    events = []
    released = []
    for fulfilment in fulfilments:
        if fulfilment.status != FulfilmentStatus.WAITING:
            continue
        ensure_transition(fulfilment.status, FulfilmentStatus.RELEASED, FULFILMENT_TRANSITIONS, what=_("fulfilment"))
        fulfilment.status = FulfilmentStatus.RELEASED
        fulfilment.released_at = fulfilment.updated_at = now
        fulfilment.promised_ship_date = promised_ship_date(
            ready_at=ready_at,
            channel_cutoff=order.channel.cutoff_time,
            location_cutoff=fulfilment.location.cutoff_time,
        )
        released.append(fulfilment)
        events.append(
            order_event_build(
                order=order,
                kind=OrderEventKind.FULFILMENT_RELEASED,
                actor=actor,
                from_status=FulfilmentStatus.WAITING,
                to_status=FulfilmentStatus.RELEASED,
                data={"fulfilment": fulfilment.code, "location": fulfilment.location.code},
            )
        )
    if not released:
        return [], events, False
    dates = [f.promised_ship_date for f in fulfilments if f.promised_ship_date]
    if dates and order.promised_ship_date != max(dates):
        order.promised_ship_date = max(dates)
        return released, events, True
    return released, events, False


def fulfilments_hold(*, order: Order, fulfilments: list[Fulfilment], actor=None, reason: str = "") -> list:
    """A blocking hold arrived: released fulfilments not yet picked go back to waiting."""
    events = []
    held = []
    for fulfilment in fulfilments:
        if fulfilment.status == FulfilmentStatus.RELEASED:
            fulfilment.status = FulfilmentStatus.WAITING
            held.append(fulfilment)
            events.append(
                order_event_build(
                    order=order,
                    kind=OrderEventKind.FULFILMENT_HELD,
                    actor=actor,
                    from_status=FulfilmentStatus.RELEASED,
                    to_status=FulfilmentStatus.WAITING,
                    data={"fulfilment": fulfilment.code, "reason": reason},
                )
            )
    if held:
        Fulfilment.objects.bulk_update(held, ["status", "updated_at"])
    return events


def order_clear(*, order_id: int, actor=None, source: str = "") -> Order:
    """The money is confirmed: mark the order cleared and release what may ship."""
    with transaction.atomic():
        order = order_qs_for_update().select_related("channel").get(pk=order_id)
        orders_clear_many(orders=[order], actor=actor, source=source)
    return order


def orders_clear_many(*, orders: list[Order], actor=None, source: str = "") -> list[Order]:
    """`order_clear` for orders the caller locked (with their channel): a bank statement
    clears thousands at once. Whatever their number: one read of their fulfilments, one
    UPDATE of the released ones, three reads to derive their new status
    (`orders_status_derive`), one UPDATE of the orders (cleared, promised ship date,
    status) with one INSERT of their history rows, their webhooks and one INSERT of the
    events. Orders already cleared or cancelled are left alone. Returns the orders it
    cleared."""
    todo = [order for order in orders if order.cleared_at is None and order.cancelled_at is None]
    if not todo:
        return []
    now = timezone.now()
    fulfilments: dict[int, list[Fulfilment]] = defaultdict(list)
    for fulfilment in fulfilment_qs_for_update().select_related("location").filter(order_id__in=[o.pk for o in todo]):
        fulfilments[fulfilment.order_id].append(fulfilment)
    events = []
    released: list[Fulfilment] = []
    for order in todo:
        order.cleared_at = order.updated_at = now
        events.append(order_event_build(order=order, kind=OrderEventKind.CLEARED, actor=actor, data={"source": source}))
        order_released, order_events, _promised_changed = _release_plan(
            order=order, fulfilments=fulfilments[order.pk], actor=actor, now=now
        )
        released += order_released
        events += order_events
    rows_update(
        Fulfilment,
        fields=["status", "released_at", "promised_ship_date", "updated_at"],
        rows=[(f.pk, f.status, f.released_at, f.promised_ship_date, f.updated_at) for f in released],
    )
    changed = orders_status_derive(orders=todo)  # from the fulfilments as released
    rows_update(
        Order,
        fields=["cleared_at", "promised_ship_date", "status", "updated_at"],
        rows=[(order.pk, order.cleared_at, order.promised_ship_date, order.status, now) for order in todo],
    )
    history_rows_write(Order, pks=[order.pk for order in todo], when=now)
    events += orders_status_changed(changed=changed, actor=actor)
    order_events_create(events)
    return todo


def order_holds_changed(*, order: Order, actor=None, reason: str = "") -> list:
    """After holds changed on a locked order: hold or release fulfilments, refresh the
    status. Returns the events to write."""
    fulfilments = list(fulfilment_qs_for_update().select_related("location").filter(order_id=order.pk))
    if set(order.hold_reasons) & BLOCKING_HOLDS:
        events = fulfilments_hold(order=order, fulfilments=fulfilments, actor=actor, reason=reason)
    else:
        events = fulfilments_release_ready(order=order, fulfilments=fulfilments, actor=actor)
    return events + order_status_refresh(order=order, actor=actor, reason=reason)


@transaction.atomic
def fulfilment_advance(*, fulfilment_id: int, status: str, actor=None, location_id: int | None = None) -> Fulfilment:
    """The location reports progress: picked or packed."""
    if status not in (FulfilmentStatus.PICKED, FulfilmentStatus.PACKED):
        raise Conflict(_("A location can report only picked or packed here."), code="invalid_status")
    order_id = _fulfilment_order_id(fulfilment_id, location_id)
    order = order_qs_for_update().get(pk=order_id)
    fulfilment = fulfilment_qs_for_update().get(pk=fulfilment_id)
    if set(order.hold_reasons) & BLOCKING_HOLDS:
        raise OrderOnHold(_("The order is on hold; do not pick or pack it."))
    ensure_transition(fulfilment.status, status, FULFILMENT_TRANSITIONS, what=_("fulfilment"))
    old = fulfilment.status
    fulfilment.status = status
    stamp_field = "picked_at" if status == FulfilmentStatus.PICKED else "packed_at"
    setattr(fulfilment, stamp_field, timezone.now())
    fulfilment.save(update_fields=["status", stamp_field, "updated_at"])
    order_events_create(
        [
            order_event_build(
                order=order,
                kind=OrderEventKind.FULFILMENT_STATUS,
                actor=actor,
                from_status=old,
                to_status=status,
                data={"fulfilment": fulfilment.code},
            )
        ]
    )
    return fulfilment


def _fulfilment_order_id(fulfilment_id: int, location_id: int | None) -> int:
    qs = Fulfilment.objects.filter(pk=fulfilment_id)
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    order_id = qs.values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound(_("Fulfilment not found."))
    return order_id


def shipment_create(
    *,
    fulfilment_id: int,
    carrier: str,
    tracking_code: str,
    lines: list[dict],
    weight_grams: int | None = None,
    actor=None,
    location_id: int | None = None,
) -> tuple[Shipment, bool]:
    """A parcel left the location. Books the stock out, records carrier and tracking,
    flags a parcel whose weight is far off. Posting the same parcel (carrier and tracking
    code) again returns it unchanged. Returns (shipment, created)."""
    carrier = carrier.strip().lower()
    tracking_code = tracking_code.strip().upper().replace(" ", "")
    parcel = {"carrier": carrier, "tracking_code": tracking_code, "fulfilment_id": fulfilment_id, "lines": lines}
    try:
        with transaction.atomic():
            return _shipment_create(weight_grams=weight_grams, actor=actor, location_id=location_id, **parcel)
    except IntegrityError:
        existing = _same_parcel(**parcel)
        if existing is None:
            raise
        return existing, False


def _same_parcel(*, carrier: str, tracking_code: str, fulfilment_id: int, lines: list[dict]) -> Shipment | None:
    """The parcel already recorded under this carrier and tracking code, when it is the
    same confirmation again (same fulfilment, same lines); a different parcel under the
    code is a conflict."""
    existing = Shipment.objects.filter(carrier=carrier, tracking_code=tracking_code).first()
    if existing is None:
        return None
    try:
        wanted = sorted((str(line["sku"]), int(line["quantity"])) for line in lines)
    except (KeyError, TypeError, ValueError):
        wanted = None
    recorded = sorted(
        (sl.fulfilment_line.order_line.sku, sl.quantity)
        for sl in existing.lines.select_related("fulfilment_line__order_line")
    )
    if existing.fulfilment_id != fulfilment_id or wanted != recorded:
        raise Conflict(
            _("Tracking code %(code)s was already used for another parcel.") % {"code": tracking_code},
            code="tracking_code_used",
            attr="tracking_code",
        )
    return existing


def _shipment_create(*, fulfilment_id, carrier, tracking_code, lines, weight_grams, actor, location_id):
    order_id = _fulfilment_order_id(fulfilment_id, location_id)
    order = order_qs_for_update().select_related("channel").get(pk=order_id)
    order_lines = {line.pk: line for line in order_lines_qs_for_update(order.pk)}
    fulfilment = fulfilment_qs_for_update().select_related("location").get(pk=fulfilment_id)
    # the same confirmation again (the location never saw our answer): the parcel as it was,
    # before any check of what is left to ship (the order lock orders concurrent repeats)
    repeat = _same_parcel(carrier=carrier, tracking_code=tracking_code, fulfilment_id=fulfilment_id, lines=lines)
    if repeat is not None:
        return repeat, False
    if not order.is_cleared:
        raise NotCleared(_("The order is not paid (cleared) yet: it may not ship."))
    if set(order.hold_reasons) & BLOCKING_HOLDS:
        raise OrderOnHold(_("The order is on hold: it may not ship."))
    if fulfilment.status not in SHIPPABLE_FULFILMENT_STATUSES:
        raise Conflict(
            _("This fulfilment cannot ship in status %(status)s.") % {"status": fulfilment.get_status_display()},
            code="invalid_transition",
        )
    if not lines:
        raise ShipmentInvalid(_("A shipment has at least one line."), attr="lines")
    f_lines = list(FulfilmentLine.objects.filter(fulfilment=fulfilment).order_by("pk"))
    by_sku: dict[str, list[FulfilmentLine]] = defaultdict(list)
    for f_line in f_lines:
        by_sku[order_lines[f_line.order_line_id].sku].append(f_line)

    shipped_per_fline: dict[int, int] = defaultdict(int)
    for index, line in enumerate(lines):
        sku, quantity = line["sku"], int(line["quantity"])
        if quantity < 1:
            raise ShipmentInvalid(_("Quantity must be at least 1."), attr=f"lines.{index}.quantity")
        if sku not in by_sku:
            raise ShipmentInvalid(
                _("SKU %(sku)s is not part of this fulfilment.") % {"sku": sku}, attr=f"lines.{index}.sku"
            )
        remaining = quantity
        for f_line in by_sku[sku]:
            room = f_line.quantity - f_line.quantity_shipped - shipped_per_fline[f_line.pk]
            take = min(room, remaining)
            if take > 0:
                shipped_per_fline[f_line.pk] += take
                remaining -= take
        if remaining:
            raise ShipmentInvalid(
                _("Shipping more of %(sku)s than was allocated to this fulfilment.") % {"sku": sku},
                attr=f"lines.{index}.quantity",
                code="exceeds_allocation",
            )

    shipping_address = order.shipping_address
    adapter = get_adapter(carrier)
    expected = sum(order_lines[fl.order_line_id].weight_grams * shipped_per_fline[fl.pk] for fl in f_lines)
    tolerance = rule_values([WEIGHT_TOLERANCE_PERCENT, WEIGHT_TOLERANCE_GRAMS])
    flagged = False
    if weight_grams is not None and expected:
        allowed = max(expected * tolerance[WEIGHT_TOLERANCE_PERCENT] / 100, tolerance[WEIGHT_TOLERANCE_GRAMS])
        flagged = abs(weight_grams - expected) > allowed
    now = timezone.now()
    shipment = Shipment.objects.create(
        fulfilment=fulfilment,
        carrier=carrier,
        tracking_code=tracking_code,
        tracking_url=adapter.tracking_url(
            tracking_code,
            postal_code=shipping_address.postal_code if shipping_address else None,
            country=shipping_address.country if shipping_address else None,
        ),
        status=ShipmentStatus.PRE_TRANSIT,
        shipped_at=now,
        packed_by=actor if getattr(actor, "username", None) else None,
        packed_by_label=str(actor)[:120] if actor is not None else "",
        weight_grams=weight_grams,
        expected_weight_grams=expected,
        weight_flagged=flagged,
        postal_code=shipping_address.postal_code if shipping_address else "",
        country=shipping_address.country if shipping_address else "",
    )
    ShipmentLine.objects.bulk_create(
        [ShipmentLine(shipment=shipment, fulfilment_line_id=pk, quantity=q) for pk, q in shipped_per_fline.items()]
    )
    stock_ship(
        items=[(fl.stock_id, shipped_per_fline[fl.pk]) for fl in f_lines if shipped_per_fline[fl.pk]],
        reference=f"shipment:{carrier}:{tracking_code}",
        actor=actor,
    )
    for f_line in f_lines:
        if shipped_per_fline[f_line.pk]:
            f_line.quantity_shipped += shipped_per_fline[f_line.pk]
            order_lines[f_line.order_line_id].quantity_shipped += shipped_per_fline[f_line.pk]
    FulfilmentLine.objects.bulk_update([fl for fl in f_lines if shipped_per_fline[fl.pk]], ["quantity_shipped"])
    OrderLine.objects.bulk_update(
        [order_lines[fl.order_line_id] for fl in f_lines if shipped_per_fline[fl.pk]], ["quantity_shipped"]
    )

    events = [
        order_event_build(
            order=order,
            kind=OrderEventKind.SHIPPED,
            actor=actor,
            data={
                "fulfilment": fulfilment.code,
                "carrier": carrier,
                "tracking_code": tracking_code,
                "lines": [{"sku": line["sku"], "quantity": int(line["quantity"])} for line in lines],
            },
        )
    ]
    if flagged:
        events.append(
            order_event_build(
                order=order,
                kind=OrderEventKind.WEIGHT_FLAGGED,
                actor=actor,
                data={"tracking_code": tracking_code, "weight_grams": weight_grams, "expected_grams": expected},
            )
        )
    if all(fl.quantity_shipped >= fl.quantity for fl in f_lines):
        old = fulfilment.status
        fulfilment.status = FulfilmentStatus.SHIPPED
        fulfilment.shipped_at = now
        fulfilment.save(update_fields=["status", "shipped_at", "updated_at"])
        events.append(
            order_event_build(
                order=order,
                kind=OrderEventKind.FULFILMENT_STATUS,
                actor=actor,
                from_status=old,
                to_status=FulfilmentStatus.SHIPPED,
                data={"fulfilment": fulfilment.code},
            )
        )
    events += order_status_refresh(
        order=order, actor=actor, fulfilments=fulfilments_with_shipments(order.pk), lines=list(order_lines.values())
    )
    order_events_create(events)
    webhook_enqueue(
        order=order,
        event="shipment.created",
        data={
            "fulfilment": fulfilment.code,
            "carrier": carrier,
            "tracking_code": tracking_code,
            "tracking_url": shipment.tracking_url,
            "lines": [{"sku": line["sku"], "quantity": int(line["quantity"])} for line in lines],
        },
    )
    shipment_shipped_hooks(shipment=shipment, order=order, actor=actor)
    return shipment, True


# Work that follows a shipment in other apps (invoicing per shipment, capturing a
# pay-later payment, the customer's shipping mail) registers here, so orders does not
# import them. Each hook runs inside the shipment's transaction.
SHIPMENT_HOOKS: list = []


def shipment_shipped_hooks(*, shipment: Shipment, order: Order, actor=None) -> None:
    for hook in SHIPMENT_HOOKS:
        hook(shipment=shipment, order=order, actor=actor)
