"""Filters for invoices and credit notes: amounts the way the reader's language writes
them, VAT rates without trailing zeros."""

from decimal import Decimal

from django import template
from django.utils import translation

from core.money import format_eur, round_money

register = template.Library()


@register.filter
def eur(amount) -> str:
    """€ 1.234,56 in Dutch, € 1,234.56 in English."""
    if amount in (None, ""):
        return ""
    amount = round_money(Decimal(str(amount)))
    if (translation.get_language() or "nl").startswith("nl"):
        return format_eur(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}€ {abs(amount):,.2f}"


@register.filter
def rate(value) -> str:
    """21.00 → 21, 5.50 → 5.5."""
    text = f"{Decimal(str(value)):f}".rstrip("0").rstrip(".")
    return text or "0"
