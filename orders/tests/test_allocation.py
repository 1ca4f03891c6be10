import datetime

import pytest

from core.tests.factories import SalesChannelFactory
from orders.models import Fulfilment, Order
from orders.services.allocation import LineNeed, StockOption, plan_allocation
from orders.services.backorders import order_backorders_allocate
from orders.tests.conftest import order_body, receive
from orders.tests.test_api_intake import URL

NOON = datetime.time(12, 0)


def _option(stock_id, product, location, available, kinds=("normal",), priority=10, cutoff=datetime.time(17)):
    return StockOption(stock_id, product, location, available, tuple(kinds), priority, cutoff)


def test_prefers_one_location_that_ships_everything_over_a_better_ranked_one():
    # UTR (priority 10) has A only; HNG (priority 20) has A and B
    needs = [
        LineNeed(0, product_id=1, storage_kind="normal", quantity=1),
        LineNeed(1, product_id=2, storage_kind="normal", quantity=1),
    ]
    options = [_option(11, 1, "UTR", 5), _option(21, 1, "HNG", 5, priority=20), _option(22, 2, "HNG", 5, priority=20)]
    plan = plan_allocation(needs, options, now=NOON)
    assert plan.location_ids == ["HNG"]
    assert not plan.has_backorder


def test_equal_single_locations_go_by_priority_then_cutoff():
    needs = [LineNeed(0, 1, "normal", 1)]
    options = [
        _option(1, 1, "A", 5, priority=20),
        _option(2, 1, "B", 5, priority=10, cutoff=datetime.time(11)),
        _option(3, 1, "C", 5, priority=10, cutoff=datetime.time(18)),
    ]
    # B and C share priority 10; B's cut-off has passed at noon, so C
    assert plan_allocation(needs, options, now=NOON).location_ids == ["C"]


def test_fewest_locations_when_none_has_everything():
    needs = [LineNeed(i, i, "normal", 1) for i in range(3)]
    options = [
        _option(1, 0, "X", 1, priority=1),
        _option(2, 1, "Y", 1, priority=2),
        _option(3, 2, "Y", 1, priority=2),
        _option(4, 0, "Z", 1, priority=3),
        _option(5, 1, "Z", 1, priority=3),
    ]
    # no single location has all three; X+Y and Y+Z both do: the better-ranked pair wins
    plan = plan_allocation(needs, options, now=NOON)
    assert plan.location_ids == ["X", "Y"]


def test_a_line_is_split_over_locations_when_no_single_one_has_enough():
    plan = plan_allocation(
        [LineNeed(0, 1, "normal", 5)], [_option(1, 1, "A", 3), _option(2, 1, "B", 4, priority=20)], now=NOON
    )
    assert sorted((a.location_id, a.quantity) for a in plan.allocations) == [("A", 3), ("B", 2)]


def test_storage_kind_decides_where_a_line_may_go():
    needs = [LineNeed(0, 1, "hanging", 1)]
    options = [_option(1, 1, "UTR", 9, kinds=("normal",)), _option(2, 1, "HNG", 1, kinds=("hanging",), priority=50)]
    assert plan_allocation(needs, options, now=NOON).location_ids == ["HNG"]
    assert plan_allocation(needs, options[:1], now=NOON).backorders == {0: 1}


@pytest.mark.django_db
def test_an_order_is_split_by_storage_kind(api_for, channel, utr, hng, sec, tshirt, coat, watch):
    for product, location in ((tshirt, utr), (coat, hng), (watch, sec)):
        receive(product, location, 5)
    lines = [
        {"sku": tshirt.sku, "quantity": 1, "unit_price": "19.95"},
        {"sku": coat.sku, "quantity": 1, "unit_price": "149.00"},
        {"sku": watch.sku, "quantity": 1, "unit_price": "499.00"},
    ]
    body = api_for(channel=channel).post(URL, order_body(lines=lines, method="pos"), format="json").json()
    where = {f["location"]: [line["sku"] for line in f["lines"]] for f in body["fulfilments"]}
    assert where == {"UTR": [tshirt.sku], "HNG": [coat.sku], "SEC": [watch.sku]}
    assert all(f["status"] == "released" for f in body["fulfilments"])


@pytest.mark.django_db
def test_backorder_with_partial_shipments_ships_what_is_there(api_for, channel, utr, tshirt):
    receive(tshirt, utr, 1)
    lines = [{"sku": tshirt.sku, "quantity": 3, "unit_price": "19.95"}]
    body = api_for(channel=channel).post(URL, order_body(lines=lines, method="pos"), format="json").json()
    assert body["status"] == "released"
    assert body["hold_reasons"] == ["backorder"]
    assert body["lines"][0]["quantity_backordered"] == 2
    assert body["fulfilments"][0]["status"] == "released"
    assert body["fulfilments"][0]["lines"][0]["quantity"] == 1


@pytest.mark.django_db
def test_backorder_without_partial_shipments_makes_the_whole_order_wait(api_for, utr, tshirt):
    store = SalesChannelFactory(code="store", partial_shipments=False, order_number_prefix="STR")
    receive(tshirt, utr, 1)
    lines = [{"sku": tshirt.sku, "quantity": 3, "unit_price": "19.95"}]
    body = api_for(channel=store).post(URL, order_body(lines=lines, method="pos"), format="json").json()
    assert body["status"] == "on_hold"
    assert body["hold_reasons"] == ["backorder"]
    assert body["fulfilments"][0]["status"] == "waiting"  # reserved, but not released


@pytest.mark.django_db
@pytest.mark.parametrize("partial", [True, False])
def test_stock_arriving_later_allocates_the_backorder(api_for, utr, tshirt, partial):
    # given: nothing in stock
    channel = SalesChannelFactory(code=f"shop-{partial}", partial_shipments=partial)
    lines = [{"sku": tshirt.sku, "quantity": 2, "unit_price": "19.95"}]
    body = api_for(channel=channel).post(URL, order_body(lines=lines, method="pos"), format="json").json()
    assert body["fulfilments"] == []
    assert body["status"] == "on_hold" and body["hold_reasons"] == ["backorder"]
    # when: stock arrives and the backorders are allocated
    receive(tshirt, utr, 5)
    assert order_backorders_allocate(product_ids=[tshirt.pk]) == 1
    # then
    order = Order.objects.get(number=body["number"])
    assert order.hold_reasons == []
    assert order.status == "released"
    assert order.lines.get().quantity_backordered == 0
    fulfilment = Fulfilment.objects.get(order=order)
    assert (fulfilment.location.code, fulfilment.status) == ("UTR", "released")
    assert order_backorders_allocate(product_ids=[tshirt.pk]) == 0  # nothing left to do
