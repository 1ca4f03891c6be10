"""Staff-editable business rules: thresholds and amounts that change over time.

Each app defines its rules once, with a coded default:

    WRITE_OFF_APPROVAL_ABOVE = define_rule(
        "inventory.write_off_approval_above", Decimal("250.00"),
        label=_("Write-offs above this value need a second person (EUR)"))

and reads the value valid now (or at a moment) with `rule_value(key)`. Staff change a
rule by adding a dated row in the admin (Business rules); the history stays.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from core.localcache import MISSING, LocalCache


@dataclass(frozen=True)
class RuleDefinition:
    key: str
    default: Decimal
    label: str
    unit: str = ""


_RULES: dict[str, RuleDefinition] = {}


def define_rule(key: str, default: Decimal, *, label: str, unit: str = "") -> str:
    _RULES[key] = RuleDefinition(key=key, default=Decimal(default), label=label, unit=unit)
    return key


def rule_definitions() -> dict[str, RuleDefinition]:
    return dict(_RULES)


_values_now = LocalCache("business rules")


def rule_value(key: str, at: datetime.datetime | None = None) -> Decimal:
    from core.models import BusinessRule

    if key not in _RULES:
        raise KeyError(f"Unknown business rule {key!r}; define it with define_rule()")
    if at is None:
        return rule_values([key])[key]
    moment = at
    value = (
        BusinessRule.objects.filter(key=key, valid_from__lte=moment)
        .order_by("-valid_from")
        .values_list("value", flat=True)
        .first()
    )
    return _RULES[key].default if value is None else value


def rule_values(keys: list[str], at: datetime.datetime | None = None) -> dict[str, Decimal]:
    """Several rules in one query. The values valid now are cached in the process for a
    few seconds (core.localcache): a new rule row takes effect within that time."""
    from core.models import BusinessRule

    if at is None:
        cached = _values_now.get(tuple(keys))
        if cached is not MISSING:
            return cached
    moment = at or timezone.now()
    values: dict[str, Decimal] = {}
    for key, value in (
        BusinessRule.objects.filter(key__in=keys, valid_from__lte=moment)
        .order_by("key", "-valid_from")
        .values_list("key", "value")
    ):
        values.setdefault(key, value)
    result = {key: values.get(key, _RULES[key].default) for key in keys}
    if at is None:
        _values_now.set(tuple(keys), result)
    return result


def clear_cache() -> None:
    _values_now.clear()
