"""Serializer fields for the contract's conventions."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^-?\d{1,10}\.\d{2}$", "example": "19.95"})
class AmountField(serializers.DecimalField):
    """An amount in EUR as a decimal string with two decimals ("19.95").

    Numbers in JSON are refused: a float cannot carry an amount exactly."""

    default_error_messages = {
        "not_a_string": _('Amounts are decimal strings with two decimals, e.g. "19.95".'),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Decimal:
        if not isinstance(data, str):
            self.fail("not_a_string")
        value = super().to_internal_value(data.strip())
        return abs(value) if value.is_zero() else value  # "-0.00" is 0.00, not an answer of "-0.00"


class NonNegativeAmountField(AmountField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", Decimal("0.00"))
        super().__init__(**kwargs)
