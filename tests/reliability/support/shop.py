"""Set up a small shop in a database a fault test or a soak run serves with gunicorn,
and check the invariants there afterwards. Run as a module with the database in
DATABASE_URL:

    python -m tests.reliability.support.shop setup   # prints {"keys": {...}, "skus": [...]}
    python -m tests.reliability.support.shop check   # prints {"broken": {...}, "orders": n}

Everything is made through the services (channels, keys, stock through the ledger)."""

import json
import sys


def setup(*, products: int = 3, stock: int = 100_000) -> dict:
    import datetime

    from catalog.tests.factories import ProductFactory
    from core.services import api_key_create, channel_create_or_update
    from inventory.models import StorageKind
    from inventory.tests.factories import LocationFactory
    from orders.tests.fixtures import receive

    channel, _ = channel_create_or_update(code="webshop-nl", name="Webshop NL", order_number_prefix="WEB")
    location = LocationFactory(
        code="UTR", priority=10, storage_kinds=[StorageKind.NORMAL], cutoff_time=datetime.time(23, 59)
    )
    skus = []
    for i in range(products):
        product = ProductFactory(sku=f"SOAK-{i + 1}", storage_kind=StorageKind.NORMAL, weight_grams=200)
        receive(product, location, stock)
        skus.append(product.sku)
    _, channel_key = api_key_create(name="fault test shop", channel=channel)
    _, location_key = api_key_create(name="fault test location", location=location)
    return {"keys": {"channel": channel_key, "location": location_key}, "skus": skus}


def check() -> dict:
    from django.db import connection

    from orders.models import Order
    from tests.reliability.support.invariants import broken

    with connection.cursor() as cursor:
        found = broken(cursor)
    return {"broken": found, "orders": Order.objects.count()}


if __name__ == "__main__":
    import django

    django.setup()
    command = sys.argv[1]
    result = setup() if command == "setup" else check()
    sys.stdout.write(json.dumps(result) + "\n")
