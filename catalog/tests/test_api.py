"""GET /api/v1/products/: the channel's prices, what changed since a moment (the product
or its price for this channel), filters, cursor pages with a constant query count."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from catalog.models import VatClass
from catalog.selectors import product_list_for_sync
from catalog.services.prices import price_set
from catalog.tests.factories import CategoryFactory, ProductFactory, channel_price_list, default_price_list
from core.tests.factories import UserFactory
from inventory.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db

URL = reverse("api:product-list")


def _set(product, amount, price_list=None, **kwargs):
    price_set(
        price_list_id=(price_list or default_price_list()).pk,
        product_id=product.pk,
        gross_amount=Decimal(amount),
        **kwargs,
    )


def _skus(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["sku"] for row in response.json()["results"]]


def test_a_channel_sees_its_own_prices(api_for, channel, other_channel):
    # given
    book = ProductFactory(sku="BOOK", vat_class=VatClass.REDUCED, weight_grams=420)
    _set(book, "20.00")
    _set(book, "18.00", channel_price_list(channel))
    # when
    ours = api_for(channel=channel).get(URL).json()["results"][0]
    theirs = api_for(channel=other_channel).get(URL).json()["results"][0]
    # then
    assert (ours["sku"], ours["price"], ours["vat_rate"], ours["storage"], ours["weight_grams"]) == (
        "BOOK",
        "18.00",
        "9",
        "normal",
        420,
    )
    assert theirs["price"] == "20.00"


def test_updated_since_returns_products_whose_price_for_this_channel_changed(api_for, channel, other_channel):
    # given: two products, unchanged since `since`
    a, b = ProductFactory(sku="A"), ProductFactory(sku="B")
    _set(a, "10.00")
    _set(b, "10.00")
    since = timezone.now()
    # when: only A's price for our channel changes, and B's for another channel
    _set(a, "9.00", channel_price_list(channel))
    _set(b, "8.00", channel_price_list(other_channel))
    # then
    params = {"updated_since": since.isoformat()}
    assert _skus(api_for(channel=channel).get(URL, params)) == ["A"]
    assert _skus(api_for(channel=other_channel).get(URL, params)) == ["B"]


def test_a_scheduled_price_shows_as_a_change_once_it_takes_effect(api_for, channel):
    # given: a price scheduled for tomorrow
    product = ProductFactory(sku="SOON")
    _set(product, "10.00")
    start = timezone.now() + datetime.timedelta(days=1)
    _set(product, "7.00", valid_from=start)
    since = timezone.now()
    # then: not a change yet
    assert _skus(api_for(channel=channel).get(URL, {"updated_since": since.isoformat()})) == []
    # when tomorrow comes, it is
    later = product_list_for_sync(channel_id=channel.pk, at=start + datetime.timedelta(minutes=5))
    row = later.get(changed_at__gte=since)
    assert (row.sku, row.price, row.changed_at) == ("SOON", Decimal("7.00"), start)


def test_updated_since_includes_product_changes(api_for, channel):
    ProductFactory(sku="OLD")
    since = timezone.now()
    changed = ProductFactory(sku="NEW")
    assert _skus(api_for(channel=channel).get(URL, {"updated_since": since.isoformat()})) == [changed.sku]


def test_filters(api_for, channel):
    coats = CategoryFactory(code="jassen")
    ProductFactory(sku="COAT-1", category=coats, storage_kind="hanging")
    ProductFactory(sku="COAT-2", category=coats, is_active=False)
    ProductFactory(sku="TEE-1")
    client = api_for(channel=channel)
    assert _skus(client.get(URL, {"category": "jassen"})) == ["COAT-1", "COAT-2"]
    assert _skus(client.get(URL, {"category": "jassen", "active": "true"})) == ["COAT-1"]
    assert _skus(client.get(URL, {"sku": "TEE-1,COAT-2"})) == ["COAT-2", "TEE-1"]
    assert _skus(client.get(URL, {"storage": "hanging"})) == ["COAT-1"]


def test_cursor_pages_cover_every_product_once(api_for, channel):
    products = [ProductFactory() for _ in range(25)]
    for product in products[:10]:
        _set(product, "1.00")
    client, seen, url = api_for(channel=channel), [], URL + "?page_size=7"
    while url:
        body = client.get(url).json()
        seen += [row["sku"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(p.sku for p in products)


@pytest.mark.parametrize("page_size", [10, 100])
def test_query_count_does_not_grow_with_the_page(api_for, channel, django_assert_max_num_queries, page_size):
    for n in range(120):
        product = ProductFactory(brand=None)
        if n % 2:
            _set(product, "2.50")
    client = api_for(channel=channel)
    client.get(URL)  # the key's first use is recorded once a minute
    with django_assert_max_num_queries(3):
        response = client.get(URL, {"page_size": page_size})
    assert len(response.json()["results"]) == page_size


@pytest.mark.parametrize(
    ("params", "attr"),
    [
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"active": "maybe"}, "active"),
        ({"storage": "frozen"}, "storage"),
    ],
)
def test_bad_filters_get_the_contract_error_body(api_for, channel, params, attr):
    response = api_for(channel=channel).get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert body["errors"][0]["attr"] == attr


def test_staff_keys_need_the_view_permission_and_may_pick_a_channel(api_for, channel):
    product = ProductFactory(sku="S-1")
    _set(product, "10.00")
    _set(product, "9.00", channel_price_list(channel))
    without = UserFactory()
    assert api_for(user=without).get(URL).status_code == 403
    staff = UserFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_product"))
    client = api_for(user=staff)
    assert client.get(URL).json()["results"][0]["price"] == "10.00"
    assert client.get(URL, {"channel": channel.code}).json()["results"][0]["price"] == "9.00"
    unknown = client.get(URL, {"channel": "nope"})
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["attr"] == "channel"


def test_location_keys_and_anonymous_callers_are_refused(api_for, api):
    assert api_for(location=LocationFactory()).get(URL).status_code == 403
    response = api.get(URL)
    assert response.status_code == 401
    assert response.json()["type"] == "client_error"
