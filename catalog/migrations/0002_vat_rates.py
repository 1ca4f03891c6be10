"""The Dutch VAT rates (NL-RULES §3) as dated rows that staff can extend."""

import datetime
from decimal import Decimal

from django.db import migrations

RATES = [
    ("standard", Decimal("21.00"), datetime.date(2012, 10, 1)),
    ("reduced", Decimal("6.00"), datetime.date(2001, 1, 1)),
    ("reduced", Decimal("9.00"), datetime.date(2019, 1, 1)),
    ("zero", Decimal("0.00"), datetime.date(1969, 1, 1)),
]


def add_rates(apps, schema_editor):
    VatRate = apps.get_model("catalog", "VatRate")
    for vat_class, rate, valid_from in RATES:
        VatRate.objects.using(schema_editor.connection.alias).get_or_create(
            vat_class=vat_class, valid_from=valid_from, defaults={"rate": rate}
        )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(add_rates, migrations.RunPython.noop)]
