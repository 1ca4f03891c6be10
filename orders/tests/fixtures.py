import datetime
from decimal import Decimal

import pytest

from catalog.tests.factories import ProductFactory
from inventory.models import StockMovement, StorageKind
from inventory.services.ledger import StockChange, stock_book, stock_rows_ensure
from inventory.tests.factories import LocationFactory


def receive(product, location, quantity: int):
    """Put stock at a location through the ledger."""
    stock_id = stock_rows_ensure([(product.pk, location.pk)])[(product.pk, location.pk)]
    stock_book(
        changes=[StockChange(stock_id, StockMovement.Kind.RECEIPT, on_hand_delta=quantity)], reference="test receipt"
    )
    return stock_id


@pytest.fixture
def utr(db):
    return LocationFactory(
        code="UTR",
        priority=10,
        storage_kinds=[StorageKind.NORMAL, StorageKind.BULKY],
        cutoff_time=datetime.time(23, 59),
    )


@pytest.fixture
def hng(db):
    return LocationFactory(
        code="HNG",
        priority=20,
        storage_kinds=[StorageKind.HANGING, StorageKind.NORMAL],
        cutoff_time=datetime.time(23, 59),
    )


@pytest.fixture
def sec(db):
    return LocationFactory(
        code="SEC", priority=30, storage_kinds=[StorageKind.SECURE], cutoff_time=datetime.time(23, 59)
    )


@pytest.fixture
def tshirt(db):
    return ProductFactory(sku="TSHIRT-RED-M", storage_kind=StorageKind.NORMAL, weight_grams=200)


@pytest.fixture
def coat(db):
    return ProductFactory(sku="COAT-BLUE-L", storage_kind=StorageKind.HANGING, weight_grams=1500)


@pytest.fixture
def watch(db):
    return ProductFactory(sku="WATCH-GOLD", storage_kind=StorageKind.SECURE, weight_grams=300)


def order_body(reference="WS-10001", lines=None, method="ideal", **overrides) -> dict:
    body = {
        "external_reference": reference,
        "placed_at": "2026-11-20T10:15:00+01:00",
        "customer": {
            "email": "an@example.nl",
            "first_name": "An",
            "last_name": "de Vries",
            "phone": "+31612345678",
            "type": "consumer",
            "company_name": None,
            "vat_number": None,
        },
        "billing_address": {
            "street": "Oudegracht",
            "house_number": "12",
            "house_number_addition": "A",
            "postal_code": "3511 AB",
            "city": "Utrecht",
            "country": "NL",
        },
        "shipping_address": None,
        "lines": lines or [{"sku": "TSHIRT-RED-M", "quantity": 2, "unit_price": "19.95", "discount": "2.00"}],
        "shipping_cost": "4.95",
        "payment": {"method": method, "provider": "mollie", "provider_reference": "tr_WDqYK6vllg"},
    }
    body.update(overrides)
    return body


MONEY = Decimal
