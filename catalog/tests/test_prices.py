import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.exceptions import InvalidPrice, PriceNotWithdrawable, PriceOverlap
from catalog.models import Price, VatClass, VatRate
from catalog.selectors import (
    price_get,
    price_map,
    product_sale_terms,
    vat_class_for_rate,
    vat_rate_get,
    vat_rate_label,
    vat_rates_at,
)
from catalog.services.prices import price_set, price_withdraw, prices_set
from catalog.tests.factories import ProductFactory, channel_price_list, default_price_list

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def _rows(product):
    return list(
        Price.objects.filter(product=product)
        .order_by("valid_from")
        .values_list("gross_amount", "valid_from", "valid_until")
    )


def test_a_price_change_closes_the_old_row_and_keeps_it():
    # given
    product = ProductFactory()
    default = default_price_list()
    first = price_set(price_list_id=default.pk, product_id=product.pk, gross_amount=Decimal("19.95"))
    between = timezone.now()
    # when
    second = price_set(price_list_id=default.pk, product_id=product.pk, gross_amount=Decimal("17.50"))
    # then
    first.refresh_from_db()
    assert first.gross_amount == Decimal("19.95")
    assert first.valid_until == second.valid_from
    assert second.valid_until is None
    assert price_get(product_id=product.pk, channel_id=None, at=between) == Decimal("19.95")
    assert price_get(product_id=product.pk, channel_id=None) == Decimal("17.50")
    assert price_get(product_id=product.pk, channel_id=None, at=first.valid_from - HOUR) is None


def test_setting_the_same_price_again_adds_no_row():
    product = ProductFactory()
    default = default_price_list()
    price_set(price_list_id=default.pk, product_id=product.pk, gross_amount=Decimal("5.00"))
    assert price_set(price_list_id=default.pk, product_id=product.pk, gross_amount=Decimal("5.00")) is None
    assert Price.objects.filter(product=product).count() == 1


def test_a_temporary_price_is_followed_by_the_old_price():
    # given
    product = ProductFactory()
    default = default_price_list()
    price_set(price_list_id=default.pk, product_id=product.pk, gross_amount=Decimal("100.00"))
    start, end = timezone.now() + DAY, timezone.now() + 3 * DAY
    # when
    price_set(
        price_list_id=default.pk,
        product_id=product.pk,
        gross_amount=Decimal("79.00"),
        valid_from=start,
        valid_until=end,
    )
    # then
    assert price_get(product_id=product.pk, channel_id=None) == Decimal("100.00")
    assert price_get(product_id=product.pk, channel_id=None, at=start + HOUR) == Decimal("79.00")
    assert price_get(product_id=product.pk, channel_id=None, at=end) == Decimal("100.00")
    assert price_get(product_id=product.pk, channel_id=None, at=end + 30 * DAY) == Decimal("100.00")
    assert [r[0] for r in _rows(product)] == [Decimal("100.00"), Decimal("79.00"), Decimal("100.00")]


def test_a_new_open_price_runs_until_a_scheduled_one():
    product = ProductFactory()
    default = default_price_list()
    later = timezone.now() + 2 * DAY
    price_set(price_list_id=default.pk, product_id=product.pk, gross_amount=Decimal("10.00"))
    price_set(price_list_id=default.pk, product_id=product.pk, gross_amount=Decimal("12.00"), valid_from=later)
    # when: a price from now, open-ended
    price_set(price_list_id=default.pk, product_id=product.pk, gross_amount=Decimal("11.00"))
    # then: the scheduled price still takes over
    assert price_get(product_id=product.pk, channel_id=None) == Decimal("11.00")
    assert price_get(product_id=product.pk, channel_id=None, at=later + HOUR) == Decimal("12.00")


def test_a_temporary_price_may_not_overlap_a_scheduled_one_and_nothing_changes():
    product = ProductFactory()
    default = default_price_list()
    price_set(price_list_id=default.pk, product_id=product.pk, gross_amount=Decimal("10.00"))
    price_set(
        price_list_id=default.pk,
        product_id=product.pk,
        gross_amount=Decimal("12.00"),
        valid_from=timezone.now() + 2 * DAY,
    )
    before = _rows(product)
    with pytest.raises(PriceOverlap):
        price_set(
            price_list_id=default.pk,
            product_id=product.pk,
            gross_amount=Decimal("8.00"),
            valid_from=timezone.now() + DAY,
            valid_until=timezone.now() + 3 * DAY,
        )
    assert _rows(product) == before


@pytest.mark.parametrize(
    ("amount", "valid_from_offset", "code"),
    [
        ("-1.00", None, "invalid_price"),
        ("1.999", None, "invalid_price"),
        ("5.00", -DAY, "invalid_price"),
    ],
)
def test_bad_prices_are_refused_and_nothing_changes(amount, valid_from_offset, code):
    product = ProductFactory()
    default = default_price_list()
    price_set(price_list_id=default.pk, product_id=product.pk, gross_amount=Decimal("10.00"))
    before = _rows(product)
    with pytest.raises(InvalidPrice) as error:
        price_set(
            price_list_id=default.pk,
            product_id=product.pk,
            gross_amount=Decimal(amount),
            valid_from=timezone.now() + valid_from_offset if valid_from_offset else None,
        )
    assert error.value.code == code
    assert _rows(product) == before


def test_withdrawing_a_scheduled_price_restores_the_running_one():
    product = ProductFactory()
    default = default_price_list()
    price_set(price_list_id=default.pk, product_id=product.pk, gross_amount=Decimal("10.00"))
    scheduled = price_set(
        price_list_id=default.pk, product_id=product.pk, gross_amount=Decimal("7.00"), valid_from=timezone.now() + DAY
    )
    # when
    price_withdraw(price_id=scheduled.pk)
    # then
    assert price_get(product_id=product.pk, channel_id=None, at=timezone.now() + 5 * DAY) == Decimal("10.00")
    assert Price.objects.filter(product=product).count() == 1


def test_a_price_in_effect_cannot_be_withdrawn():
    product = ProductFactory()
    row = price_set(price_list_id=default_price_list().pk, product_id=product.pk, gross_amount=Decimal("10.00"))
    with pytest.raises(PriceNotWithdrawable):
        price_withdraw(price_id=row.pk)
    assert Price.objects.filter(pk=row.pk).exists()


def test_the_channels_own_price_wins_over_the_default(channel, other_channel):
    # given
    product = ProductFactory()
    price_set(price_list_id=default_price_list().pk, product_id=product.pk, gross_amount=Decimal("20.00"))
    price_set(price_list_id=channel_price_list(channel).pk, product_id=product.pk, gross_amount=Decimal("18.00"))
    # then
    assert price_get(product_id=product.pk, channel_id=channel.pk) == Decimal("18.00")
    assert price_get(product_id=product.pk, channel_id=other_channel.pk) == Decimal("20.00")
    assert price_get(product_id=product.pk, channel_id=None) == Decimal("20.00")


def test_the_batch_selector_costs_one_query_for_many_products(channel, django_assert_num_queries):
    products = [ProductFactory() for _ in range(30)]
    prices_set(price_list_id=default_price_list().pk, prices={p.pk: Decimal("3.00") for p in products})
    prices_set(price_list_id=channel_price_list(channel).pk, prices={products[0].pk: Decimal("2.50")})
    with django_assert_num_queries(1):
        result = price_map(product_ids=[p.pk for p in products], channel_id=channel.pk)
    assert result[products[0].pk] == Decimal("2.50")
    assert all(result[p.pk] == Decimal("3.00") for p in products[1:])


def test_bulk_prices_cost_constant_queries():
    # the same number of queries for 5 products as for 50, for new prices and for changes
    counts = []
    for size in (5, 50):
        products = [ProductFactory() for _ in range(size)]
        for amount in ("9.95", "8.95"):
            with CaptureQueriesContext(connection) as queries:
                result = prices_set(
                    price_list_id=default_price_list().pk, prices={p.pk: Decimal(amount) for p in products}
                )
            assert len(result.created) == size
            counts.append(len(queries))
    assert counts[:2] == counts[2:]
    assert max(counts) <= 8


def test_vat_rates_follow_their_dates():
    # given: a future rate change for the reduced class
    VatRate.objects.create(vat_class=VatClass.REDUCED, rate=Decimal("11.00"), valid_from=datetime.date(2099, 1, 1))
    # then
    assert vat_rates_at(datetime.date(2018, 6, 1))[VatClass.REDUCED] == Decimal("6.00")
    assert vat_rates_at(datetime.date(2025, 6, 1))[VatClass.REDUCED] == Decimal("9.00")
    assert vat_rates_at(datetime.date(2099, 6, 1))[VatClass.REDUCED] == Decimal("11.00")
    rates = vat_rates_at(datetime.date(2025, 6, 1))
    assert vat_class_for_rate(Decimal("21"), rates) == VatClass.STANDARD
    assert vat_class_for_rate(Decimal("9"), rates) == VatClass.REDUCED
    assert vat_class_for_rate(Decimal("0"), rates) == VatClass.ZERO
    assert vat_class_for_rate(Decimal("6"), rates) is None
    assert [vat_rate_label(rates[c]) for c in ("standard", "reduced", "zero")] == ["21", "9", "0"]
    assert vat_rate_get(vat_class=VatClass.REDUCED, at=datetime.date(2018, 6, 1)) == Decimal("6.00")


def test_sale_terms_snapshot_price_and_vat(channel, django_assert_max_num_queries):
    book = ProductFactory(sku="BOOK-1", vat_class=VatClass.REDUCED)
    price_set(price_list_id=default_price_list().pk, product_id=book.pk, gross_amount=Decimal("24.95"))
    with django_assert_max_num_queries(3):
        terms = product_sale_terms(channel_id=channel.pk, skus=["BOOK-1", "NOPE"])
    assert set(terms) == {"BOOK-1"}
    assert (terms["BOOK-1"].unit_price, terms["BOOK-1"].vat_rate) == (Decimal("24.95"), Decimal("9.00"))
