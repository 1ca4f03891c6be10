"""Reference data the catalog needs, also created by its data migrations (0002 VAT
rates, 0004 the default price list); this puts them back after a database flush."""

import datetime
from decimal import Decimal

DEFAULT_VAT_RATES = [
    ("standard", Decimal("21.00"), datetime.date(2012, 10, 1)),
    ("reduced", Decimal("6.00"), datetime.date(2001, 1, 1)),
    ("reduced", Decimal("9.00"), datetime.date(2019, 1, 1)),
    ("zero", Decimal("0.00"), datetime.date(1969, 1, 1)),
]


def ensure_defaults() -> None:
    from catalog.models import PriceList, VatRate

    if not VatRate.objects.exists():
        VatRate.objects.bulk_create(
            [VatRate(vat_class=c, rate=r, valid_from=d) for c, r, d in DEFAULT_VAT_RATES], ignore_conflicts=True
        )
    if not PriceList.objects.filter(channel__isnull=True).exists():
        PriceList.objects.get_or_create(code="default", defaults={"name": "Standaardprijzen", "channel": None})
