import datetime

from inventory.models import InboundDelivery, Location, Stock, StockMovement, StorageKind

DEMO_LOCATIONS = [
    {
        "code": "UTR",
        "name": "Magazijn Utrecht",
        "kind": Location.Kind.WAREHOUSE,
        "storage_kinds": [StorageKind.NORMAL, StorageKind.BULKY, StorageKind.COOLED],
        "cutoff_time": datetime.time(17, 0),
        "priority": 10,
        "street": "Cartesiusweg",
        "house_number": "90",
        "postal_code": "3534 BD",
        "city": "Utrecht",
    },
    {
        "code": "HNG",
        "name": "Fashion Fulfilment Tilburg (hangende kleding)",
        "kind": Location.Kind.FULFILMENT_CENTRE,
        "storage_kinds": [StorageKind.HANGING, StorageKind.NORMAL],
        "cutoff_time": datetime.time(15, 0),
        "priority": 20,
        "street": "Kraaivenstraat",
        "house_number": "25",
        "postal_code": "5048 AB",
        "city": "Tilburg",
    },
    {
        "code": "SEC",
        "name": "Beveiligde kooi Utrecht",
        "kind": Location.Kind.WAREHOUSE,
        "storage_kinds": [StorageKind.SECURE],
        "cutoff_time": datetime.time(16, 0),
        "priority": 30,
        "street": "Cartesiusweg",
        "house_number": "92",
        "postal_code": "3534 BD",
        "city": "Utrecht",
    },
]


def seed_locations(ctx) -> None:
    for data in DEMO_LOCATIONS:
        if not Location.objects.filter(code=data["code"]).exists():
            Location.objects.create(**data)
    ctx.report.append(f"locations: {Location.objects.count()}")


# Where each storage kind lives in the demo: UTR takes normal, bulky and cooled goods,
# HNG the hanging garments (and a second stock of t-shirts), SEC the high-value goods.
HOME_BY_KIND = {
    StorageKind.NORMAL: "UTR",
    StorageKind.BULKY: "UTR",
    StorageKind.COOLED: "UTR",
    StorageKind.HANGING: "HNG",
    StorageKind.SECURE: "SEC",
}


def _quantity(n: int) -> int:
    """A spread of stock levels: mostly healthy, some low, a few sold out."""
    return [0, 2, 4, 25, 40, 12, 60, 8, 30, 18, 1, 50][n % 12]


def seed_stock(ctx) -> None:
    """Opening stock for the demo products (booked as receipts through the ledger),
    reorder points (some rows end up below theirs) and inbound deliveries for sold-out
    products. A product that has a stock row is left alone, so running it again changes
    nothing."""
    from django.utils import timezone

    from catalog.models import Product
    from core.audit import acting_as
    from inventory.services.inbound import inbound_delivery_create
    from inventory.services.ledger import stock_rows_ensure
    from inventory.services.stock import stock_book_inflow

    locations = {loc.code: loc for loc in Location.objects.filter(code__in=set(HOME_BY_KIND.values()))}
    code_of = {loc.pk: code for code, loc in locations.items()}
    products = list(
        Product.objects.filter(sku__regex=r"^(JAS|JURK|TS|EL|SR|BK|DL|MB)-")
        .order_by("sku")
        .only("pk", "sku", "storage_kind")
    )
    seeded = set(Stock.objects.filter(product__in=products).values_list("product_id", flat=True))
    items, thresholds, sold_out = [], {}, []
    for n, product in enumerate(products):
        if product.pk in seeded:
            continue
        home = locations[HOME_BY_KIND[product.storage_kind]]
        quantity = _quantity(n)
        thresholds[(product.pk, home.pk)] = (1, 2) if product.storage_kind == StorageKind.SECURE else (2, 5)
        if quantity:
            items.append((product.pk, home.pk, quantity))
        else:
            sold_out.append((product, home))
        if product.sku.startswith("TS-") and n % 2 == 0:
            thresholds[(product.pk, locations["HNG"].pk)] = (0, 0)
            items.append((product.pk, locations["HNG"].pk, 10 + n % 7))
    if not thresholds:
        ctx.report.append(f"stock rows: {Stock.objects.count()}")
        return
    with acting_as(None, "demo"):
        ids = stock_rows_ensure(thresholds)  # sold-out products get their (empty) row too
        if items:
            stock_book_inflow(items=items, kind=StockMovement.Kind.RECEIPT, reference="demo:opening-stock")
        rows = list(Stock.objects.filter(pk__in=ids.values()))
        for row in rows:
            row.safety_stock, row.reorder_point = thresholds[(row.product_id, row.location_id)]
        Stock.objects.bulk_update(rows, ["safety_stock", "reorder_point"])
        today = timezone.localdate()
        for index in range(0, len(sold_out), 4):
            by_location: dict[int, list[int]] = {}
            for product, home in sold_out[index : index + 4]:
                by_location.setdefault(home.pk, []).append(product.pk)
            for location_id, product_ids in by_location.items():
                reference = f"DEMO-IN-{index // 4 + 1:03d}-{code_of[location_id]}"
                if InboundDelivery.objects.filter(reference=reference).exists():
                    continue
                inbound_delivery_create(
                    reference=reference,
                    supplier="Demo Groothandel B.V.",
                    location_id=location_id,
                    expected_on=today + datetime.timedelta(days=3 + index // 4),
                    lines=[(product_id, 20) for product_id in product_ids],
                )
    ctx.report.append(f"stock rows: {Stock.objects.count()}, inbound deliveries: {InboundDelivery.objects.count()}")
