"""How an order line's amounts are shared out over invoices and credit notes, to the
cent, without drift (pure functions; the services use them).

The units of an order line are numbered 1 … Q. The amount of the first k units is the
line total times k / Q, rounded half up (`units_value`); for k = Q it is the line total
itself. A document that covers units a+1 … a+n gets value(a+n) − value(a), so the
documents of a line always add up to the line exactly, whatever the split. VAT is
shared the same way from the line's VAT, so VAT per rate adds up to the order's VAT.

- An invoice for a shipment covers the next units of each line shipped.
- A credit note for returned units takes the highest units not yet credited of the
  newest invoice first, so what stays charged is always the value of the lowest units.
- The shipping cost is split over the VAT rates like the order's totals do
  (orders.services.totals.split_over_rates) and goes on the first invoice.
"""

from dataclasses import dataclass
from decimal import Decimal

from core.money import ZERO, round_money, vat_of_gross
from orders.services.totals import split_over_rates


@dataclass(frozen=True)
class LineCharge:
    """What an order line charged: `quantity` units for `total` incl. `vat`."""

    quantity: int
    total: Decimal
    vat: Decimal

    def value(self, units: int) -> tuple[Decimal, Decimal]:
        """(total, vat) of the first `units` units."""
        if not 0 <= units <= self.quantity:
            raise ValueError(f"units {units} outside 0..{self.quantity}")
        if units == self.quantity:
            return self.total, self.vat
        if units == 0:
            return ZERO, ZERO
        return (
            round_money(self.total * units / self.quantity),
            round_money(self.vat * units / self.quantity),
        )

    def portion(self, first_unit: int, count: int) -> tuple[Decimal, Decimal]:
        """(total, vat) of units first_unit+1 … first_unit+count."""
        high_total, high_vat = self.value(first_unit + count)
        low_total, low_vat = self.value(first_unit)
        return high_total - low_total, high_vat - low_vat


def shipping_parts(shipping: Decimal, goods_per_rate: dict[Decimal, Decimal]) -> list[tuple[Decimal, Decimal, Decimal]]:
    """The shipping cost as (rate, total, vat) per VAT rate, as the order's totals split it."""
    shipping = round_money(shipping)
    if shipping <= 0:
        return []
    if not goods_per_rate:
        return []
    parts = split_over_rates(shipping, goods_per_rate)
    return [(rate, part, vat_of_gross(part, rate)) for rate, part in sorted(parts.items()) if part]


def unit_price_excl(unit_price: Decimal, rate: Decimal) -> Decimal:
    """A unit price incl. VAT shown without VAT (rounded half up; informative: the line
    amounts are exact)."""
    return unit_price - vat_of_gross(unit_price, rate)


@dataclass(frozen=True)
class UnitRange:
    """Units first_unit+1 … first_unit+quantity of one order line on one invoice line,
    of which `credited` (the highest ones) were credited already."""

    key: object
    first_unit: int
    quantity: int
    credited: int

    @property
    def creditable(self) -> int:
        return self.quantity - self.credited


def credit_take(ranges: list[UnitRange], quantity: int) -> list[tuple[object, int, int]]:
    """Which units to credit for `quantity` returned units: newest invoice line first,
    highest units first. Returns (key, first_unit, count) per invoice line touched;
    raises ValueError when fewer units are creditable."""
    if quantity > sum(r.creditable for r in ranges):
        raise ValueError("more units than were invoiced and not yet credited")
    taken = []
    remaining = quantity
    for unit_range in sorted(ranges, key=lambda r: r.first_unit, reverse=True):
        if remaining == 0:
            break
        count = min(unit_range.creditable, remaining)
        if count <= 0:
            continue
        top = unit_range.first_unit + unit_range.quantity - unit_range.credited
        taken.append((unit_range.key, top - count, count))
        remaining -= count
    return taken
