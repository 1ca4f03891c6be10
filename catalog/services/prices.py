"""Price changes: the only code that writes Price rows.

A price row is never edited after it took effect. Setting a price from a moment T closes
the row running at T (its end becomes T) and adds a new row; a price with an end (a
temporary price) is followed by the old price again. Prices already scheduled for later
are kept: an open-ended new price runs until the next scheduled one, and a temporary
price may not overlap one. A scheduled price that has not taken effect can be withdrawn.

Changes to one price list are serialised by a lock on the list row; a batch of prices is
written with one bulk update and one bulk insert, so an import of 10,000 prices costs a
handful of queries.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.exceptions import InvalidPrice, PriceNotWithdrawable, PriceOverlap
from catalog.models import Price, PriceList
from core.audit import actor_label
from core.money import CENT, MoneyError, money

# A price "from now" that arrives a little late is still from now, never backdated.
BACKDATE_TOLERANCE = datetime.timedelta(minutes=1)


def price_list_qs_for_update():
    return PriceList.objects.select_for_update(of=("self",)).order_by("pk")


def _amount(value) -> Decimal:
    try:
        amount = money(value)
    except MoneyError as exc:
        raise InvalidPrice(str(exc), attr="gross_amount") from exc
    if amount < 0:
        raise InvalidPrice(_("A price cannot be negative."), attr="gross_amount")
    if amount != amount.quantize(CENT):
        raise InvalidPrice(_("A price has at most two decimals."), attr="gross_amount")
    return amount.quantize(CENT)


@dataclass(frozen=True)
class PriceChangeResult:
    created: list[Price]
    unchanged: int


@transaction.atomic
def prices_set(
    *,
    price_list_id: int,
    prices: dict[int, Decimal],
    valid_from: datetime.datetime | None = None,
    valid_until: datetime.datetime | None = None,
    actor=None,
) -> PriceChangeResult:
    """Set the prices {product_id: amount incl. VAT} of a list from `valid_from` (now by
    default) until `valid_until` (open: until changed). A product whose running price
    already is that amount for the whole period gets no new row."""
    now = timezone.now()
    start = valid_from or now
    if timezone.is_naive(start) or (valid_until is not None and timezone.is_naive(valid_until)):
        raise InvalidPrice(_("Moments must include a time zone."), attr="valid_from")
    if start < now - BACKDATE_TOLERANCE:
        raise InvalidPrice(_("A price cannot start in the past."), attr="valid_from")
    start = max(start, now)
    if valid_until is not None and valid_until <= start:
        raise InvalidPrice(_("The end must be after the start."), attr="valid_until")
    amounts = {product_id: _amount(value) for product_id, value in prices.items()}
    if not amounts:
        return PriceChangeResult(created=[], unchanged=0)

    price_list = price_list_qs_for_update().filter(pk=price_list_id).first()
    if price_list is None:
        raise InvalidPrice(_("Unknown price list."), attr="price_list")
    running: dict[int, list[Price]] = {}
    for row in (
        Price.objects.filter(price_list=price_list, product_id__in=amounts)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=start))
        .order_by("product_id", "valid_from")
    ):
        running.setdefault(row.product_id, []).append(row)

    label = actor_label(actor)[:120]
    user = actor if getattr(actor, "pk", None) else None
    to_close: list[Price] = []
    to_create: list[Price] = []
    new_rows: list[Price] = []
    unchanged = 0
    for product_id, amount in amounts.items():
        rows = running.get(product_id, [])
        current = next((r for r in rows if r.valid_from <= start), None)
        scheduled = [r for r in rows if r.valid_from > start]
        if current is not None and current.valid_from == start:
            raise PriceOverlap(
                _("A price for product %(product)s already starts at this moment.") % {"product": product_id},
                attr="valid_from",
            )
        end = valid_until
        if scheduled:
            next_start = scheduled[0].valid_from
            if end is None:
                end = next_start
            elif next_start < end:
                raise PriceOverlap(
                    _("Product %(product)s has a price scheduled from %(moment)s; it may not overlap.")
                    % {"product": product_id, "moment": timezone.localtime(next_start).strftime("%Y-%m-%d %H:%M")},
                    attr="valid_until",
                )
        if current is not None and current.gross_amount == amount:
            covers = current.valid_until is None or (end is not None and current.valid_until >= end)
            if covers:
                unchanged += 1
                continue
        if current is not None:
            old_until = current.valid_until
            current.valid_until = start
            to_close.append(current)
            if end is not None and (old_until is None or old_until > end):
                # a temporary price: the old price comes back after it
                to_create.append(
                    Price(
                        price_list=price_list,
                        product_id=product_id,
                        gross_amount=current.gross_amount,
                        valid_from=end,
                        valid_until=old_until,
                        created_by=user,
                        created_by_label=label,
                    )
                )
        row = Price(
            price_list=price_list,
            product_id=product_id,
            gross_amount=amount,
            valid_from=start,
            valid_until=end,
            created_by=user,
            created_by_label=label,
        )
        new_rows.append(row)
        to_create.append(row)
    if to_close:
        Price.objects.bulk_update(to_close, ["valid_until"], batch_size=1000)
    if to_create:
        Price.objects.bulk_create(to_create, batch_size=1000)
    return PriceChangeResult(created=new_rows, unchanged=unchanged)


def price_set(
    *,
    price_list_id: int,
    product_id: int,
    gross_amount: Decimal,
    valid_from: datetime.datetime | None = None,
    valid_until: datetime.datetime | None = None,
    actor=None,
) -> Price | None:
    """Set one price; returns the new row, or None when the price already was that."""
    result = prices_set(
        price_list_id=price_list_id,
        prices={product_id: gross_amount},
        valid_from=valid_from,
        valid_until=valid_until,
        actor=actor,
    )
    return result.created[0] if result.created else None


@transaction.atomic
def price_withdraw(*, price_id: int, actor=None) -> None:
    """Withdraw a scheduled price before it takes effect; the price before it runs on
    in its place. A price that took effect is history and stays."""
    list_id = Price.objects.filter(pk=price_id).values_list("price_list_id", flat=True).first()
    if list_id is None:
        raise InvalidPrice(_("Unknown price."))
    price_list_qs_for_update().filter(pk=list_id).first()  # serialise with other changes to the list
    row = Price.objects.get(pk=price_id)
    if row.valid_from <= timezone.now():
        raise PriceNotWithdrawable(_("This price has taken effect; set a new price instead."))
    before = Price.objects.filter(
        price_list_id=row.price_list_id, product_id=row.product_id, valid_until=row.valid_from
    ).first()
    row.delete()
    if before is not None:
        # the price before fills the gap: up to where the withdrawn one ended (open if it was open)
        before.valid_until = row.valid_until
        before.save(update_fields=["valid_until"])


@transaction.atomic
def price_list_for_channel_ensure(*, channel, actor=None) -> PriceList:
    """The channel's own price list, created empty when it has none."""
    price_list = PriceList.objects.filter(channel=channel).first()
    if price_list is None:
        price_list, _created = PriceList.objects.get_or_create(
            channel=channel, defaults={"code": f"channel-{channel.code}"[:40], "name": channel.name[:120]}
        )
    return price_list
