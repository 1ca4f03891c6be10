"""EAN/GTIN check digits (GS1): GTIN-8, UPC-A (12), EAN-13 and GTIN-14."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

GTIN_LENGTHS = (8, 12, 13, 14)


def gtin_check_digit(body: str) -> int:
    """The check digit for the digits before it: weights 3 and 1 alternating from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def gtin_is_valid(value: str) -> bool:
    return (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) in GTIN_LENGTHS
        and gtin_check_digit(value[:-1]) == int(value[-1])
    )


def gtin_with_check_digit(body: str) -> str:
    return body + str(gtin_check_digit(body))


def validate_gtin(value: str) -> None:
    if value and not gtin_is_valid(value):
        raise ValidationError(
            _("%(value)s is not a valid EAN/GTIN (8, 12, 13 or 14 digits with a correct check digit)."),
            code="invalid_gtin",
            params={"value": value},
        )
