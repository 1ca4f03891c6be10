"""Staff-editable thresholds of inventory (core.rules)."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from core.rules import define_rule

WRITE_OFF_APPROVAL_ABOVE = define_rule(
    "inventory.write_off_approval_above",
    Decimal("250.00"),
    label=_("Write-offs worth more than this at cost price need a second person's approval (EUR)"),
    unit="EUR",
)
