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


def tracking_issues_close(*, items: Iterable[tuple[int, str, str]], now: datetime.datetime) -> int:
    """Close the open issues [(shipment_id, kind, resolution)] of many parcels at once: one
    read, one UPDATE per resolution, and their history rows. Returns how many were closed."""
    wanted: dict[tuple[int, str], str] = {}
    for shipment_id, kind, resolution in items:
        wanted.setdefault((shipment_id, kind), resolution)
    if not wanted:
        return 0
    by_resolution: dict[str, list[int]] = {}
    for pk, shipment_id, kind in TrackingIssue.objects.filter(
        shipment_id__in={shipment_id for shipment_id, _kind in wanted},
        kind__in={kind for _id, kind in wanted},
        resolved_at__isnull=True,
    ).values_list("pk", "shipment_id", "kind"):
        resolution = wanted.get((shipment_id, kind))
        if resolution:
            by_resolution.setdefault(resolution, []).append(pk)
    if not by_resolution:
        return 0
    for resolution, ids in by_resolution.items():
        TrackingIssue.objects.filter(pk__in=ids).update(resolved_at=now, resolution=resolution)
    ids = [pk for pks in by_resolution.values() for pk in pks]
    TrackingIssue.history.bulk_history_create(
        list(TrackingIssue.objects.filter(pk__in=ids)), update=True, custom_historical_attrs=_history_attrs()
    )
    return len(ids)


def status_issue_changes(*, status: str, open_kinds: set[str] | None = None) -> tuple[list[str], str, str | None]:
    """What reaching `status` does to a parcel's watch list: (the kinds of issue it closes,
    with which resolution, the kind it opens or None). With `open_kinds` (the kinds of the
    parcel's open issues) only what is open is closed and nothing open is opened again."""
    if status == S.DELIVERED:
        close = [k for k in Kind.values if k != Kind.RETURNED_TO_SENDER]
        resolution = Resolution.DELIVERED
    else:
        moved_past = [k for s, k in STATUS_ISSUES.items() if s != status and k != Kind.RETURNED_TO_SENDER]
        close = [*MOVED_ON_CLOSES, *moved_past]
        resolution = Resolution.MOVED_ON
    kind = STATUS_ISSUES.get(status)
    if open_kinds is not None:
        close = [k for k in close if k in open_kinds]
        if kind in open_kinds:
            kind = None
    return close, resolution, kind


def tracking_issue_changes(
    *,
    shipment_id: int,
    open_kinds: set[str],
    status: str | None = None,
    status_detail: dict | None = None,
    moved_on: bool = False,
    lost_detail: dict | None = None,
) -> tuple[list[tuple[int, str, str]], list[tuple[int, str, dict]]]:
    """What one recorded carrier answer does to a parcel's watch list: (the issues to close
    [(shipment_id, kind, resolution)], the issues to open [(shipment_id, kind, detail)]), for
    `tracking_issues_close` and `tracking_issues_open` (a batch's together).

    - `status`: the parcel reached this status (`status_issue_changes`);
    - `moved_on`: otherwise, new scans: a stalled or lost issue closes;
    - `lost_detail`: the poller gave up on the parcel: a `lost` issue replaces a `stalled` one.

    `open_kinds` are the kinds of the parcel's open issues: only those are closed."""
    closes: list[tuple[int, str, str]] = []
    opens: list[tuple[int, str, dict]] = []
    if status is not None:
        close, resolution, kind = status_issue_changes(status=status, open_kinds=open_kinds)
        closes += [(shipment_id, k, resolution) for k in close]
        if kind:
            opens.append((shipment_id, kind, status_detail or {}))
    elif moved_on:
        closes += [(shipment_id, k, Resolution.MOVED_ON) for k in MOVED_ON_CLOSES if k in open_kinds]
    if lost_detail is not None:
        if Kind.STALLED in open_kinds:
            closes.append((shipment_id, Kind.STALLED, Resolution.SUPERSEDED))
        opens.append((shipment_id, Kind.LOST, lost_detail))
    return closes, opens


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
