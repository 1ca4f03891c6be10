"""What promotions take off a basket (a read: nothing is written).

Rules, in this order:
1. Per line, the one line promotion (SKU or category, the category's sub-categories
   included) that gives the largest discount applies: a percentage of the line amount, or
   an amount per unit (never more than the line). Line promotions do not add up.
2. Then the one whole-order promotion that gives the largest discount applies to what the
   goods cost after the line discounts, if that reaches its minimum order amount.
3. The order discount is shared over the lines in proportion to what each line still
   costs, to the cent (the largest remainders get the leftover cents), so every line
   knows its own discount — and its VAT — for the invoice and for a later refund.

Amounts include VAT and are rounded ROUND_HALF_UP to the cent at each line discount and
at the order discount.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from catalog.models import Product, Promotion
from catalog.selectors import category_ancestors, price_map
from core.money import HUNDRED, ZERO, round_money


@dataclass(frozen=True)
class BasketLine:
    product_id: int
    quantity: int
    unit_price: Decimal | None = None  # incl. VAT; None: the channel's price at the moment


@dataclass(frozen=True)
class LineDiscount:
    product_id: int
    quantity: int
    unit_price: Decimal
    line_amount: Decimal
    line_discount: Decimal
    line_promotion: str | None
    order_discount: Decimal
    discount: Decimal  # line_discount + order_discount: what the line's `discount` holds

    @property
    def total(self) -> Decimal:
        return self.line_amount - self.discount


@dataclass(frozen=True)
class BasketDiscount:
    lines: list[LineDiscount]
    goods_amount: Decimal
    line_discount_amount: Decimal
    order_discount_amount: Decimal
    order_promotion: str | None
    promotions: list[str] = field(default_factory=list)

    @property
    def discount_amount(self) -> Decimal:
        return self.line_discount_amount + self.order_discount_amount


def promotion_list_active(*, channel_id: int | None, at: datetime.datetime | None = None) -> list[Promotion]:
    """Promotions running at the moment for the channel (its own and those for every
    channel), with their SKUs and categories: three queries."""
    moment = at or timezone.now()
    channels = Q(channel__isnull=True)
    if channel_id is not None:
        channels |= Q(channel_id=channel_id)
    return list(
        Promotion.objects.filter(channels, is_active=True, valid_from__lte=moment)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=moment))
        .prefetch_related("products", "categories")
        .order_by("pk")
    )


def _value(promotion: Promotion, base: Decimal, quantity: int = 1) -> Decimal:
    if base <= 0:
        return ZERO
    if promotion.kind == Promotion.Kind.PERCENTAGE:
        return min(round_money(base * promotion.percentage / HUNDRED), base)
    return min(round_money(promotion.discount_amount * quantity), base)


def _share(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` over `weights` to the cent; leftover cents go to the largest remainders."""
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [ZERO for _ in weights]
    cents = int(total * 100)
    exact = [Decimal(cents) * w / weight_sum for w in weights]
    floors = [int(e) for e in exact]
    leftover = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += 1
    return [Decimal(c) / 100 for c in floors]


def basket_discount(
    *, channel_id: int | None, lines: Iterable[BasketLine], at: datetime.datetime | None = None
) -> BasketDiscount:
    """The discounts promotions give on a basket for a channel at a moment (now)."""
    moment = at or timezone.now()
    lines = list(lines)
    missing_price = [line.product_id for line in lines if line.unit_price is None]
    prices = price_map(product_ids=missing_price, channel_id=channel_id, at=moment) if missing_price else {}
    promotions = promotion_list_active(channel_id=channel_id, at=moment)
    by_product: dict[int, list[Promotion]] = {}
    by_category: dict[int, list[Promotion]] = {}
    order_promotions: list[Promotion] = []
    for promotion in promotions:
        if promotion.scope == Promotion.Scope.PRODUCTS:
            for product in promotion.products.all():
                by_product.setdefault(product.pk, []).append(promotion)
        elif promotion.scope == Promotion.Scope.CATEGORIES:
            for category in promotion.categories.all():
                by_category.setdefault(category.pk, []).append(promotion)
        else:
            order_promotions.append(promotion)
    categories = (
        dict(Product.objects.filter(pk__in={line.product_id for line in lines}).values_list("pk", "category_id"))
        if by_category
        else {}
    )
    ancestors = category_ancestors() if by_category else {}

    priced: list[tuple[BasketLine, Decimal, Decimal, Decimal, str | None]] = []
    for line in lines:
        unit_price = line.unit_price if line.unit_price is not None else prices.get(line.product_id, ZERO)
        line_amount = round_money(unit_price * line.quantity)
        candidates = list(by_product.get(line.product_id, []))
        category_id = categories.get(line.product_id)
        for cat in ancestors.get(category_id, []) if category_id else []:
            candidates.extend(by_category.get(cat, []))
        best, best_value = None, ZERO
        for promotion in candidates:
            value = _value(promotion, line_amount, line.quantity)
            if value > best_value:
                best, best_value = promotion, value
        priced.append((line, unit_price, line_amount, best_value, best.code if best else None))

    goods = sum((p[2] for p in priced), ZERO)
    line_discounts = sum((p[3] for p in priced), ZERO)
    rest = goods - line_discounts
    order_best, order_value = None, ZERO
    for promotion in order_promotions:
        if rest < promotion.min_order_amount:
            continue
        value = _value(promotion, rest)
        if value > order_value:
            order_best, order_value = promotion, value
    shares = _share(order_value, [p[2] - p[3] for p in priced])

    result_lines = [
        LineDiscount(
            product_id=line.product_id,
            quantity=line.quantity,
            unit_price=unit_price,
            line_amount=line_amount,
            line_discount=line_discount,
            line_promotion=code,
            order_discount=share,
            discount=line_discount + share,
        )
        for (line, unit_price, line_amount, line_discount, code), share in zip(priced, shares, strict=True)
    ]
    used = sorted({p[4] for p in priced if p[4]} | ({order_best.code} if order_best else set()))
    return BasketDiscount(
        lines=result_lines,
        goods_amount=goods,
        line_discount_amount=line_discounts,
        order_discount_amount=order_value,
        order_promotion=order_best.code if order_best else None,
        promotions=used,
    )
