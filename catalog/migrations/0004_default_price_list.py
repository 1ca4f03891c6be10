"""The default price list: the consumer prices for every channel that has no price of its own."""

from django.db import migrations


def add_default_list(apps, schema_editor):
    PriceList = apps.get_model("catalog", "PriceList")
    PriceList.objects.using(schema_editor.connection.alias).get_or_create(
        code="default", defaults={"name": "Standaardprijzen", "channel": None}
    )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_prices_promotions")]

    operations = [migrations.RunPython(add_default_list, migrations.RunPython.noop)]
