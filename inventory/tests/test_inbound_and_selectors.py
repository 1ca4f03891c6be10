import datetime

import pytest
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from core.exceptions import Conflict
from inventory.exceptions import InboundNotReceivable, OverReceipt, StorageKindNotHandled
from inventory.models import InboundDelivery, InboundLine, Stock, StockMovement, StorageKind
from inventory.selectors import (
    inbound_next_expected_map,
    low_stock_items,
    stock_available_map,
    stock_ledger_differences,
)
from inventory.services.inbound import inbound_delivery_close, inbound_delivery_create, inbound_delivery_receive
from inventory.services.ledger import stock_reserve
from inventory.services.stock import stock_adjust
from inventory.tests.factories import LocationFactory, stocked

pytestmark = pytest.mark.django_db


def _delivery(location, lines, *, reference="IN-1", days=3):
    return inbound_delivery_create(
        reference=reference,
        location_id=location.pk,
        expected_on=timezone.localdate() + datetime.timedelta(days=days),
        lines=[(p.pk, q) for p, q in lines],
        supplier="Groothandel",
    )


def test_a_delivery_is_received_in_parts():
    # given
    a, b = ProductFactory(), ProductFactory()
    location = LocationFactory()
    delivery = _delivery(location, [(a, 10), (b, 4)])
    # when: part of it arrives
    inbound_delivery_receive(delivery_id=delivery.pk, quantities={a.pk: 6})
    # then
    delivery.refresh_from_db()
    assert delivery.status == InboundDelivery.Status.EXPECTED
    assert dict(InboundLine.objects.values_list("product_id", "quantity_received")) == {a.pk: 6, b.pk: 0}
    movement = StockMovement.objects.get(stock__product=a)
    assert (movement.kind, movement.on_hand_delta, movement.reference) == ("receipt", 6, "inbound:IN-1")
    # when: the rest arrives
    inbound_delivery_receive(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == InboundDelivery.Status.RECEIVED and delivery.received_at is not None
    assert dict(Stock.objects.values_list("product_id", "on_hand")) == {a.pk: 10, b.pk: 4}


def test_receiving_more_than_expected_or_a_finished_delivery_changes_nothing():
    product, location = ProductFactory(), LocationFactory()
    delivery = _delivery(location, [(product, 5)])
    with pytest.raises(OverReceipt):
        inbound_delivery_receive(delivery_id=delivery.pk, quantities={product.pk: 6})
    assert not StockMovement.objects.exists()
    assert InboundLine.objects.get().quantity_received == 0
    inbound_delivery_close(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == InboundDelivery.Status.CANCELLED
    with pytest.raises(InboundNotReceivable):
        inbound_delivery_receive(delivery_id=delivery.pk)
    assert not StockMovement.objects.exists()


def test_a_delivery_is_announced_only_where_the_goods_can_be_stored_and_once():
    jewel = ProductFactory(storage_kind=StorageKind.SECURE)
    with pytest.raises(StorageKindNotHandled):
        _delivery(LocationFactory(storage_kinds=[StorageKind.NORMAL]), [(jewel, 1)])
    assert not InboundDelivery.objects.exists()
    location = LocationFactory()
    _delivery(location, [(ProductFactory(), 1)], reference="DUP")
    with pytest.raises(Conflict):
        _delivery(location, [(ProductFactory(), 1)], reference="DUP")
    assert InboundDelivery.objects.count() == 1


def test_available_to_sell_adds_up_active_locations_and_never_goes_negative():
    # given
    product = ProductFactory()
    utr, hng, closed = LocationFactory(), LocationFactory(), LocationFactory(is_active=False)
    stocked(product, utr, 5)
    counted_short = stocked(product, hng, 3)
    stock_reserve(allocations=[(counted_short.pk, 3)], reference="order:1")
    stock_adjust(product_id=product.pk, location_id=hng.pk, counted=1, reason="telling")  # 1 on hand, 3 reserved
    stocked(product, closed, 50)
    empty = ProductFactory()
    # then
    assert stock_available_map(product_ids=[product.pk, empty.pk]) == {product.pk: 5, empty.pk: 0}


def test_the_next_delivery_date_is_the_first_open_one_and_never_in_the_past():
    product = ProductFactory()
    location = LocationFactory()
    late = _delivery(location, [(product, 2)], reference="LATE", days=-2)
    _delivery(location, [(product, 2)], reference="NEXT", days=4)
    today = timezone.localdate()
    assert inbound_next_expected_map(product_ids=[product.pk]) == {product.pk: today}
    inbound_delivery_receive(delivery_id=late.pk)
    assert inbound_next_expected_map(product_ids=[product.pk]) == {product.pk: today + datetime.timedelta(days=4)}


def test_the_low_stock_list_shows_what_is_below_its_reorder_point_with_what_is_coming():
    location = LocationFactory(code="UTR")
    low = stocked(ProductFactory(sku="LOW"), location, 2, reorder_point=5)
    stocked(ProductFactory(sku="FINE"), location, 9, reorder_point=5)
    stocked(ProductFactory(sku="NO-POINT"), location, 0)
    stocked(ProductFactory(sku="INACTIVE", is_active=False), location, 0, reorder_point=5)
    _delivery(location, [(low.product, 10)], reference="REFILL")
    items = low_stock_items()
    assert [(i.sku, i.available, i.reorder_point, i.incoming) for i in items] == [("LOW", 2, 5, 10)]


def test_the_ledger_check_finds_a_counter_that_was_changed_outside_the_ledger():
    stock = stocked(ProductFactory(sku="X"), LocationFactory(code="UTR"), 4)
    assert stock_ledger_differences() == []
    Stock.objects.filter(pk=stock.pk).update(on_hand=7)
    try:
        [difference] = stock_ledger_differences()
        assert (difference.sku, difference.on_hand, difference.ledger_on_hand) == ("X", 7, 4)
    finally:
        Stock.objects.filter(pk=stock.pk).update(on_hand=4)  # the suite's invariant check runs after this test
