import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Promotion
from catalog.promotions import BasketLine, basket_discount
from catalog.tests.factories import CategoryFactory, ProductFactory, priced_product

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def _promotion(code, *, kind="percentage", scope="products", value="10", products=(), categories=(), **extra):
    values = {"percentage": Decimal(value)} if kind == "percentage" else {"discount_amount": Decimal(value)}
    promotion = Promotion.objects.create(
        code=code,
        name=code,
        kind=kind,
        scope=scope,
        valid_from=extra.pop("valid_from", timezone.now() - DAY),
        **values,
        **extra,
    )
    promotion.products.set(products)
    promotion.categories.set(categories)
    return promotion


def test_percentage_off_a_sku_rounds_half_up():
    # given: 3 × 19.95 = 59.85; 12.5 % of it is 7.48125
    product = ProductFactory()
    _promotion("tshirt-deal", value="12.5", products=[product])
    # when
    result = basket_discount(channel_id=None, lines=[BasketLine(product.pk, 3, Decimal("19.95"))])
    # then
    line = result.lines[0]
    assert (line.line_amount, line.line_discount, line.line_promotion) == (
        Decimal("59.85"),
        Decimal("7.48"),
        "tshirt-deal",
    )
    assert result.discount_amount == Decimal("7.48")


def test_amount_off_is_per_unit_and_never_more_than_the_line():
    cheap, dear = ProductFactory(), ProductFactory()
    _promotion("five-off", kind="amount", value="5.00", products=[cheap, dear])
    result = basket_discount(
        channel_id=None,
        lines=[BasketLine(cheap.pk, 2, Decimal("3.00")), BasketLine(dear.pk, 2, Decimal("30.00"))],
    )
    assert [line.line_discount for line in result.lines] == [Decimal("6.00"), Decimal("10.00")]


def test_a_category_promotion_covers_its_sub_categories_and_the_best_line_promotion_wins():
    # given
    clothing = CategoryFactory(code="kleding")
    coats = CategoryFactory(code="jassen", parent=clothing)
    coat = ProductFactory(category=coats)
    _promotion("clothing-10", value="10", scope="categories", categories=[clothing])
    _promotion("coats-25", value="25", scope="categories", categories=[coats])
    _promotion("coat-5-off", kind="amount", value="5.00", products=[coat])
    # when
    result = basket_discount(channel_id=None, lines=[BasketLine(coat.pk, 1, Decimal("100.00"))])
    # then: one line promotion, the largest; they do not add up
    assert (result.lines[0].line_discount, result.lines[0].line_promotion) == (Decimal("25.00"), "coats-25")


def test_only_running_active_promotions_of_the_channel_count(channel, other_channel):
    product = ProductFactory()
    _promotion("other-shop", value="50", products=[product], channel=other_channel)
    _promotion("ended", value="40", products=[product], valid_until=timezone.now() - datetime.timedelta(hours=1))
    _promotion("future", value="30", products=[product], valid_from=timezone.now() + DAY)
    _promotion("switched-off", value="20", products=[product], is_active=False)
    _promotion("ours", value="10", products=[product], channel=channel)
    result = basket_discount(channel_id=channel.pk, lines=[BasketLine(product.pk, 1, Decimal("10.00"))])
    assert result.promotions == ["ours"]
    assert result.discount_amount == Decimal("1.00")


def test_an_order_promotion_needs_its_minimum_and_is_shared_over_the_lines_to_the_cent():
    # given: € 10 off from € 100, after line discounts
    a, b, c = ProductFactory(), ProductFactory(), ProductFactory()
    _promotion("tientje", kind="amount", value="10.00", scope="order", min_order_amount=Decimal("100.00"))
    lines = [
        BasketLine(a.pk, 1, Decimal("33.33")),
        BasketLine(b.pk, 1, Decimal("33.33")),
        BasketLine(c.pk, 1, Decimal("33.34")),
    ]
    # when
    result = basket_discount(channel_id=None, lines=lines)
    # then
    assert result.order_promotion == "tientje"
    assert result.order_discount_amount == Decimal("10.00")
    assert sum(line.order_discount for line in result.lines) == Decimal("10.00")
    assert sorted(line.order_discount for line in result.lines) == [Decimal("3.33"), Decimal("3.33"), Decimal("3.34")]
    # below the minimum: nothing
    small = basket_discount(channel_id=None, lines=lines[:2])
    assert (small.order_promotion, small.discount_amount) == (None, Decimal("0.00"))


def test_line_discounts_come_before_the_order_promotion():
    product = ProductFactory()
    _promotion("half", value="50", products=[product])
    _promotion("order-10pct", value="10", scope="order")
    result = basket_discount(channel_id=None, lines=[BasketLine(product.pk, 1, Decimal("80.00"))])
    line = result.lines[0]
    assert (line.line_discount, line.order_discount, line.discount, line.total) == (
        Decimal("40.00"),
        Decimal("4.00"),
        Decimal("44.00"),
        Decimal("36.00"),
    )


def test_without_a_unit_price_the_channels_price_is_used(channel):
    product = priced_product("24.95")
    result = basket_discount(channel_id=channel.pk, lines=[BasketLine(product.pk, 2)])
    assert result.goods_amount == Decimal("49.90")
