"""Inbound deliveries: stock on its way to a location (so a backorder can say when it
arrives), received in one go or in parts.

Status: expected → received (everything in, or closed with what came) or cancelled
(closed before anything came). Lock order: delivery → its lines → stock (the ledger).
"""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import Conflict
from inventory.exceptions import InboundNotReceivable, InvalidQuantity, OverReceipt
from inventory.models import InboundDelivery, InboundLine, StockMovement
from inventory.services.stock import _check_can_store, _locations, _products, _quantity, stock_book_inflow


def inbound_delivery_qs_for_update():
    return InboundDelivery.objects.select_for_update(of=("self",)).order_by("pk")


def inbound_line_qs_for_update():
    return InboundLine.objects.select_for_update(of=("self",)).order_by("pk")


@transaction.atomic
def inbound_delivery_create(
    *,
    reference: str,
    location_id: int,
    expected_on: datetime.date,
    lines: list[tuple[int, int]],
    supplier: str = "",
    actor=None,
) -> InboundDelivery:
    """Announce a delivery [(product_id, quantity expected)] at a location that can store
    the goods."""
    reference = (reference or "").strip()
    if not reference:
        raise InvalidQuantity(_("A delivery needs a reference."), attr="reference")
    if not lines:
        raise InvalidQuantity(_("A delivery needs at least one line."), attr="lines")
    products = _products({p for p, _q in lines})
    location = _locations([location_id])[location_id]
    seen = set()
    for index, (product_id, quantity) in enumerate(lines):
        _quantity(quantity, attr=f"lines.{index}.quantity")
        if product_id in seen:
            raise InvalidQuantity(
                _("%(sku)s is on the delivery twice.") % {"sku": products[product_id].sku}, attr=f"lines.{index}"
            )
        seen.add(product_id)
        _check_can_store(products[product_id], location)
    try:
        with transaction.atomic():
            delivery = InboundDelivery.objects.create(
                reference=reference, supplier=supplier, location=location, expected_on=expected_on
            )
    except IntegrityError:
        raise Conflict(
            _("A delivery with reference %(reference)s exists already.") % {"reference": reference},
            code="duplicate_reference",
            attr="reference",
        ) from None
    InboundLine.objects.bulk_create(
        [InboundLine(delivery=delivery, product_id=p, quantity_expected=q) for p, q in lines]
    )
    return delivery


@transaction.atomic
def inbound_delivery_receive(
    *, delivery_id: int, quantities: dict[int, int] | None = None, actor=None
) -> InboundDelivery:
    """Receive {product_id: quantity} of an expected delivery (None: everything still
    outstanding). Each line may receive up to what is outstanding; the delivery is
    received when every line is complete."""
    delivery = inbound_delivery_qs_for_update().select_related("location").filter(pk=delivery_id).first()
    if delivery is None:
        raise InboundNotReceivable(_("Unknown inbound delivery."))
    if delivery.status != InboundDelivery.Status.EXPECTED:
        raise InboundNotReceivable(
            _("Delivery %(reference)s is %(status)s: nothing more can be received.")
            % {"reference": delivery.reference, "status": delivery.get_status_display()}
        )
    lines = {line.product_id: line for line in inbound_line_qs_for_update().filter(delivery=delivery)}
    if quantities is None:
        quantities = {p: line.quantity_expected - line.quantity_received for p, line in lines.items()}
    items = []
    for product_id, quantity in quantities.items():
        line = lines.get(product_id)
        if line is None:
            raise InvalidQuantity(_("Product %(id)s is not on this delivery.") % {"id": product_id}, attr="lines")
        _quantity(quantity, allow_zero=True)
        outstanding = line.quantity_expected - line.quantity_received
        if quantity > outstanding:
            raise OverReceipt(
                _("Only %(outstanding)d of product %(id)s are still expected; book any extra as a separate receipt.")
                % {"outstanding": outstanding, "id": product_id},
                attr="lines",
            )
        if quantity:
            items.append((product_id, delivery.location_id, quantity))
            line.quantity_received += quantity
    if not items:
        raise InvalidQuantity(_("Nothing to receive."), attr="lines")
    stock_book_inflow(
        items=items,
        kind=StockMovement.Kind.RECEIPT,
        reference=f"inbound:{delivery.reference}",
        actor=actor,
        check_storage=False,  # checked when announced; what arrived is booked where it is
    )
    InboundLine.objects.bulk_update(list(lines.values()), ["quantity_received"])
    fields = ["updated_at"]
    if all(line.quantity_received >= line.quantity_expected for line in lines.values()):
        delivery.status = InboundDelivery.Status.RECEIVED
        delivery.received_at = timezone.now()
        fields += ["status", "received_at"]
    delivery.save(update_fields=fields)
    return delivery


@transaction.atomic
def inbound_delivery_close(*, delivery_id: int, actor=None) -> InboundDelivery:
    """Expect nothing more of a delivery: received with what came, or cancelled when
    nothing came."""
    delivery = inbound_delivery_qs_for_update().filter(pk=delivery_id).first()
    if delivery is None or delivery.status != InboundDelivery.Status.EXPECTED:
        raise InboundNotReceivable(_("Only an expected delivery can be closed."))
    received_any = delivery.lines.filter(quantity_received__gt=0).exists()
    delivery.status = InboundDelivery.Status.RECEIVED if received_any else InboundDelivery.Status.CANCELLED
    delivery.received_at = timezone.now() if received_any else None
    delivery.save(update_fields=["status", "received_at", "updated_at"])
    return delivery


@transaction.atomic
def inbound_delivery_reschedule(
    *, delivery_id: int, expected_on: datetime.date, supplier: str | None = None, actor=None
) -> InboundDelivery:
    """A new expected date (and supplier) for a delivery that is still expected."""
    delivery = inbound_delivery_qs_for_update().filter(pk=delivery_id).first()
    if delivery is None or delivery.status != InboundDelivery.Status.EXPECTED:
        raise InboundNotReceivable(_("Only an expected delivery can be rescheduled."), attr="expected_on")
    delivery.expected_on = expected_on
    fields = ["expected_on", "updated_at"]
    if supplier is not None:
        delivery.supplier = supplier
        fields.append("supplier")
    delivery.save(update_fields=fields)
    return delivery
