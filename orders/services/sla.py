"""Service levels: the promised ship date and the watch on fulfilments at risk or late.

Promise: an order that is releasable on a warehouse business day before the cut-off
(the earlier of the channel's and the location's) ships that day; otherwise on the next
business day (core.calendar, purpose `warehouse`: weekends and Dutch public holidays
off, plus staff exceptions)."""

import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import calendar
from core.rules import define_rule, rule_value
from orders.models import Fulfilment
from orders.states import SHIPPABLE_FULFILMENT_STATUSES, FulfilmentStatus, SlaStatus

AT_RISK_MINUTES_BEFORE_CUTOFF = define_rule(
    "orders.sla.at_risk_minutes_before_cutoff",
    60,
    label="Minutes before the location's cut-off at which an unpacked fulfilment promised today is at risk",
)


def promised_ship_date(
    *, ready_at: datetime.datetime, channel_cutoff: datetime.time, location_cutoff: datetime.time | None = None
) -> datetime.date:
    local = timezone.localtime(ready_at)
    cutoff = min(channel_cutoff, location_cutoff) if location_cutoff else channel_cutoff
    if calendar.is_business_day(local.date(), calendar.WAREHOUSE) and local.time() < cutoff:
        return local.date()
    return calendar.next_business_day(local.date(), calendar.WAREHOUSE, include_today=False)


def fulfilment_sla_status(
    *, promised: datetime.date | None, status: str, cutoff: datetime.time, now: datetime.datetime, margin_minutes: int
) -> str:
    if promised is None or (status not in SHIPPABLE_FULFILMENT_STATUSES and status != FulfilmentStatus.WAITING):
        return SlaStatus.ON_TRACK
    local = timezone.localtime(now)
    if local.date() > promised:
        return SlaStatus.LATE
    if local.date() == promised:
        if local.time() >= cutoff:
            return SlaStatus.LATE if status != FulfilmentStatus.PACKED else SlaStatus.AT_RISK
        warn_at = (datetime.datetime.combine(local.date(), cutoff) - datetime.timedelta(minutes=margin_minutes)).time()
        if local.time() >= warn_at and status != FulfilmentStatus.PACKED:
            return SlaStatus.AT_RISK
    return SlaStatus.ON_TRACK


def sla_watch(*, now: datetime.datetime | None = None, batch_size: int = 2000) -> dict[str, int]:
    """Re-judge every open fulfilment promised up to today; returns counts per status.
    Rows are updated only when their judgement changes (one UPDATE per status)."""
    from orders.events import OrderEventKind, order_event_build, order_events_create

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    margin = int(rule_value(AT_RISK_MINUTES_BEFORE_CUTOFF))
    open_statuses = [FulfilmentStatus.WAITING, *SHIPPABLE_FULFILMENT_STATUSES]
    candidates = (
        Fulfilment.objects.filter(status__in=open_statuses)
        .filter(Q(promised_ship_date__lte=today) | ~Q(sla_status=SlaStatus.ON_TRACK))
        .select_related("location", "order")
        .order_by("pk")
    )
    changes: dict[str, list[int]] = {s: [] for s in SlaStatus.values}
    events = []
    counts = dict.fromkeys(SlaStatus.values, 0)
    for fulfilment in candidates.iterator(chunk_size=batch_size):
        judged = fulfilment_sla_status(
            promised=fulfilment.promised_ship_date,
            status=fulfilment.status,
            cutoff=fulfilment.location.cutoff_time,
            now=now,
            margin_minutes=margin,
        )
        counts[judged] += 1
        if judged != fulfilment.sla_status:
            changes[judged].append(fulfilment.pk)
            events.append(
                order_event_build(
                    order=fulfilment.order,
                    kind=OrderEventKind.SLA_CHANGED,
                    from_status=fulfilment.sla_status,
                    to_status=judged,
                    data={"fulfilment": fulfilment.code, "promised_ship_date": str(fulfilment.promised_ship_date)},
                )
            )
    with transaction.atomic():
        for status, ids in changes.items():
            if ids:
                Fulfilment.objects.filter(pk__in=ids).update(sla_status=status, updated_at=now)
        order_events_create(events)
    return counts
