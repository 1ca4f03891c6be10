import threading

import pytest
from django.db import close_old_connections, connection

from catalog.tests.factories import ProductFactory
from inventory.models import Stock, StockMovement
from inventory.services.ledger import (
    InsufficientStock,
    InvalidStockChange,
    StockChange,
    stock_book,
    stock_reserve,
    stock_rows_ensure,
    stock_ship,
)
from inventory.tests.factories import LocationFactory


def _stock(on_hand: int) -> Stock:
    product, location = ProductFactory(), LocationFactory()
    stock_id = stock_rows_ensure([(product.pk, location.pk)])[(product.pk, location.pk)]
    if on_hand:
        stock_book(changes=[StockChange(stock_id, StockMovement.Kind.RECEIPT, on_hand_delta=on_hand)], reference="t")
    return Stock.objects.get(pk=stock_id)


def assert_ledger_holds():
    for stock in Stock.objects.all():
        movements = StockMovement.objects.filter(stock=stock)
        assert stock.on_hand == sum(m.on_hand_delta for m in movements)
        assert stock.reserved == sum(m.reserved_delta for m in movements)


@pytest.mark.django_db
def test_reserve_ship_and_ledger():
    # given
    stock = _stock(5)
    # when
    stock_reserve(allocations=[(stock.pk, 3)], reference="order:1")
    stock_ship(items=[(stock.pk, 2)], reference="shipment:1")
    # then
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved, stock.available) == (3, 1, 2)
    last = StockMovement.objects.filter(stock=stock).order_by("-id").first()
    assert (last.kind, last.on_hand_after, last.reserved_after) == ("shipment", 3, 1)
    assert_ledger_holds()


@pytest.mark.django_db
def test_reserving_more_than_available_changes_nothing():
    stock = _stock(2)
    before = StockMovement.objects.count()
    with pytest.raises(InsufficientStock):
        stock_reserve(allocations=[(stock.pk, 3)], reference="order:1")
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (2, 0)
    assert StockMovement.objects.count() == before


@pytest.mark.django_db
def test_counters_never_go_below_zero():
    stock = _stock(1)
    with pytest.raises(InvalidStockChange):
        stock_ship(items=[(stock.pk, 1)], reference="x")  # nothing reserved
    with pytest.raises(InvalidStockChange):
        stock_book(changes=[StockChange(stock.pk, StockMovement.Kind.ADJUSTMENT, on_hand_delta=-2)], reference="x")
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (1, 0)


@pytest.mark.django_db
def test_booking_many_lines_costs_constant_queries(django_assert_num_queries):
    # lock, one bulk update, one bulk insert: for 1 line as for 20
    one, many = _stock(10), [_stock(10) for _ in range(20)]
    with django_assert_num_queries(3):
        stock_reserve(allocations=[(one.pk, 1)], reference="order:small")
    with django_assert_num_queries(3):
        stock_reserve(allocations=[(s.pk, 1) for s in many], reference="order:big")
    assert_ledger_holds()


@pytest.mark.django_db(transaction=True)
def test_two_buyers_of_the_last_unit_never_both_get_it():
    # given: one unit left, eight threads want it at once
    stock = _stock(1)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def buy():
        try:
            barrier.wait()
            stock_reserve(allocations=[(stock.pk, 1)], reference=f"order:{threading.get_ident()}")
            outcomes.append("reserved")
        except InsufficientStock:
            outcomes.append("sold out")
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=buy) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then
    stock.refresh_from_db()
    assert sorted(outcomes) == ["reserved"] + ["sold out"] * 7
    assert (stock.on_hand, stock.reserved) == (1, 1)
    assert_ledger_holds()
