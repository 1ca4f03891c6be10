"""Test helpers for the payments app: orders placed through the real intake, shipments
through the real shipment service, and bank statements written as a bank would."""

import datetime
import itertools
from decimal import Decimal

from catalog.tests.factories import ProductFactory
from core.tests.factories import SalesChannelFactory
from inventory.models import StockMovement
from inventory.services.ledger import StockChange, stock_book, stock_rows_ensure
from inventory.tests.factories import LocationFactory
from orders.models import Order
from orders.services.fulfilment import shipment_create
from orders.services.intake import order_intake
from payments.statements.writer import StatementEntry, camt053_document

_refs = itertools.count(1)
_tracking = itertools.count(1)


def stock(product, location, quantity: int) -> None:
    stock_id = stock_rows_ensure([(product.pk, location.pk)])[(product.pk, location.pk)]
    stock_book(changes=[StockChange(stock_id, StockMovement.Kind.RECEIPT, on_hand_delta=quantity)], reference="test")


def shop(code: str = "webshop-nl", prefix: str = "WEB"):
    return SalesChannelFactory(code=code, name=f"Shop {code}", order_number_prefix=prefix)


def warehouse(code: str = "UTR"):
    return LocationFactory(code=code, priority=10, cutoff_time=datetime.time(23, 59))


def product(sku: str | None = None, vat_class: str = "standard", location=None, quantity: int = 100):
    item = ProductFactory(sku=sku, vat_class=vat_class) if sku else ProductFactory(vat_class=vat_class)
    if location is not None:
        stock(item, location, quantity)
    return item


def order_payload(
    *,
    lines: list[dict],
    method: str = "bank_transfer",
    shipping: str = "4.95",
    reference: str | None = None,
    provider: str = "",
    provider_reference: str = "",
    email: str = "an@example.nl",
    first_name: str = "An",
    last_name: str = "de Vries",
    customer_type: str = "consumer",
    company_name: str | None = None,
    vat_number: str | None = None,
    country: str = "NL",
    postal_code: str = "3511 AB",
) -> dict:
    return {
        "external_reference": reference or f"T-{next(_refs)}",
        "customer": {
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "phone": "",
            "type": customer_type,
            "company_name": company_name,
            "vat_number": vat_number,
        },
        "billing_address": {
            "street": "Oudegracht",
            "house_number": "12",
            "house_number_addition": "A",
            "postal_code": postal_code,
            "city": "Utrecht",
            "country": country,
        },
        "shipping_address": None,
        "lines": [
            {
                "sku": line["sku"],
                "quantity": line.get("quantity", 1),
                "unit_price": Decimal(str(line.get("unit_price", "10.00"))),
                "discount": Decimal(str(line.get("discount", "0.00"))),
            }
            for line in lines
        ],
        "shipping_cost": Decimal(shipping),
        "payment": {"method": method, "provider": provider, "provider_reference": provider_reference},
    }


def place(channel, actor=None, **kwargs) -> Order:
    """An order through the real intake (as the API would after validation)."""
    result = order_intake(channel=channel, payload=order_payload(**kwargs), actor=actor)
    return Order.objects.get(pk=result.order.pk)


def ship(order: Order, quantities: dict[str, int] | None = None, actor=None, carrier: str = "postnl"):
    """Ship `quantities` per SKU (default: everything still to ship) from the order's
    fulfilment(s). Returns the shipments made."""
    shipments = []
    for fulfilment in order.fulfilments.prefetch_related("lines__order_line"):
        lines = []
        for f_line in fulfilment.lines.all():
            sku = f_line.order_line.sku
            left = f_line.quantity - f_line.quantity_shipped
            wanted = left if quantities is None else min(left, quantities.get(sku, 0))
            if wanted > 0:
                lines.append({"sku": sku, "quantity": wanted})
        if lines:
            shipment, _created = shipment_create(
                fulfilment_id=fulfilment.pk,
                carrier=carrier,
                tracking_code=f"3STEST{next(_tracking):07d}",
                lines=lines,
                actor=actor,
            )
            shipments.append(shipment)
    return shipments


def camt(entries: list[dict], *, statement_id: str = "S1", account: str = "NL91ABNA0417164300") -> bytes:
    """A camt.053.001.02 statement with one booked entry per dict: amount (positive =
    money in), reference (betalingskenmerk, structured), text (free text), name, iban,
    end_to_end_id, bank_reference, booking_date (YYYY-MM-DD)."""
    return camt053_document(
        [
            StatementEntry(
                amount=Decimal(str(entry["amount"])),
                reference=entry.get("reference", ""),
                text=entry.get("text", ""),
                name=entry.get("name", "A. Klant"),
                iban=entry.get("iban", "NL02ABNA0123456789"),
                end_to_end_id=entry.get("end_to_end_id", "NOTPROVIDED"),
                bank_reference=entry.get("bank_reference", ""),
                booking_date=datetime.date.fromisoformat(entry["booking_date"]) if entry.get("booking_date") else None,
            )
            for entry in entries
        ],
        statement_id=statement_id,
        account=account,
    )
