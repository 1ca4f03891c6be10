"""GET /api/v1/stock/: per SKU what can be sold over all active locations (never
negative), the next delivery date when nothing can, what changed since a moment."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from catalog.tests.factories import CategoryFactory, ProductFactory
from core.tests.factories import UserFactory
from inventory.services.inbound import inbound_delivery_create
from inventory.services.ledger import stock_reserve
from inventory.services.stock import stock_adjust, stock_receive
from inventory.tests.factories import LocationFactory, stocked

pytestmark = pytest.mark.django_db

URL = reverse("api:stock-list")


def _rows(response) -> dict[str, dict]:
    assert response.status_code == 200, response.json()
    return {row["sku"]: row for row in response.json()["results"]}


def test_available_over_active_locations_and_the_next_delivery_when_sold_out(api_for, channel):
    # given
    utr, hng, closed = LocationFactory(), LocationFactory(), LocationFactory(is_active=False)
    shirt, coat = ProductFactory(sku="SHIRT"), ProductFactory(sku="COAT")
    stocked(shirt, utr, 4)
    short = stocked(shirt, hng, 2)
    stock_reserve(allocations=[(short.pk, 2)], reference="order:1")
    stock_adjust(product_id=shirt.pk, location_id=hng.pk, counted=0, reason="telling")  # 0 on hand, 2 reserved
    stocked(coat, closed, 9)
    expected = timezone.localdate() + datetime.timedelta(days=5)
    inbound_delivery_create(reference="IN-7", location_id=utr.pk, expected_on=expected, lines=[(coat.pk, 10)])
    # when
    rows = _rows(api_for(channel=channel).get(URL))
    # then
    assert (rows["SHIRT"]["available"], rows["SHIRT"]["next_delivery_on"]) == (4, None)
    assert (rows["COAT"]["available"], rows["COAT"]["next_delivery_on"]) == (0, expected.isoformat())


def test_updated_since_returns_the_skus_whose_stock_changed(api_for, channel):
    location = LocationFactory()
    a, b = ProductFactory(sku="A"), ProductFactory(sku="B")
    stocked(a, location, 1)
    stocked(b, location, 1)
    since = timezone.now()
    stock_receive(product_id=b.pk, location_id=location.pk, quantity=3, reference="pakbon")
    rows = _rows(api_for(channel=channel).get(URL, {"updated_since": since.isoformat()}))
    assert list(rows) == ["B"]
    assert rows["B"]["available"] == 4


@pytest.mark.parametrize("narrowed", [True, False], ids=["few-changes", "many-changes"])
def test_updated_since_finds_stock_location_and_delivery_changes(api_for, channel, monkeypatch, narrowed):
    """The candidates looked up first (few changes) and the plain filter (more than
    STOCK_SYNC_CANDIDATES_MAX changes) return the same SKUs."""
    if not narrowed:
        monkeypatch.setattr("inventory.selectors.STOCK_SYNC_CANDIDATES_MAX", 0)
    utr, hng = LocationFactory(), LocationFactory()
    a, b, c, d = (ProductFactory(sku=sku) for sku in "ABCD")
    stocked(a, utr, 1)
    stocked(b, hng, 1)
    stocked(c, utr, 1)
    stocked(d, utr, 1)
    since = timezone.now()
    # when a location changes (its products' available stock), a delivery is announced and a count is booked
    hng.is_active = False
    hng.save()
    inbound_delivery_create(reference="IN-8", location_id=utr.pk, expected_on=timezone.localdate(), lines=[(c.pk, 5)])
    stock_adjust(product_id=d.pk, location_id=utr.pk, counted=2, reason="telling")
    later = ProductFactory(sku="E")  # a new product
    # then exactly those SKUs changed
    rows = _rows(api_for(channel=channel).get(URL, {"updated_since": since.isoformat()}))
    assert sorted(rows) == ["B", "C", "D", later.sku]
    assert rows["B"]["available"] == 0


def test_the_candidates_are_distinct_products_and_none_when_their_read_hits_its_limit(api_for, channel, monkeypatch):
    """A product that changed at several locations is one candidate; when the change
    times read reach the limit (4 × (maximum + 1)), the plain filter answers, the same."""
    from inventory.selectors import stock_changed_candidates

    locations = [LocationFactory() for _ in range(5)]
    shirt = ProductFactory(sku="SHIRT")
    for location in locations:
        stocked(shirt, location, 1)
    since = timezone.now()
    for location in locations:
        stock_receive(product_id=shirt.pk, location_id=location.pk, quantity=1, reference="pakbon")
    assert stock_changed_candidates(since=since) == [shirt.pk]  # five change rows, one product
    # when the read may stop at 4 rows
    monkeypatch.setattr("inventory.selectors.STOCK_SYNC_CANDIDATES_MAX", 0)
    assert stock_changed_candidates(since=since) is None
    rows = _rows(api_for(channel=channel).get(URL, {"updated_since": since.isoformat()}))
    assert list(rows) == ["SHIRT"] and rows["SHIRT"]["available"] == 10


def test_filters(api_for, channel):
    location = LocationFactory()
    coats = CategoryFactory(code="jassen")
    stocked(ProductFactory(sku="C-1", category=coats), location, 2)
    ProductFactory(sku="C-2", category=coats)
    ProductFactory(sku="T-1")
    client = api_for(channel=channel)
    assert list(_rows(client.get(URL, {"sku": "C-1,T-1"}))) == ["C-1", "T-1"]
    assert list(_rows(client.get(URL, {"category": "jassen", "available": "true"}))) == ["C-1"]
    assert list(_rows(client.get(URL, {"category": "jassen", "available": "false"}))) == ["C-2"]


@pytest.mark.parametrize("page_size", [10, 100])
def test_query_count_does_not_grow_with_the_page(api_for, channel, django_assert_max_num_queries, page_size):
    utr, hng = LocationFactory(), LocationFactory()
    for n in range(110):
        product = ProductFactory()
        stocked(product, utr if n % 2 else hng, n % 4)
    client = api_for(channel=channel)
    client.get(URL)
    with django_assert_max_num_queries(2):
        response = client.get(URL, {"page_size": page_size})
    assert len(response.json()["results"]) == page_size


def test_bad_input_gets_the_contract_error_body(api_for, channel):
    response = api_for(channel=channel).get(URL, {"updated_since": "not a moment", "available": "perhaps"})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert {e["attr"] for e in body["errors"]} == {"updated_since", "available"}


def test_who_may_read_stock(api_for):
    assert api_for(location=LocationFactory()).get(URL).status_code == 403
    assert api_for(user=UserFactory()).get(URL).status_code == 403
    staff = UserFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_stock"))
    assert api_for(user=staff).get(URL).status_code == 200
