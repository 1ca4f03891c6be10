import factory

from catalog.gtin import gtin_with_check_digit
from catalog.models import Category, Product, VatClass
from inventory.models import StorageKind


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"cat-{n}")
    name_nl = factory.LazyAttribute(lambda c: f"Categorie {c.code}")
    name_en = factory.LazyAttribute(lambda c: f"Category {c.code}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    ean = factory.Sequence(lambda n: gtin_with_check_digit(f"871{n:09d}"))
    name_nl = factory.LazyAttribute(lambda p: f"Product {p.sku}")
    name_en = factory.LazyAttribute(lambda p: f"Product {p.sku}")
    category = factory.SubFactory(CategoryFactory)
    vat_class = VatClass.STANDARD
    weight_grams = 500
    storage_kind = StorageKind.NORMAL


def default_price_list():
    from catalog.models import PriceList

    return PriceList.objects.get(channel__isnull=True)


def channel_price_list(channel):
    from catalog.services.prices import price_list_for_channel_ensure

    return price_list_for_channel_ensure(channel=channel)


def priced_product(price: str = "19.95", **kwargs):
    """A product with a default price (set through the price service)."""
    from decimal import Decimal

    from catalog.services.prices import price_set

    product = ProductFactory(**kwargs)
    price_set(price_list_id=default_price_list().pk, product_id=product.pk, gross_amount=Decimal(price))
    return product
