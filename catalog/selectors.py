"""Reads of the catalog shared by the API, the admin, the imports and other apps.

Prices: the consumer price (VAT included) of a product for a channel at a moment is the
price of the channel's own list valid then, else the price of the default list valid then
(`price_map` / `price_get`). VAT: the rate of a product's VAT class on the local date of
the moment (`vat_rates_at`).
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, DateTimeField, DecimalField, F, Max, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from catalog.models import Category, Price, PriceList, Product, VatClass, VatRate
from core.localcache import MISSING, LocalCache

DEFAULT_PRICE_LIST_CODE = "default"


def _moment(at: datetime.datetime | None) -> datetime.datetime:
    return at or timezone.now()


# --- VAT --------------------------------------------------------------------------------


def vat_rates_at(at: datetime.datetime | datetime.date | None = None) -> dict[str, Decimal]:
    """The VAT percentage of every VAT class on a day (one query)."""
    if at is None:
        day = timezone.localdate()
    elif isinstance(at, datetime.datetime):
        day = timezone.localdate(at)
    else:
        day = at
    cached = _vat_rates.get(day)
    if cached is not MISSING:
        return dict(cached)
    rates: dict[str, Decimal] = {}
    for vat_class, rate in (
        VatRate.objects.filter(valid_from__lte=day)
        .order_by("vat_class", "-valid_from")
        .values_list("vat_class", "rate")
    ):
        rates.setdefault(vat_class, rate)
    _vat_rates.set(day, dict(rates))
    return rates


# VAT rates per day, per process for a few seconds (core.localcache): read by every order.
_vat_rates = LocalCache("VAT rates")


def vat_rate_get(*, vat_class: str, at: datetime.datetime | datetime.date | None = None) -> Decimal | None:
    return vat_rates_at(at).get(vat_class)


def vat_class_for_rate(rate: Decimal, rates: dict[str, Decimal]) -> str | None:
    """The VAT class whose rate (in `rates`, from vat_rates_at) is `rate`."""
    for vat_class in VatClass.values:
        if vat_class in rates and rates[vat_class] == rate:
            return vat_class
    return None


def vat_rate_label(rate: Decimal | None) -> str | None:
    """ "21", "9", "0" — how the API and the imports write a rate."""
    if rate is None:
        return None
    return format(rate.normalize(), "f")


# --- price lists and prices ----------------------------------------------------------


def price_list_default() -> PriceList:
    return PriceList.objects.get(channel__isnull=True)


def price_list_for_channel(*, channel_id: int | None) -> PriceList | None:
    """The channel's own list (None if it has none); the default list for channel None."""
    if channel_id is None:
        return PriceList.objects.filter(channel__isnull=True).first()
    return PriceList.objects.filter(channel_id=channel_id).first()


def _valid_at(at: datetime.datetime, prefix: str = "") -> Q:
    return Q(**{f"{prefix}valid_from__lte": at}) & (
        Q(**{f"{prefix}valid_until__isnull": True}) | Q(**{f"{prefix}valid_until__gt": at})
    )


def price_map(
    *, product_ids: Iterable[int], channel_id: int | None, at: datetime.datetime | None = None
) -> dict[int, Decimal]:
    """The consumer price (incl. VAT) valid at `at` for a channel, per product, in one query.
    The channel's own list wins over the default list; products without any price are
    left out. channel_id None: the default list only."""
    moment = _moment(at)
    ids = set(product_ids)
    if not ids:
        return {}
    lists = Q(price_list__channel__isnull=True)
    if channel_id is not None:
        lists |= Q(price_list__channel_id=channel_id)
    result: dict[int, Decimal] = {}
    own: set[int] = set()
    for product_id, amount, list_channel in (
        Price.objects.filter(_valid_at(moment), lists, product_id__in=ids)
        .values_list("product_id", "gross_amount", "price_list__channel_id")
        .order_by()
    ):
        if list_channel is not None:
            result[product_id] = amount
            own.add(product_id)
        elif product_id not in own:
            result[product_id] = amount
    return result


def price_get(*, product_id: int, channel_id: int | None, at: datetime.datetime | None = None) -> Decimal | None:
    """THE price of a product for a channel at a moment (now by default), or None."""
    return price_map(product_ids=[product_id], channel_id=channel_id, at=at).get(product_id)


def _price_subquery(*, channel_id: int | None, at: datetime.datetime):
    qs = Price.objects.filter(_valid_at(at), product_id=OuterRef("pk"))
    qs = qs.filter(price_list__channel_id=channel_id) if channel_id else qs.filter(price_list__channel__isnull=True)
    return Subquery(qs.order_by("-valid_from").values("gross_amount")[:1])


def price_annotation(*, channel_id: int | None, at: datetime.datetime | None = None):
    """An expression for a Product queryset: the price valid at `at` for the channel."""
    moment = _moment(at)
    default = _price_subquery(channel_id=None, at=moment)
    if channel_id is None:
        return default
    return Coalesce(
        _price_subquery(channel_id=channel_id, at=moment),
        default,
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )


def price_changed_annotation(*, channel_id: int | None, at: datetime.datetime | None = None):
    """The last moment (not after `at`) at which a product's price for the channel changed:
    a price row was set, took effect or ended, in the channel's list or the default list."""
    moment = _moment(at)
    lists = Q(price_list__channel__isnull=True)
    if channel_id is not None:
        lists |= Q(price_list__channel_id=channel_id)
    # each row: the latest of its creation, its start (once reached) and its end (once reached)
    rows = (
        Price.objects.filter(lists, product_id=OuterRef("pk"), created_at__lte=moment)
        .annotate(
            event=Greatest(
                F("created_at"),
                _reached("valid_from", moment),
                _reached("valid_until", moment),
                output_field=DateTimeField(),
            )
        )
        .order_by()
        .values("product_id")
        .annotate(last=Max("event"))
        .values("last")
    )
    return Subquery(rows, output_field=DateTimeField())


def _reached(field: str, moment: datetime.datetime):
    """The moment in `field` once it has passed, else the row's creation (never null)."""
    return Case(When(**{f"{field}__lte": moment}, then=F(field)), default=F("created_at"), output_field=DateTimeField())


# --- products ------------------------------------------------------------------------


def product_list_for_sync(*, channel_id: int | None, at: datetime.datetime | None = None) -> QuerySet[Product]:
    """Products with `price` (for the channel, now) and `changed_at` (the later of the
    product's own change and its price change for the channel), for the sync API."""
    moment = _moment(at)
    return (
        Product.objects.select_related("brand", "category", "product_model")
        .annotate(
            price=price_annotation(channel_id=channel_id, at=moment),
            price_changed_at=price_changed_annotation(channel_id=channel_id, at=moment),
        )
        .annotate(
            changed_at=Greatest(
                F("updated_at"), Coalesce(F("price_changed_at"), F("updated_at")), output_field=DateTimeField()
            )
        )
    )


@dataclass(frozen=True)
class SaleTerms:
    """What an order line must snapshot of a product when it is sold."""

    product_id: int
    sku: str
    name: str
    ean: str
    unit_price: Decimal | None
    vat_class: str
    vat_rate: Decimal | None
    storage_kind: str
    weight_grams: int
    is_active: bool


def product_sale_terms(
    *, channel_id: int | None, skus: Iterable[str], at: datetime.datetime | None = None
) -> dict[str, SaleTerms]:
    """Per known SKU: name, price for the channel, VAT class and rate at the moment — what
    an order line stores, so no later change alters what a refund credits. Three queries
    however many SKUs."""
    moment = _moment(at)
    products = list(
        Product.objects.filter(sku__in=set(skus)).only(
            "pk", "sku", "name_nl", "ean", "vat_class", "storage_kind", "weight_grams", "is_active"
        )
    )
    prices = price_map(product_ids=[p.pk for p in products], channel_id=channel_id, at=moment)
    rates = vat_rates_at(moment)
    return {
        p.sku: SaleTerms(
            product_id=p.pk,
            sku=p.sku,
            name=p.name_nl,
            ean=p.ean,
            unit_price=prices.get(p.pk),
            vat_class=p.vat_class,
            vat_rate=rates.get(p.vat_class),
            storage_kind=p.storage_kind,
            weight_grams=p.weight_grams,
            is_active=p.is_active,
        )
        for p in products
    }


def category_ancestors() -> dict[int, list[int]]:
    """Per category id: itself and its ancestors, nearest first (one query)."""
    parents = dict(Category.objects.values_list("pk", "parent_id"))
    chains: dict[int, list[int]] = {}
    for category_id in parents:
        chain, current, seen = [], category_id, set()
        while current is not None and current not in seen:
            seen.add(current)
            chain.append(current)
            current = parents.get(current)
        chains[category_id] = chain
    return chains
