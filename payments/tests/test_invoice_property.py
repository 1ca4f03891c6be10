"""Property: for any order (lines, quantities, discounts, VAT classes, shipping cost),
any split into shipments and any returns credited, the invoices minus the credit notes
equal what was charged for the goods kept (plus shipping), to the cent — VAT too.

"Charged for the goods kept": the units of an order line are worth the line total
shared out cumulatively (the first k of Q units are worth total × k / Q, rounded half up;
all Q are worth the total), so a line of which S units shipped and R came back leaves
value(S − R) charged. The shipping cost stays charged unless everything came back."""

import itertools
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.tests.factories import UserFactory
from orders.models import Order
from orders.services.fulfilment import order_clear
from orders.services.holds import order_hold_release_now
from payments.allocation import LineCharge, UnitRange, credit_take
from payments.models import CreditNote, Invoice
from payments.services.invoicing import credit_note_for_returned_lines
from payments.tests.factories import place, product, ship

D = Decimal
CENT = D("0.01")


def value(total: Decimal, quantity: int, units: int) -> Decimal:
    """The oracle: what the first `units` of `quantity` units of a line are worth."""
    if units == quantity:
        return total
    return (total * units / quantity).quantize(CENT, rounding=ROUND_HALF_UP)


# --- the allocation itself, many cases ---------------------------------------------------------

amounts = st.decimals(min_value=D("0.00"), max_value=D("9999.99"), places=2)


@st.composite
def line_story(draw):
    quantity = draw(st.integers(min_value=1, max_value=40))
    total = draw(amounts)
    vat = draw(st.decimals(min_value=D("0.00"), max_value=total, places=2)) if total else D("0.00")
    shipped = draw(st.integers(min_value=0, max_value=quantity))
    parts, left = [], shipped
    while left:
        part = draw(st.integers(min_value=1, max_value=left))
        parts.append(part)
        left -= part
    returned = draw(st.integers(min_value=0, max_value=shipped))
    returns, left = [], returned
    while left:
        part = draw(st.integers(min_value=1, max_value=left))
        returns.append(part)
        left -= part
    return LineCharge(quantity=quantity, total=total, vat=vat), parts, returns


@settings(max_examples=500, deadline=None)
@given(story=line_story())
def test_shares_of_a_line_add_up_for_any_split_and_returns(story):
    charge, parts, returns = story
    invoiced_total = invoiced_vat = D("0.00")
    ranges, first = [], 0
    for index, part in enumerate(parts):
        total, vat = charge.portion(first, part)
        assert total >= 0 and vat >= 0
        invoiced_total += total
        invoiced_vat += vat
        ranges.append(UnitRange(key=index, first_unit=first, quantity=part, credited=0))
        first += part
    credited_total = credited_vat = D("0.00")
    for count in returns:
        taken = credit_take(ranges, count)
        for key, first_unit, n in taken:
            total, vat = charge.portion(first_unit, n)
            credited_total += total
            credited_vat += vat
            ranges[key] = UnitRange(key, ranges[key].first_unit, ranges[key].quantity, ranges[key].credited + n)
    kept = sum(parts) - sum(returns)
    assert invoiced_total - credited_total == value(charge.total, charge.quantity, kept)
    assert invoiced_vat - credited_vat == value(charge.vat, charge.quantity, kept)
    # a unit range is never credited for more than it was invoiced
    assert all(0 <= r.credited <= r.quantity for r in ranges)


# --- end to end: orders, shipments and credit notes through the services ---------------------------


@pytest.fixture
def catalogue(utr):
    return {
        vat_class: product(f"PROP-{vat_class.upper()}-{n}", vat_class=vat_class, location=utr, quantity=10_000)
        for vat_class, n in itertools.product(["standard", "reduced", "zero"], [1])
    }


@st.composite
def order_story(draw):
    lines = []
    for vat_class in draw(
        st.lists(st.sampled_from(["standard", "reduced", "zero"]), min_size=1, max_size=3, unique=True)
    ):
        quantity = draw(st.integers(min_value=1, max_value=6))
        unit = draw(st.decimals(min_value=D("0.01"), max_value=D("250.00"), places=2))
        discount = draw(st.decimals(min_value=D("0.00"), max_value=unit * quantity, places=2))
        lines.append({"vat_class": vat_class, "quantity": quantity, "unit_price": unit, "discount": discount})
    shipping = draw(st.decimals(min_value=D("0.00"), max_value=D("15.00"), places=2))
    shipments = draw(st.integers(min_value=1, max_value=3))
    # per line: how many units each shipment takes (0 allowed), never more than ordered
    plan = []
    for line in lines:
        left, taken = line["quantity"], []
        for _ in range(shipments):
            n = draw(st.integers(min_value=0, max_value=left))
            taken.append(n)
            left -= n
        plan.append(taken)
    return lines, shipping, plan, draw(st.data())


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(story=order_story())
def test_invoices_minus_credit_notes_equal_what_was_charged_for_what_was_kept(channel, catalogue, story):
    lines, shipping, plan, data = story
    root = UserFactory(username="root", is_superuser=True)
    with transaction.atomic():
        order = place(
            channel,
            shipping=str(shipping),
            lines=[
                {
                    "sku": catalogue[line["vat_class"]].sku,
                    "quantity": line["quantity"],
                    "unit_price": line["unit_price"],
                    "discount": line["discount"],
                }
                for line in lines
            ],
        )
        if order.hold_reasons:  # a high value waits for fraud review: reviewed, released
            order_hold_release_now(order_id=order.pk, reasons=list(order.hold_reasons), note="reviewed")
        order_clear(order_id=order.pk, source="test")
        order_lines = list(order.lines.order_by("line_number"))
        for step in range(len(plan[0])):
            quantities = {ol.sku: plan[i][step] for i, ol in enumerate(order_lines) if plan[i][step]}
            if quantities:
                ship(Order.objects.get(pk=order.pk), quantities)
        shipped = [sum(taken) for taken in plan]
        # returns: any number up to what shipped, credited in one or two steps
        returned = [data.draw(st.integers(min_value=0, max_value=s)) for s in shipped]
        everything_back = sum(shipped) > 0 and all(
            r == ol.quantity for r, ol in zip(returned, order_lines, strict=True)
        )
        first_step = [data.draw(st.integers(min_value=0, max_value=r)) for r in returned]
        for step in (first_step, [r - f for r, f in zip(returned, first_step, strict=True)]):
            wanted = [(ol.pk, n) for ol, n in zip(order_lines, step, strict=True) if n]
            if wanted:
                credit_note_for_returned_lines(order_id=order.pk, lines=wanted, actor=root)
        if everything_back and Invoice.objects.filter(order=order, lines__kind="shipping").exists():
            credit_note_for_returned_lines(order_id=order.pk, lines=[], refund_shipping=True, actor=root)

        invoiced = sum(Invoice.objects.filter(order=order).values_list("total_amount", flat=True), D("0.00"))
        credited = sum(CreditNote.objects.filter(order=order).values_list("total_amount", flat=True), D("0.00"))
        invoiced_vat = sum(Invoice.objects.filter(order=order).values_list("vat_amount", flat=True), D("0.00"))
        credited_vat = sum(CreditNote.objects.filter(order=order).values_list("vat_amount", flat=True), D("0.00"))

        kept_goods = sum(
            (
                value(ol.total_amount, ol.quantity, s - r)
                for ol, s, r in zip(order_lines, shipped, returned, strict=True)
            ),
            D("0.00"),
        )
        kept_goods_vat = sum(
            (value(ol.vat_amount, ol.quantity, s - r) for ol, s, r in zip(order_lines, shipped, returned, strict=True)),
            D("0.00"),
        )
        shipping_charged = order.shipping_amount if sum(shipped) > 0 and not everything_back else D("0.00")
        shipping_vat = order.vat_amount - sum((ol.vat_amount for ol in order_lines), D("0.00"))
        assert invoiced + credited == kept_goods + shipping_charged
        assert invoiced_vat + credited_vat == kept_goods_vat + (shipping_vat if shipping_charged else D("0.00"))
        if all(s == ol.quantity for s, ol in zip(shipped, order_lines, strict=True)) and not any(returned):
            assert invoiced == order.total_amount and invoiced_vat == order.vat_amount
        if everything_back:
            assert invoiced + credited == 0
        # every credit note refers to its invoice, never for more than that invoice
        for invoice in Invoice.objects.filter(order=order):
            back = sum(invoice.credit_notes.values_list("total_amount", flat=True), D("0.00"))
            assert -back <= invoice.total_amount
        transaction.set_rollback(True)
