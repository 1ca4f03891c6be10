"""Order amounts with one rounding rule (ROUND_HALF_UP at named points).

- line total = unit price × quantity − line discount (all incl. VAT), exact to the cent;
- line VAT = the VAT contained in the line total at the line's rate, rounded per line;
- shipping VAT: the shipping cost follows the goods it carries, split over the VAT
  rates in proportion to the goods' value (the Dutch rule for mixed-rate orders); the
  split is rounded so that its parts add up to the shipping cost exactly;
- order VAT = sum of the line VATs + the shipping VAT; order total = goods − discount +
  shipping. Every figure reconciles to the cent.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from core.money import ZERO, round_money, vat_of_gross


@dataclass(frozen=True)
class LineAmounts:
    unit_price: Decimal
    quantity: int
    discount: Decimal
    vat_rate: Decimal

    @property
    def gross(self) -> Decimal:
        return round_money(self.unit_price * self.quantity)

    @property
    def total(self) -> Decimal:
        return self.gross - round_money(self.discount)

    @property
    def vat(self) -> Decimal:
        return vat_of_gross(self.total, self.vat_rate)


@dataclass
class VatBreakdownRow:
    rate: Decimal
    gross: Decimal = ZERO  # incl. VAT
    vat: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.gross - self.vat


@dataclass
class OrderAmounts:
    goods: Decimal
    discount: Decimal
    shipping: Decimal
    vat: Decimal
    total: Decimal
    breakdown: dict[Decimal, VatBreakdownRow] = field(default_factory=dict)


def split_over_rates(amount: Decimal, weights: dict[Decimal, Decimal]) -> dict[Decimal, Decimal]:
    """Split `amount` over VAT rates in proportion to `weights`, to the cent, the parts
    adding up to `amount` exactly (largest-remainder)."""
    amount = round_money(amount)
    if not weights or amount == 0:
        return dict.fromkeys(weights, ZERO) if weights else {}
    total_weight = sum(weights.values())
    if total_weight <= 0:
        # nothing charged for goods (all discounted): the highest rate carries it
        top = max(weights)
        return {rate: (amount if rate == top else ZERO) for rate in weights}
    cents = int(amount * 100)
    raw = {rate: Decimal(cents) * w / total_weight for rate, w in weights.items()}
    floors = {rate: int(value) for rate, value in raw.items()}
    rest = cents - sum(floors.values())
    for rate in sorted(raw, key=lambda r: (raw[r] - floors[r], r), reverse=True)[:rest]:
        floors[rate] += 1
    return {rate: (Decimal(c) / 100).quantize(Decimal("0.01")) for rate, c in floors.items()}


def order_amounts(lines: list[LineAmounts], shipping: Decimal) -> OrderAmounts:
    breakdown: dict[Decimal, VatBreakdownRow] = defaultdict(lambda: VatBreakdownRow(rate=ZERO))
    goods = discount = ZERO
    for line in lines:
        goods += line.gross
        discount += round_money(line.discount)
        row = breakdown[line.vat_rate]
        row.rate = line.vat_rate
        row.gross += line.total
        row.vat += line.vat
    shipping = round_money(shipping)
    for rate, part in split_over_rates(shipping, {r: row.gross for r, row in breakdown.items()}).items():
        row = breakdown[rate]
        row.gross += part
        row.vat += vat_of_gross(part, rate)
    vat = sum((row.vat for row in breakdown.values()), ZERO)
    return OrderAmounts(
        goods=goods,
        discount=discount,
        shipping=shipping,
        vat=vat,
        total=goods - discount + shipping,
        breakdown=dict(breakdown),
    )
