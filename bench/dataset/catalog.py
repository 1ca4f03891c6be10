"""Steps: sales channels and locations, then the catalog (categories, brands, products,
prices in the default list) and a stock row per product per location that handles it."""

import datetime
import random

from bench.dataset.base import (
    FALSE,
    TRUE,
    GenContext,
    fmt_cents,
    fmt_text,
    fmt_ts,
    generator_step,
)
from bench.dataset.reference import BRANDS, CATEGORIES, CATEGORY_WEIGHTS, COLOURS, NOUNS, SIZES

PRODUCTS = 20_000

# code, name, prefix, kind, share of the orders, cut-off
CHANNELS = (
    ("webshop-nl", "Webshop NL", "WEB", "webshop", 0.80, datetime.time(22, 0)),
    ("bol-com", "Marketplace bol.com", "BOL", "marketplace", 0.15, datetime.time(20, 0)),
    ("winkel-utrecht", "Winkel Utrecht", "UTW", "store", 0.05, datetime.time(18, 0)),
)
# code, name, kind, storage kinds, priority, cut-off
LOCATIONS = (
    ("UTR", "Magazijn Utrecht", "warehouse", ("normal", "bulky"), 10, datetime.time(22, 0)),
    ("HNG", "Fulfilment Tilburg (hangend)", "fulfilment_centre", ("hanging", "normal"), 20, datetime.time(18, 0)),
    ("SEC", "Kluis Amsterdam", "warehouse", ("secure",), 30, datetime.time(16, 0)),
)


def gtin13(number: int) -> str:
    from catalog.gtin import gtin_with_check_digit

    return gtin_with_check_digit(f"87{number:010d}")


def _price_cents(rng: random.Random, low: int, high: int) -> int:
    euros = int(low + (high - low) * rng.random() ** 2)
    return euros * 100 + rng.choice((95, 99, 0, 50))


@generator_step("channels_locations")
def channels_and_locations(ctx: GenContext) -> None:
    from core.models import SalesChannel
    from inventory.models import Location

    channels = []
    for code, name, prefix, kind, share, cutoff in CHANNELS:
        channel, _ = SalesChannel.objects.get_or_create(
            code=code,
            defaults={"name": name, "order_number_prefix": prefix, "kind": kind, "cutoff_time": cutoff},
        )
        channels.append((channel, share))
    locations = []
    for code, name, kind, kinds, priority, cutoff in LOCATIONS:
        location, _ = Location.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "storage_kinds": list(kinds),
                "priority": priority,
                "cutoff_time": cutoff,
                "city": "Utrecht",
                "country": "NL",
            },
        )
        locations.append(location)
    ctx.state["channels"] = channels
    ctx.state["locations"] = locations


@generator_step("catalog", bulk_tables=("catalog.Product", "catalog.Price", "inventory.Stock"))
def catalog(ctx: GenContext) -> None:
    from catalog.models import Brand, Category, Price, PriceList, Product
    from inventory.models import Stock

    rng = random.Random(ctx.seed * 31 + 1)
    start = ctx.now - 400 * 86400
    categories = {}
    for code, name, *_ in CATEGORIES:
        categories[code], _ = Category.objects.get_or_create(code=code, defaults={"name_nl": name, "name_en": name})
    brand_ids = [Brand.objects.get_or_create(name=name)[0].pk for name in BRANDS]
    price_list = PriceList.objects.get(code="default")

    n = ctx.count(PRODUCTS, minimum=30)
    first_id = ctx.ids(Product, n)
    products = ctx.table(
        Product,
        (
            "id created_at updated_at sku ean name_nl name_en brand_id category_id size colour vat_class "
            "weight_grams storage_kind cost_price warranty_months is_active"
        ).split(),
    )
    prices = ctx.table(Price, ("id", "price_list_id", "product_id", "gross_amount", "valid_from", "created_at"))
    first_price = ctx.ids(Price, n)
    vat_divisor = {"standard": 1.21, "reduced": 1.09, "zero": 1.0}
    facts = []  # (id, sku, name, ean, storage kind, weight, vat class, price cents)
    for i in range(n):
        pid = first_id + i
        code, _name, vat_class, kinds, (w_low, w_high), (p_low, p_high) = rng.choices(CATEGORIES, CATEGORY_WEIGHTS)[0]
        storage = rng.choice(kinds)
        colour = rng.choice(COLOURS)
        size = rng.choice(SIZES) if code in ("kleding", "schoenen", "sport") else "ONE"
        brand = rng.choice(BRANDS)
        noun = rng.choice(NOUNS[code])
        sku = f"{code[:3].upper()}-{i:06d}-{colour[:3].upper()}-{size}"
        name = f"{brand} {noun} {colour.lower()}" + (f" maat {size}" if size != "ONE" else "")
        ean = gtin13(1_000_000 + pid)
        weight = rng.randint(w_low, w_high)
        price = _price_cents(rng, p_low, p_high)
        cost = int(price / vat_divisor[vat_class] * rng.uniform(0.35, 0.6))
        created = start + int(rng.random() * 30 * 86400)
        products.add(
            (
                str(pid),
                fmt_ts(created),
                fmt_ts(created),
                sku,
                ean,
                fmt_text(name),
                fmt_text(name),
                str(brand_ids[BRANDS.index(brand)]),
                str(categories[code].pk),
                size if size != "ONE" else "",
                colour,
                vat_class,
                str(weight),
                storage,
                fmt_cents(cost),
                str(24 if code == "elektronica" else 0),
                TRUE if rng.random() > 0.01 else FALSE,
            )
        )
        prices.add((str(first_price + i), str(price_list.pk), str(pid), fmt_cents(price), fmt_ts(start), fmt_ts(start)))
        facts.append((pid, sku, name, ean, storage, weight, vat_class, price))
    ctx.state["products"] = facts
    # popularity: a few products sell a lot, most a little (index into `facts`)
    popularity = list(range(n))
    rng.shuffle(popularity)
    ctx.state["popularity"] = popularity

    # stock: a row per product at every location that handles its storage kind
    locations = ctx.state["locations"]
    stock_table = ctx.table(
        Stock, ("id", "product_id", "location_id", "on_hand", "reserved", "safety_stock", "reorder_point", "updated_at")
    )
    handling = {
        kind: [loc for loc in locations if kind in loc.storage_kinds] for kind in ("normal", "hanging", "bulky")
    }
    handling["secure"] = [loc for loc in locations if "secure" in loc.storage_kinds]
    rows = [(p[0], loc) for p in facts for loc in handling[p[4]]]
    first_stock = ctx.ids(Stock, len(rows))
    stock_of: dict[tuple[int, int], int] = {}
    for offset, (pid, loc) in enumerate(rows):
        sid = first_stock + offset
        stock_of[(pid, loc.pk)] = sid
        stock_table.add(
            (
                str(sid),
                str(pid),
                str(loc.pk),
                "0",
                "0",
                str(rng.randint(0, 5)),
                str(rng.choice((0, 5, 10, 20))),
                fmt_ts(start),
            )
        )
    ctx.state["stock_of"] = stock_of
    ctx.state["stock_first_id"] = first_stock
    ctx.state["stock_count"] = len(rows)
    ctx.state["catalog_start"] = start
    ctx.flush()
