"""Realistic order posts for the intake measurements: SKUs that have stock (topped up
through the stock ledger when a run would need more than is there), existing and new
customers, Dutch addresses, the contract's body."""

import datetime
import json
import random
from decimal import Decimal
from pathlib import Path

from django.db import connection
from django.utils import timezone

from bench.dataset.reference import FIRST_NAMES, LAST_NAMES
from bench.dataset.timeline import random_address

PAYMENT_METHODS = (
    ("ideal", "mollie", 70),
    ("bank_transfer", "", 10),
    ("pay_later", "mollie", 15),
    ("card", "mollie", 5),
)


def skus_with_stock(*, channel_code: str, count: int, storage_kinds=("normal", "hanging"), rng=None) -> list[tuple]:
    """(sku, price, stock ids) of up to `count` active products with stock to sell, at
    random, from the default price list."""
    rng = rng or random.Random(1)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.sku, pr.gross_amount, array_agg(s.id ORDER BY l.priority)
            FROM catalog_product p
            JOIN catalog_price pr ON pr.product_id = p.id AND pr.valid_until IS NULL
            JOIN catalog_pricelist pl ON pl.id = pr.price_list_id AND pl.channel_id IS NULL
            JOIN inventory_stock s ON s.product_id = p.id
            JOIN inventory_location l ON l.id = s.location_id AND l.is_active
            WHERE p.is_active AND p.storage_kind = ANY(%s)
            GROUP BY p.sku, pr.gross_amount
            """,
            [list(storage_kinds)],
        )
        rows = cursor.fetchall()
    rng.shuffle(rows)
    return rows[:count]


def stock_top_up(*, demand: dict[str, int], reference: str) -> int:
    """Receive stock (through the ledger service) where what is available would not cover
    `demand` {sku: quantity} plus a margin; returns the rows topped up."""
    from inventory.models import Stock, StockMovement
    from inventory.services.ledger import StockChange, stock_book

    changes = []
    rows = (
        Stock.objects.filter(product__sku__in=list(demand), location__is_active=True)
        .select_related("product", "location")
        .order_by("product_id", "location__priority")
    )
    seen = set()
    for stock in rows:
        if stock.product.sku in seen:
            continue  # the preferred location takes the demand
        seen.add(stock.product.sku)
        needed = demand[stock.product.sku] + 20 - stock.available
        if needed > 0:
            changes.append(StockChange(stock.pk, StockMovement.Kind.RECEIPT, on_hand_delta=needed + 50))
    if changes:
        stock_book(changes=changes, reference=reference[:120], reason="benchmark: stock for the intake run")
    return len(changes)


def existing_customers(*, channel_code: str, count: int, rng: random.Random) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.email, c.first_name, c.last_name, c.phone, a.street, a.house_number, a.house_number_addition,
                   a.postal_code, a.city, a.country
            FROM customers_customer c
            JOIN core_saleschannel ch ON ch.id = c.channel_id AND ch.code = %s
            JOIN customers_address a ON a.customer_id = c.id
            WHERE NOT c.is_blocked AND c.type = 'consumer'
            ORDER BY random() LIMIT %s
            """,
            [channel_code, count],
        )
        rows = cursor.fetchall()
    return [
        {
            "customer": {"email": r[0], "first_name": r[1], "last_name": r[2], "phone": r[3]},
            "address": dict(
                zip(
                    ("street", "house_number", "house_number_addition", "postal_code", "city", "country"),
                    r[4:],
                    strict=True,
                )
            ),
        }
        for r in rows
    ]


def _new_customer(rng: random.Random, run_id: str, index: int) -> dict:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    street, number, addition, postcode, city, country = random_address(rng)
    return {
        "customer": {
            "email": f"bench.{run_id}.{index}@example.nl",
            "first_name": first,
            "last_name": last,
            "phone": f"+316{rng.randint(10_000_000, 99_999_999)}",
        },
        "address": {
            "street": street,
            "house_number": number,
            "house_number_addition": addition,
            "postal_code": postcode,
            "city": city,
            "country": country,
        },
    }


def order_body(
    *, reference: str, who: dict, lines: list[dict], method: tuple, placed_at: datetime.datetime, rng: random.Random
) -> dict:
    goods = sum(Decimal(line["unit_price"]) * line["quantity"] for line in lines)
    address = who["address"]
    return {
        "external_reference": reference,
        "placed_at": placed_at.isoformat(timespec="seconds"),
        "customer": {**who["customer"], "type": "consumer", "company_name": None, "vat_number": None},
        "billing_address": {**address, "house_number_addition": address.get("house_number_addition") or None},
        "shipping_address": None,
        "lines": lines,
        "shipping_cost": "0.00" if goods >= 50 else "4.95",
        "payment": {
            "method": method[0],
            "provider": method[1] or None,
            "provider_reference": f"tr_{rng.getrandbits(40):010x}" if method[1] else None,
        },
    }


def intake_bodies(
    *, run_id: str, count: int, lines_per_order: int = 3, channel_code: str = "webshop-nl", seed: int = 7
) -> tuple[list[dict], dict[str, int]]:
    """`count` distinct 3-line order posts (half from returning customers) and the stock
    they need per SKU."""
    rng = random.Random(seed)
    products = skus_with_stock(channel_code=channel_code, count=max(30, min(2000, count)), rng=rng)
    if len(products) < lines_per_order:
        raise RuntimeError("not enough products with stock in the data set")
    returning = existing_customers(channel_code=channel_code, count=max(1, count // 2), rng=rng)
    now = timezone.now()
    bodies, demand = [], {}
    for i in range(count):
        who = returning[i // 2 % len(returning)] if (i % 2 == 0 and returning) else _new_customer(rng, run_id, i)
        chosen = rng.sample(products, lines_per_order)
        lines = []
        for sku, price, _stock in chosen:
            quantity = 1 if rng.random() < 0.8 else 2
            lines.append({"sku": sku, "quantity": quantity, "unit_price": f"{price:.2f}", "discount": "0.00"})
            demand[sku] = demand.get(sku, 0) + quantity
        method = rng.choices(PAYMENT_METHODS, [w for *_, w in PAYMENT_METHODS])[0]
        bodies.append(
            order_body(
                reference=f"BENCH-{run_id}-{i:06d}",
                who=who,
                lines=lines,
                method=method[:2],
                placed_at=now - datetime.timedelta(seconds=30),
                rng=rng,
            )
        )
    return bodies, demand


def write_jsonl(path: Path, bodies: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        for body in bodies:
            handle.write(json.dumps(body, separators=(",", ":"), ensure_ascii=False) + "\n")
    return path
