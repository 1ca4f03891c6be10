"""Demo orders, made through the same services as real ones (intake, clearing,
shipping), so every row is valid: stock reserved and shipped through the ledger, totals
to the cent, events written. Idempotent: an order whose external reference exists is
left alone."""

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from carriers.adapters.simulator import simulated_tracking_code
from catalog.models import Product
from core.models import SalesChannel
from customers.models import Customer
from inventory.models import Stock
from orders.models import Order
from orders.services.fulfilment import order_clear, shipment_create
from orders.services.intake import order_intake
from orders.states import FulfilmentStatus

DEMO_ORDERS = 60
METHODS = ["ideal", "ideal", "ideal", "card", "paypal", "bank_transfer", "pay_later", "pos"]
CARRIERS = ["postnl", "postnl", "dhl", "dpd", "gls"]


def _payload(rng: random.Random, index: int, customer: Customer, products: list[Product], placed_at) -> dict:
    address = customer.addresses.first()
    lines = []
    for product in rng.sample(products, k=rng.randint(1, 3)):
        price = Decimal(rng.choice(["9.95", "19.95", "24.99", "49.95", "79.00", "129.00"]))
        quantity = rng.randint(1, 2)
        discount = Decimal("2.00") if rng.random() < 0.2 else Decimal("0.00")
        lines.append({"sku": product.sku, "quantity": quantity, "unit_price": price, "discount": discount})
    method = METHODS[index % len(METHODS)] if customer.channel.kind != "store" else "pos"
    return {
        "external_reference": f"DEMO-{customer.channel.code}-{index:04d}",
        "placed_at": placed_at,
        "customer": {
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "phone": customer.phone,
            "type": customer.type,
            "company_name": customer.company_name,
            "vat_number": customer.vat_number,
        },
        "billing_address": {
            "street": address.street,
            "house_number": address.house_number,
            "house_number_addition": address.house_number_addition,
            "postal_code": address.postal_code,
            "city": address.city,
            "country": address.country,
        },
        "shipping_address": None,
        "lines": lines,
        "shipping_cost": Decimal("0.00") if method == "pos" else Decimal("4.95"),
        "payment": {
            "method": method,
            "provider": "mollie" if method in ("ideal", "card", "paypal") else "",
            "provider_reference": "",
        },
    }


def seed_orders(ctx) -> None:
    rng = random.Random(2026)
    products = list(
        Product.objects.filter(
            is_active=True, pk__in=Stock.objects.filter(on_hand__gt=5).values("product_id")
        ).order_by("sku")[:80]
    )
    if not products:
        ctx.report.append("demo orders: skipped (no products with stock)")
        return
    existing = set(
        Order.objects.filter(external_reference__startswith="DEMO-").values_list("external_reference", flat=True)
    )
    now = timezone.now()
    created = 0
    for channel in SalesChannel.objects.filter(code__in=["webshop-nl", "store-utrecht"]).order_by("code"):
        customers = list(Customer.objects.filter(channel=channel).prefetch_related("addresses").order_by("pk")[:40])
        count = DEMO_ORDERS if channel.kind != "store" else DEMO_ORDERS // 4
        for index in range(count):
            if not customers:
                break
            customer = customers[index % len(customers)]
            placed_at = now - datetime.timedelta(days=(count - index) % 20, hours=rng.randint(0, 9))
            payload = _payload(rng, index, customer, products, placed_at)
            if payload["external_reference"] in existing:
                continue
            order = order_intake(channel=channel, payload=payload).order
            created += 1
            _progress(rng, order)
    ctx.report.append(
        f"demo orders: {Order.objects.filter(external_reference__startswith='DEMO-').count()} ({created} new)"
    )


def _progress(rng: random.Random, order: Order) -> None:
    """Move a new demo order along its life: paid, and some shipped (in one or more
    parcels, with simulated tracking codes that the poller then follows)."""
    if order.cleared_at is None and order.payment_method in ("ideal", "card", "paypal") and rng.random() < 0.8:
        order_clear(order_id=order.pk, source="demo")
    order.refresh_from_db()
    if order.cleared_at is None or (order.hold_reasons and "backorder" not in order.hold_reasons):
        return
    if rng.random() < 0.45:
        return  # still in the warehouse's work list
    for fulfilment in order.fulfilments.filter(status=FulfilmentStatus.RELEASED).prefetch_related("lines__order_line"):
        lines = [{"sku": fl.order_line.sku, "quantity": fl.quantity} for fl in fulfilment.lines.all()]
        shipped_at = max(order.placed_at, timezone.now() - datetime.timedelta(days=rng.randint(0, 6)))
        shipment_create(
            fulfilment_id=fulfilment.pk,
            carrier=rng.choice(CARRIERS),
            tracking_code=simulated_tracking_code(shipped_at, seed=order.pk * 10 + fulfilment.pk),
            lines=lines,
            weight_grams=None,
        )
