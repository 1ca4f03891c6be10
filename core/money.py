"""Money: Decimal only, EUR, rounded ROUND_HALF_UP at named points.

Amounts are Decimal with two places. Rounding happens only through `round_money` at the
named points (line total, line VAT, document total). Integer cents exist only inside
payment-provider adapters (`to_cents` / `from_cents`).
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")


class MoneyError(ValueError):
    pass


def money(value: "Decimal | int | str") -> Decimal:
    """Parse an amount exactly. Floats are refused: they cannot say 19.95."""
    if isinstance(value, (bool, float)):
        raise MoneyError("Amounts must be decimal strings, not floating-point numbers.")
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise MoneyError(f"Not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise MoneyError(f"Not an amount: {value!r}")
    return amount


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def vat_of_gross(gross: Decimal, rate_percent: Decimal) -> Decimal:
    """The VAT contained in an amount that includes VAT, rounded to the cent."""
    rate = Decimal(rate_percent)
    if rate == 0:
        return ZERO
    return round_money(gross * rate / (HUNDRED + rate))


def net_of_gross(gross: Decimal, rate_percent: Decimal) -> Decimal:
    return round_money(gross) - vat_of_gross(gross, rate_percent)


def to_cents(amount: Decimal) -> int:
    return int((round_money(amount) * 100).to_integral_value())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def format_eur(amount: Decimal) -> str:
    """€ 1.234,56 — the Dutch way, for letters and PDFs."""
    amount = round_money(amount)
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}€ {'.'.join(groups)},{cents}"


class MoneyField(models.DecimalField):
    """DecimalField(max_digits=12, decimal_places=2) defaulting to 0.00."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("default", ZERO)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs
