"""Demo catalog: about 200 products over clothing (coats and dresses hang, t-shirts lie
flat), electronics and jewellery (secure), books and delicatessen (reduced VAT, the
delicatessen cooled) and furniture (bulky); sizes and colours are SKUs grouped under
product models. Default prices for every channel, a price list per demo channel with
its own prices for some products, and two promotions. Idempotent: keyed on codes and
SKUs, and a product that has a price in a list keeps it."""

import datetime
from decimal import Decimal

from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from catalog.gtin import gtin_with_check_digit
from catalog.models import Brand, Category, Price, PriceList, Product, ProductModel, Promotion, VatClass
from catalog.services.prices import price_list_for_channel_ensure, prices_set
from core.audit import acting_as
from core.models import SalesChannel
from inventory.models import StorageKind

CATEGORIES = [
    # code, Dutch, English, parent
    ("kleding", "Kleding", "Clothing", None),
    ("jassen", "Jassen", "Coats", "kleding"),
    ("jurken", "Jurken", "Dresses", "kleding"),
    ("t-shirts", "T-shirts", "T-shirts", "kleding"),
    ("elektronica", "Elektronica", "Electronics", None),
    ("sieraden", "Sieraden", "Jewellery", None),
    ("boeken", "Boeken", "Books", None),
    ("delicatessen", "Delicatessen", "Delicatessen", None),
    ("meubels", "Meubels", "Furniture", None),
]

SIZES = ["S", "M", "L", "XL"]

# model code, name, brand, category, colours, price, cost, storage, weight
CLOTHING = [
    ("JAS-PARKA", "Parka Noorderlicht", "Noordkaap", "jassen", ["zwart", "groen"], "189.95", "74.00", 1400),
    ("JAS-TRENCH", "Trenchcoat Amstel", "Grachtengoed", "jassen", ["beige", "marine"], "229.00", "88.00", 1100),
    ("JAS-PUFFER", "Gewatteerde jas Wadden", "Noordkaap", "jassen", ["rood", "zwart"], "149.95", "55.00", 900),
    ("JAS-WOL", "Wollen jas Veluwe", "Grachtengoed", "jassen", ["grijs", "camel"], "259.00", "99.00", 1600),
    ("JURK-ZOMER", "Zomerjurk Zandvoort", "Lente & Co", "jurken", ["geel", "blauw"], "69.95", "21.00", 350),
    ("JURK-AVOND", "Avondjurk Concertgebouw", "Lente & Co", "jurken", ["zwart", "bordeaux"], "139.00", "48.00", 500),
    ("JURK-MIDI", "Midi-jurk Vondel", "Grachtengoed", "jurken", ["groen", "roze"], "89.95", "29.00", 420),
]
TSHIRTS = [
    ("TS-BASIC", "T-shirt Basis", "Polderwear", ["wit", "zwart", "rood"], "19.95", "4.80"),
    ("TS-PRINT", "T-shirt Molen", "Polderwear", ["wit", "blauw", "grijs"], "24.95", "6.10"),
    ("TS-BIO", "Biologisch T-shirt", "Groen Garen", ["ecru", "olijf", "zwart"], "29.95", "8.40"),
    ("TS-LONG", "Longsleeve Duin", "Groen Garen", ["wit", "marine", "zand"], "34.95", "9.90"),
    ("TS-SPORT", "Sportshirt Sprint", "Polderwear", ["zwart", "oranje", "blauw"], "27.95", "7.30"),
]
# sku, name, brand, price, cost, weight
ELECTRONICS = [
    ("EL-PHONE-128", "Smartphone Delta 128 GB", "Deltatech", "649.00", "480.00", 190),
    ("EL-PHONE-256", "Smartphone Delta 256 GB", "Deltatech", "749.00", "550.00", 190),
    ("EL-TAB-11", "Tablet Zeeland 11 inch", "Deltatech", "499.00", "350.00", 480),
    ("EL-LAPTOP-14", "Laptop Hollandia 14 inch", "Hollandia", "1099.00", "820.00", 1400),
    ("EL-LAPTOP-16", "Laptop Hollandia 16 inch", "Hollandia", "1399.00", "1050.00", 2100),
    ("EL-HEAD-NC", "Koptelefoon Stilte NC", "Klankkast", "299.00", "170.00", 260),
    ("EL-EAR-PRO", "Oordopjes Klank Pro", "Klankkast", "199.00", "105.00", 60),
    ("EL-WATCH-S", "Smartwatch Tijd S", "Deltatech", "349.00", "220.00", 45),
    ("EL-WATCH-L", "Smartwatch Tijd L", "Deltatech", "379.00", "240.00", 52),
    ("EL-CAM-MIR", "Systeemcamera Spiegel", "Lenzenhuis", "899.00", "640.00", 650),
    ("EL-LENS-50", "Objectief 50 mm f/1.8", "Lenzenhuis", "249.00", "150.00", 190),
    ("EL-SPEAK-BT", "Bluetooth-speaker Storm", "Klankkast", "129.00", "62.00", 700),
]
JEWELLERY = [
    ("SR-RING-GOUD", "Gouden ring Eeuwig", "Edelsmid Fries", "495.00", "260.00", 8),
    ("SR-RING-ZILV", "Zilveren ring Golf", "Edelsmid Fries", "89.00", "31.00", 6),
    ("SR-KET-GOUD", "Gouden ketting Schakel", "Edelsmid Fries", "799.00", "430.00", 12),
    ("SR-KET-PAREL", "Parelketting Noordzee", "Parelhuis", "349.00", "160.00", 30),
    ("SR-ORB-DIAM", "Oorbellen diamant 0,2 ct", "Parelhuis", "1250.00", "720.00", 4),
    ("SR-ORB-ZILV", "Zilveren oorknopjes", "Parelhuis", "59.00", "19.00", 3),
    ("SR-ARMB-GOUD", "Gouden armband Rivier", "Edelsmid Fries", "649.00", "350.00", 14),
    ("SR-ARMB-LEER", "Leren armband Zeil", "Parelhuis", "39.95", "11.00", 20),
    ("SR-HORL-AUTO", "Automatisch horloge Getij", "Uurwerk NL", "1495.00", "900.00", 140),
    ("SR-HORL-KWAR", "Kwartshorloge Eb", "Uurwerk NL", "249.00", "120.00", 110),
    ("SR-BROCHE", "Broche Tulp", "Edelsmid Fries", "129.00", "52.00", 10),
    ("SR-MANCHET", "Manchetknopen Anker", "Uurwerk NL", "99.00", "38.00", 25),
]
BOOK_TITLES = [
    "De Grachten van Amsterdam",
    "Koken met Seizoenen",
    "Fietsen door Nederland",
    "De Geschiedenis van de VOC",
    "Tuinieren op een Balkon",
    "Het Waddenboek",
    "Leren Programmeren",
    "Nederlandse Schilders",
    "Wandelen in Limburg",
    "De Kunst van Brood",
    "Molens en Polders",
    "Sterrenkijken voor Beginners",
    "Vogels van de Lage Landen",
    "Het Kinderkookboek",
    "Fotografie in de Praktijk",
    "Zeilen op het IJsselmeer",
    "De Delta Werken",
    "Thuiswerken met Plezier",
    "Kaas Maken",
    "Verhalen uit Friesland",
    "Architectuur van Rotterdam",
    "Tulpenkoorts",
    "De Zee Voorbij",
    "Klimaat en Water",
    "Puzzels voor Lange Avonden",
    "Het Grote Bordspelboek",
    "Nederlands voor Nieuwkomers",
    "Mindfulness in de Polder",
    "Reisgids Zeeland",
    "Reisgids Groningen",
]
DELICATESSEN = [
    ("DL-KAAS-OUD", "Oude Goudse kaas 500 g", "Kaasboerderij Vos", "12.95", "6.20", 520),
    ("DL-KAAS-GEIT", "Geitenkaas met honing 300 g", "Kaasboerderij Vos", "8.95", "4.10", 320),
    ("DL-HARING", "Hollandse nieuwe (4 stuks)", "Vishandel Scheveningen", "11.50", "5.80", 400),
    ("DL-PALING", "Gerookte paling 250 g", "Vishandel Scheveningen", "16.95", "9.10", 270),
    ("DL-BOTER", "Roomboter ambachtelijk 250 g", "Zuivelhoeve", "4.25", "1.90", 260),
    ("DL-YOGH", "Griekse yoghurt 1 kg", "Zuivelhoeve", "5.45", "2.30", 1030),
    ("DL-SLAGR", "Slagroomtaart klein", "Banketbakker Jansen", "18.95", "8.40", 800),
    ("DL-STROOP", "Verse stroopwafels (10)", "Banketbakker Jansen", "6.95", "2.60", 400),
    ("DL-WORST", "Gelderse rookworst", "Slagerij De Haan", "5.95", "2.50", 300),
    ("DL-PATE", "Paté van het huis 200 g", "Slagerij De Haan", "7.25", "3.10", 220),
    ("DL-SOEP", "Verse erwtensoep 1 l", "Slagerij De Haan", "6.50", "2.70", 1050),
    ("DL-SALADE", "Huzarensalade 500 g", "Zuivelhoeve", "4.95", "1.95", 510),
]
FURNITURE = [
    ("MB-BANK-3", "Driezitsbank Loosdrecht", "Meubelmakerij Ter Horst", "899.00", "420.00", 58000),
    ("MB-STOEL", "Eetkamerstoel Eik (2 stuks)", "Meubelmakerij Ter Horst", "249.00", "110.00", 14000),
    ("MB-TAFEL", "Eettafel Eik 200 cm", "Meubelmakerij Ter Horst", "1195.00", "560.00", 62000),
    ("MB-KAST", "Boekenkast Grachtenpand", "Houtwerk Noord", "449.00", "190.00", 41000),
    ("MB-BED-160", "Bed Slaapwel 160x200", "Houtwerk Noord", "699.00", "300.00", 70000),
    ("MB-DRESS", "Dressoir Vintage", "Houtwerk Noord", "549.00", "240.00", 45000),
    ("MB-BUREAU", "Bureau Thuiswerk", "Houtwerk Noord", "329.00", "140.00", 32000),
    ("MB-FAUT", "Fauteuil Leeshoek", "Meubelmakerij Ter Horst", "499.00", "210.00", 22000),
    ("MB-SALON", "Salontafel Rond", "Houtwerk Noord", "199.00", "80.00", 15000),
    ("MB-KAPST", "Kapstok Gang", "Houtwerk Noord", "89.00", "32.00", 7000),
]

LEGAL_GUARANTEE = (
    "Naast de fabrieksgarantie heeft u altijd recht op een deugdelijk product (conformiteit, art. 7:17 BW): "
    "zo lang als u van een product van deze soort mag verwachten."
)


def _ean(n: int) -> str:
    return gtin_with_check_digit(f"8712345{n:05d}")


def demo_products() -> list[dict]:
    """Every demo product as field values (model code and names included), in a fixed order."""
    products = []

    def add(**values):
        values.setdefault("legal_guarantee_note", LEGAL_GUARANTEE)
        values["ean"] = _ean(len(products) + 1)
        products.append(values)

    for code, name, brand, category, colours, price, cost, weight in CLOTHING:
        for colour in colours:
            for size in SIZES:
                add(
                    sku=f"{code}-{colour[:3].upper()}-{size}",
                    name_nl=f"{name} {colour} {size}",
                    name_en=f"{name} {colour} {size}",
                    model=(code, name, brand, category),
                    size=size,
                    colour=colour,
                    brand=brand,
                    category=category,
                    vat_class=VatClass.STANDARD,
                    storage_kind=StorageKind.HANGING,
                    price=price,
                    cost_price=cost,
                    weight_grams=weight,
                    warranty_months=0,
                )
    for code, name, brand, colours, price, cost in TSHIRTS:
        for colour in colours:
            for size in SIZES:
                add(
                    sku=f"{code}-{colour[:3].upper()}-{size}",
                    name_nl=f"{name} {colour} {size}",
                    name_en=f"{name} {colour} {size}",
                    model=(code, name, brand, "t-shirts"),
                    size=size,
                    colour=colour,
                    brand=brand,
                    category="t-shirts",
                    vat_class=VatClass.STANDARD,
                    storage_kind=StorageKind.NORMAL,
                    price=price,
                    cost_price=cost,
                    weight_grams=180,
                    warranty_months=0,
                )
    for rows, category, warranty in ((ELECTRONICS, "elektronica", 24), (JEWELLERY, "sieraden", 12)):
        for sku, name, brand, price, cost, weight in rows:
            add(
                sku=sku,
                name_nl=name,
                name_en=name,
                brand=brand,
                category=category,
                vat_class=VatClass.STANDARD,
                storage_kind=StorageKind.SECURE,
                price=price,
                cost_price=cost,
                weight_grams=weight,
                warranty_months=warranty,
                warranty_claim="Via de klantenservice: wij sturen het product namens u naar de fabrikant.",
            )
    for n, title in enumerate(BOOK_TITLES, start=1):
        add(
            sku=f"BK-{n:04d}",
            name_nl=title,
            name_en=title,
            brand="Uitgeverij Dijkstra" if n % 2 else "Uitgeverij Polder",
            category="boeken",
            vat_class=VatClass.REDUCED,
            storage_kind=StorageKind.NORMAL,
            price=f"{14 + n % 12}.{'95' if n % 3 else '50'}",
            cost_price=f"{6 + n % 5}.00",
            weight_grams=300 + (n * 37) % 500,
            warranty_months=0,
        )
    for sku, name, brand, price, cost, weight in DELICATESSEN:
        add(
            sku=sku,
            name_nl=name,
            name_en=name,
            brand=brand,
            category="delicatessen",
            vat_class=VatClass.REDUCED,
            storage_kind=StorageKind.COOLED,
            price=price,
            cost_price=cost,
            weight_grams=weight,
            warranty_months=0,
        )
    for sku, name, brand, price, cost, weight in FURNITURE:
        add(
            sku=sku,
            name_nl=name,
            name_en=name,
            brand=brand,
            category="meubels",
            vat_class=VatClass.STANDARD,
            storage_kind=StorageKind.BULKY,
            price=price,
            cost_price=cost,
            weight_grams=weight,
            warranty_months=24,
            warranty_claim="Neem contact op met de klantenservice met een foto van het gebrek.",
        )
    return products


def _seed_categories() -> dict[str, Category]:
    categories = {c.code: c for c in Category.objects.filter(code__in=[row[0] for row in CATEGORIES])}
    for code, name_nl, name_en, parent in CATEGORIES:
        if code not in categories:
            categories[code] = Category.objects.create(
                code=code, name_nl=name_nl, name_en=name_en, parent=categories.get(parent)
            )
    return categories


def seed_products(ctx) -> None:
    with acting_as(None, "demo"):
        _seed_products(ctx)


def _seed_products(ctx) -> None:
    rows = demo_products()
    categories = _seed_categories()
    brand_names = sorted({row["brand"] for row in rows})
    brands = {b.name: b for b in Brand.objects.filter(name__in=brand_names)}
    for name in brand_names:
        if name not in brands:
            brands[name] = Brand.objects.create(name=name)
    models = {m.code: m for m in ProductModel.objects.all()}
    for row in rows:
        if "model" in row and row["model"][0] not in models:
            code, name, brand, category = row["model"]
            models[code] = ProductModel.objects.create(
                code=code, name=name, brand=brands[brand], category=categories[category]
            )
    existing = set(Product.objects.filter(sku__in=[r["sku"] for r in rows]).values_list("sku", flat=True))
    new = [
        Product(
            sku=row["sku"],
            ean=row["ean"],
            name_nl=row["name_nl"],
            name_en=row["name_en"],
            brand=brands[row["brand"]],
            category=categories[row["category"]],
            product_model=models[row["model"][0]] if "model" in row else None,
            size=row.get("size", ""),
            colour=row.get("colour", ""),
            vat_class=row["vat_class"],
            storage_kind=row["storage_kind"],
            weight_grams=row["weight_grams"],
            cost_price=Decimal(row["cost_price"]),
            warranty_months=row["warranty_months"],
            warranty_claim=row.get("warranty_claim", ""),
            legal_guarantee_note=row["legal_guarantee_note"],
        )
        for row in rows
        if row["sku"] not in existing
    ]
    if new:
        bulk_create_with_history(new, Product, batch_size=500, custom_historical_attrs={"history_actor": "demo"})
    ids = dict(Product.objects.filter(sku__in=[r["sku"] for r in rows]).values_list("sku", "pk"))
    _seed_prices(rows, ids)
    _seed_promotions(categories)
    ctx.report.append(f"products: {Product.objects.count()}")


def _missing_prices(price_list: PriceList, wanted: dict[int, Decimal]) -> dict[int, Decimal]:
    priced = set(
        Price.objects.filter(price_list=price_list, product_id__in=wanted).values_list("product_id", flat=True)
    )
    return {product_id: amount for product_id, amount in wanted.items() if product_id not in priced}


def _seed_prices(rows: list[dict], ids: dict[str, int]) -> None:
    default = PriceList.objects.get(channel__isnull=True)
    wanted = {ids[r["sku"]]: Decimal(r["price"]) for r in rows}
    prices_set(price_list_id=default.pk, prices=_missing_prices(default, wanted))
    # the shop in Utrecht rounds clothing to whole euros; the webshop sells books a little cheaper
    channels = {c.code: c for c in SalesChannel.objects.filter(code__in=["webshop-nl", "store-utrecht"])}
    if "store-utrecht" in channels:
        store = price_list_for_channel_ensure(channel=channels["store-utrecht"])
        store_prices = {
            ids[r["sku"]]: Decimal(r["price"]).quantize(Decimal("1")) - Decimal("0.01")
            for r in rows
            if r["category"] in ("jassen", "jurken", "t-shirts")
        }
        prices_set(price_list_id=store.pk, prices=_missing_prices(store, store_prices))
    if "webshop-nl" in channels:
        web = price_list_for_channel_ensure(channel=channels["webshop-nl"])
        web_prices = {
            ids[r["sku"]]: (Decimal(r["price"]) * Decimal("0.95")).quantize(Decimal("0.01"))
            for r in rows
            if r["category"] == "boeken"
        }
        prices_set(price_list_id=web.pk, prices=_missing_prices(web, web_prices))


def _seed_promotions(categories: dict[str, Category]) -> None:
    if Promotion.objects.filter(code__in=["winter-jassen", "tientje-korting"]).count() == 2:
        return
    start = datetime.datetime(timezone.localdate().year, 1, 1, tzinfo=timezone.get_current_timezone())
    webshop = SalesChannel.objects.filter(code="webshop-nl").first()
    if not Promotion.objects.filter(code="winter-jassen").exists():
        promotion = Promotion.objects.create(
            code="winter-jassen",
            name="Winteractie: 20% op jassen",
            kind=Promotion.Kind.PERCENTAGE,
            percentage=Decimal("20"),
            scope=Promotion.Scope.CATEGORIES,
            channel=webshop,
            valid_from=start,
        )
        promotion.categories.set([categories["jassen"]])
    if not Promotion.objects.filter(code="tientje-korting").exists():
        Promotion.objects.create(
            code="tientje-korting",
            name="€ 10 korting vanaf € 100",
            kind=Promotion.Kind.AMOUNT,
            discount_amount=Decimal("10.00"),
            min_order_amount=Decimal("100.00"),
            scope=Promotion.Scope.ORDER,
            valid_from=start,
        )
