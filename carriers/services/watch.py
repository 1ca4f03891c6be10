"""The watch list: parcels that need a person before the customer calls.

- A failed delivery, a return to sender or a problem reported by the carrier opens an
  issue when the parcel reaches that status.
- A parcel without a scan for N carrier business days opens a `stalled` issue
  (`tracking_stalled_check`, hourly); one the poller gives up on opens a `lost` issue.
- Issues close by themselves when the parcel moves on (any new scan closes `stalled` and
  `lost`; leaving the status closes `delivery_failed` and `exception`; delivery closes all but
  `returned_to_sender`), or when staff resolve them with a note.

One open issue per parcel and kind (a partial unique constraint).
"""

import datetime
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from carriers import rules
from carriers.models import ShipmentTracking, TrackingIssue
from carriers.statuses import FINAL_STATUSES, ShipmentStatus
from core.audit import SYSTEM_LABEL, actor_label, audited
from core.calendar import CARRIER, is_business_day
from core.exceptions import Conflict, NotFound, PermissionDenied
from core.rules import rule_value

Kind = TrackingIssue.Kind
Resolution = TrackingIssue.Resolution
S = ShipmentStatus

RESOLVE_PERMISSION = "carriers.resolve_trackingissue"
STATUS_ISSUES: dict[str, str] = {
    S.DELIVERY_FAILED: Kind.DELIVERY_FAILED,
    S.RETURNED_TO_SENDER: Kind.RETURNED_TO_SENDER,
    S.EXCEPTION: Kind.EXCEPTION,
}
MOVED_ON_CLOSES = (Kind.STALLED, Kind.LOST)
CHUNK = 1000


def _history_attrs() -> dict:
    return {"history_actor": (actor_label() or SYSTEM_LABEL)[:120]}


def tracking_issues_open(*, items: Iterable[tuple[int, str, dict]], now: datetime.datetime) -> int:
    """Open an issue per (shipment_id, kind, detail) unless one of that kind is open.
    Returns how many were opened. Each opened issue gets its history row (who opened it)."""
    items = list(items)
    if not items:
        return 0
    open_now = set(
        TrackingIssue.objects.filter(
            resolved_at__isnull=True,
            shipment_id__in={shipment_id for shipment_id, _kind, _detail in items},
            kind__in={kind for _id, kind, _detail in items},
        ).values_list("shipment_id", "kind")
    )
    rows = {}
    for shipment_id, kind, detail in items:
        if (shipment_id, kind) not in open_now:
            rows[(shipment_id, kind)] = TrackingIssue(shipment_id=shipment_id, kind=kind, opened_at=now, detail=detail)
    if not rows:
        return 0
    try:
        with transaction.atomic():
            created = TrackingIssue.objects.bulk_create(list(rows.values()))
    except IntegrityError:
        # a parallel run opened one meanwhile: the constraint keeps it single, the rest is opened
        created = []
        for row in rows.values():
            row.pk = None
            try:
                with transaction.atomic():
                    TrackingIssue.objects.bulk_create([row])
            except IntegrityError:
                continue
            created.append(row)
    TrackingIssue.history.bulk_history_create(created, custom_historical_attrs=_history_attrs())
    return len(created)


def tracking_issues_close(
    *, shipment_ids: Iterable[int], kinds: Iterable[str], resolution: str, now: datetime.datetime
) -> int:
    shipment_ids = list(shipment_ids)
    if not shipment_ids:
        return 0
    ids = list(
        TrackingIssue.objects.filter(
            shipment_id__in=shipment_ids, kind__in=list(kinds), resolved_at__isnull=True
        ).values_list("pk", flat=True)
    )
    if not ids:
        return 0
    TrackingIssue.objects.filter(pk__in=ids).update(resolved_at=now, resolution=resolution)
    TrackingIssue.history.bulk_history_create(
        list(TrackingIssue.objects.filter(pk__in=ids)),
        update=True,
        custom_historical_attrs=_history_attrs(),
    )
    return len(ids)


def tracking_issues_status_changed(
    *,
    shipment_id: int,
    status: str,
    now: datetime.datetime,
    detail: dict | None = None,
    open_kinds: set[str] | None = None,
) -> None:
    """The parcel reached `status` (inside the transaction that records it). `open_kinds`,
    when the caller knows them, are the kinds of the parcel's open issues (saves queries)."""
    if status == S.DELIVERED:
        close = [k for k in Kind.values if k != Kind.RETURNED_TO_SENDER]
        resolution = Resolution.DELIVERED
    else:
        moved_past = [k for s, k in STATUS_ISSUES.items() if s != status and k != Kind.RETURNED_TO_SENDER]
        close = [*MOVED_ON_CLOSES, *moved_past]
        resolution = Resolution.MOVED_ON
    if open_kinds is not None:
        close = [k for k in close if k in open_kinds]
    if close:
        tracking_issues_close(shipment_ids=[shipment_id], kinds=close, resolution=resolution, now=now)
    kind = STATUS_ISSUES.get(status)
    if kind and (open_kinds is None or kind not in open_kinds):
        tracking_issues_open(items=[(shipment_id, kind, detail or {})], now=now)


def tracking_issues_moved_on(*, shipment_ids: Iterable[int], now: datetime.datetime) -> int:
    """New scans for these parcels: they are not stalled or lost."""
    return tracking_issues_close(
        shipment_ids=shipment_ids, kinds=MOVED_ON_CLOSES, resolution=Resolution.MOVED_ON, now=now
    )


def tracking_issues_lost(*, items: list[tuple[int, dict]], now: datetime.datetime) -> int:
    """The poller gave up on these parcels: a `lost` issue replaces a `stalled` one."""
    tracking_issues_close(
        shipment_ids=[shipment_id for shipment_id, _detail in items],
        kinds=[Kind.STALLED],
        resolution=Resolution.SUPERSEDED,
        now=now,
    )
    return tracking_issues_open(items=[(shipment_id, Kind.LOST, detail) for shipment_id, detail in items], now=now)


def stalled_cutoff(now: datetime.datetime, business_days: int) -> datetime.datetime:
    """A parcel whose last scan is before this moment had no scan on the last
    `business_days` whole carrier business days (today does not count yet)."""
    day = timezone.localdate(now)
    counted = 0
    while counted < max(business_days, 1):
        day -= datetime.timedelta(days=1)
        if is_business_day(day, CARRIER):
            counted += 1
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def tracking_stalled_check(*, now: datetime.datetime | None = None) -> int:
    """Open a `stalled` issue for each tracked parcel without a scan for N carrier business
    days, provided the carrier answered since then (an outage is not a stalled parcel).
    Parcels waiting at a pickup point are not stalled. Returns how many were opened."""
    now = now or timezone.now()
    business_days = int(rule_value(rules.STALLED_BUSINESS_DAYS, at=now))
    cutoff = stalled_cutoff(now, business_days)
    open_stalled = TrackingIssue.objects.filter(
        shipment_id=OuterRef("shipment_id"), kind=Kind.STALLED, resolved_at__isnull=True
    )
    candidates = (
        ShipmentTracking.objects.filter(stopped_at__isnull=True, last_polled_at__gte=cutoff)
        .filter(Q(last_event_at__lt=cutoff) | Q(last_event_at__isnull=True, started_at__lt=cutoff))
        .exclude(shipment__status__in=[*FINAL_STATUSES, S.AT_PICKUP_POINT])
        .exclude(Exists(open_stalled))
        .order_by("shipment_id")
        .values_list("shipment_id", "last_event_at", "shipment__status")
    )
    opened = 0
    batch: list[tuple[int, str, dict]] = []
    for shipment_id, last_event_at, status in candidates.iterator(chunk_size=CHUNK):
        detail = {
            "last_scan_at": last_event_at.isoformat() if last_event_at else None,
            "status": status,
            "business_days": business_days,
        }
        batch.append((shipment_id, Kind.STALLED, detail))
        if len(batch) >= CHUNK:
            with transaction.atomic():
                opened += tracking_issues_open(items=batch, now=now)
            batch = []
    if batch:
        with transaction.atomic():
            opened += tracking_issues_open(items=batch, now=now)
    return opened


@transaction.atomic
def tracking_issue_resolve(*, issue_id: int, actor, note: str, now: datetime.datetime | None = None) -> TrackingIssue:
    """Staff dealt with the parcel (claimed it at the carrier, sent a new one, …)."""
    note = (note or "").strip()
    if not note:
        raise Conflict(_("Give a reason."), code="reason_required")
    if actor is not None and not actor.has_perm(RESOLVE_PERMISSION):
        raise PermissionDenied(_("You may not resolve tracking issues."))
    issue = TrackingIssue.objects.select_for_update().filter(pk=issue_id).first()
    if issue is None:
        raise NotFound(_("Tracking issue not found."))
    if issue.resolved_at is not None:
        raise Conflict(_("This issue is already resolved."), code="already_resolved")
    issue.resolved_at = now or timezone.now()
    issue.resolution = Resolution.STAFF
    issue.resolved_by = actor
    issue.note = note[:255]
    with audited(actor):
        issue.save(update_fields=["resolved_at", "resolution", "resolved_by", "note"])
    return issue
