"""Recording what a carrier answered: new events only, the parcel's new status, the next
poll, and the watch list. Runs after the carrier call, never during it, in short
transactions:

- parcels whose status did not change: one transaction per batch (events, tracking states,
  issues closed because the parcel moved);
- a parcel whose status changed: one transaction of its own, in the house lock order (order
  → shipment through `orders.services.tracking.shipment_tracking_apply`, then this app's
  rows), so the status, the order event, the webhook, the mail and the stored events are
  written together or not at all. A crash between two transactions loses nothing: events
  not stored are new again at the next poll.
"""

import dataclasses
import datetime
import logging
from collections import defaultdict

from django.db import connection, transaction

from carriers.adapters.base import TrackingRequest
from carriers.models import ShipmentEvent, ShipmentTracking, TrackingIssue
from carriers.services.schedule import PollPlan
from carriers.services.watch import (
    MOVED_ON_CLOSES,
    tracking_issues_lost,
    tracking_issues_moved_on,
    tracking_issues_status_changed,
)
from carriers.statuses import ShipmentStatus, TrackingEvent, TrackingResult, is_final
from core.exceptions import ApplicationError
from orders.models import Shipment
from orders.services.tracking import shipment_tracking_apply

logger = logging.getLogger(__name__)

StopReason = ShipmentTracking.StopReason
STATE_FIELDS = ["next_poll_at", "last_polled_at", "last_event_at", "attempts", "stopped_at", "stop_reason"]
# What the poller reads of a tracked parcel (ShipmentTracking joined to its shipment).
TARGET_FIELDS = (
    "shipment_id",
    "shipment__tracking_code",
    "shipment__postal_code",
    "shipment__country",
    "shipment__status",
    "started_at",
    "last_event_at",
    "attempts",
    "stop_reason",
)


@dataclasses.dataclass(slots=True)
class PollTarget:
    """One tracked parcel as the poller sees it."""

    shipment_id: int
    tracking_code: str
    postal_code: str
    country: str
    status: str
    started_at: datetime.datetime
    last_event_at: datetime.datetime | None
    attempts: int
    stop_reason: str = ""

    @classmethod
    def from_row(cls, row: tuple) -> "PollTarget":
        return cls(*row)

    def request(self) -> TrackingRequest:
        return TrackingRequest(self.tracking_code, postal_code=self.postal_code or None, country=self.country or None)


@dataclasses.dataclass(slots=True)
class RecordOutcome:
    answered: int = 0
    events_stored: int = 0
    status_changes: int = 0
    finished: int = 0
    given_up: int = 0
    refused_changes: int = 0

    def add(self, other: "RecordOutcome") -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


@dataclasses.dataclass(slots=True)
class _Plan:
    """What to write for one parcel."""

    target: PollTarget
    new_events: list[TrackingEvent]
    status: str
    delivered_at: datetime.datetime | None
    latest: TrackingEvent | None
    state: dict
    lost_detail: dict | None


def tracking_states_update(rows: list[tuple[int, dict]]) -> None:
    """Write the polling state of many parcels, each its own values.

    One parameterised UPDATE sent for all rows at once (executemany: a pipeline on
    PostgreSQL, a prepared statement on SQLite). `bulk_update` would build a CASE expression
    per field and row; for a batch of 100 parcels that costs more than the polling itself."""
    if not rows:
        return
    meta = ShipmentTracking._meta
    fields = [meta.get_field(name) for name in STATE_FIELDS]
    quote = connection.ops.quote_name
    sql = "UPDATE {table} SET {columns} WHERE {pk} = %s".format(  # noqa: S608 — names from the model, values as parameters
        table=quote(meta.db_table),
        columns=", ".join(f"{quote(field.column)} = %s" for field in fields),
        pk=quote(meta.pk.column),
    )
    params = [
        [field.get_db_prep_value(state[field.name], connection) for field in fields] + [shipment_id]
        for shipment_id, state in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _event_row(shipment_id: int, event: TrackingEvent) -> ShipmentEvent:
    return ShipmentEvent(
        shipment_id=shipment_id,
        status=event.status,
        occurred_at=event.occurred_at,
        carrier_status_code=event.carrier_status_code[:40],
        description=event.description[:500],
        location=event.location[:200],
        raw=event.raw,
        key=event.key,
    )


def _plan(target: PollTarget, result: TrackingResult, known: set[str], plan: PollPlan, now: datetime.datetime) -> _Plan:
    new_events = [e for e in result.events if e.key not in known] if result.found else []
    last_event_at = max(
        [e.occurred_at for e in new_events] + ([target.last_event_at] if target.last_event_at else []), default=None
    )
    latest = result.events[-1] if result.found and result.events else None
    status, delivered_at = target.status, None
    if (
        latest is not None
        and result.status != ShipmentStatus.UNKNOWN
        and not is_final(target.status)
        and (target.last_event_at is None or latest.occurred_at >= target.last_event_at)
    ):
        # the answer is at least as recent as anything seen: the carrier's current status
        status, delivered_at = result.status, result.delivered_at
    state = {
        "last_polled_at": now,
        "last_event_at": last_event_at,
        "attempts": 0 if new_events else target.attempts + 1,
        "next_poll_at": None,
        "stopped_at": None,
        "stop_reason": "",
    }
    lost_detail = None
    if is_final(status):
        state.update(stopped_at=now, stop_reason=StopReason.FINAL)
    else:
        quiet_since = max(d for d in (last_event_at, target.started_at) if d is not None)
        if not new_events and now - quiet_since >= plan.give_up_after:
            reason = StopReason.GIVEN_UP if (last_event_at or result.found) else StopReason.NOT_FOUND
            state.update(stopped_at=now, stop_reason=reason)
            lost_detail = {
                "reason": reason,
                "status": status,
                "last_scan_at": last_event_at.isoformat() if last_event_at else None,
                "days": plan.give_up_after.days,
            }
        else:
            state["next_poll_at"] = plan.next_poll_at(status=status, now=now, shipment_id=target.shipment_id)
    return _Plan(target, new_events, status, delivered_at, latest, state, lost_detail)


def tracking_results_record(
    *,
    pairs: list[tuple[PollTarget, TrackingResult]],
    plan: PollPlan,
    now: datetime.datetime,
    from_feed: bool = False,
) -> RecordOutcome:
    """Store what the carrier answered for these parcels (see the module docstring).

    From a change feed only the parcels with something new are touched (the feed lists
    changes, its silence about a parcel says nothing)."""
    outcome = RecordOutcome()
    if not pairs:
        return outcome
    shipment_ids = [target.shipment_id for target, _result in pairs]
    known: dict[int, set[str]] = defaultdict(set)
    for shipment_id, key in ShipmentEvent.objects.filter(shipment_id__in=shipment_ids).values_list(
        "shipment_id", "key"
    ):
        known[shipment_id].add(key)
    # the open watch-list issues of these parcels: most have none, so most need no issue query
    open_issues: dict[int, set[str]] = defaultdict(set)
    for shipment_id, kind in TrackingIssue.objects.filter(
        shipment_id__in=shipment_ids, resolved_at__isnull=True
    ).values_list("shipment_id", "kind"):
        open_issues[shipment_id].add(kind)

    quiet: list[_Plan] = []
    changed: list[_Plan] = []
    for target, result in pairs:
        planned = _plan(target, result, known[target.shipment_id], plan, now)
        if from_feed and not planned.new_events:
            continue
        outcome.answered += 1
        (changed if planned.status != target.status else quiet).append(planned)

    if quiet:
        with transaction.atomic():
            rows = [_event_row(p.target.shipment_id, e) for p in quiet for e in p.new_events]
            ShipmentEvent.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
            tracking_states_update([(p.target.shipment_id, p.state) for p in quiet])
            tracking_issues_moved_on(
                shipment_ids=[
                    p.target.shipment_id
                    for p in quiet
                    if p.new_events and open_issues[p.target.shipment_id] & set(MOVED_ON_CLOSES)
                ],
                now=now,
            )
            lost = [(p.target.shipment_id, p.lost_detail) for p in quiet if p.lost_detail]
            tracking_issues_lost(items=lost, now=now)
        outcome.events_stored += len(rows)
        outcome.given_up += len(lost)
        outcome.finished += sum(1 for p in quiet if p.state["stop_reason"] == StopReason.FINAL)

    for planned in changed:
        outcome.add(_record_change(planned, plan=plan, now=now, open_kinds=open_issues[planned.target.shipment_id]))
    return outcome


def _record_change(planned: _Plan, *, plan: PollPlan, now: datetime.datetime, open_kinds: set[str]) -> RecordOutcome:
    outcome = RecordOutcome()
    shipment_id = planned.target.shipment_id
    latest = planned.latest
    with transaction.atomic():
        try:
            shipment = shipment_tracking_apply(
                shipment_id=shipment_id,
                status=planned.status,
                delivered_at=planned.delivered_at,
                event={
                    "occurred_at": latest.occurred_at,
                    "carrier_status_code": latest.carrier_status_code,
                    "description": latest.description,
                    "location": latest.location,
                }
                if latest
                else None,
            )
        except ApplicationError as exc:
            # the order refused (e.g. the parcel is final already): keep the events, not the status
            logger.warning(
                "tracking status not applied",
                extra={"shipment": shipment_id, "status": planned.status, "error": str(exc), "code": exc.code},
            )
            outcome.refused_changes += 1
            status = Shipment.objects.filter(pk=shipment_id).values_list("status", flat=True).first()
        else:
            status = shipment.status
            outcome.status_changes += 1
        state = planned.state
        if status != planned.status:
            state = {**state, "stopped_at": None, "stop_reason": ""}
            state["next_poll_at"] = plan.next_poll_at(status=status, now=now, shipment_id=shipment_id)
            if is_final(status):
                state.update(stopped_at=now, stop_reason=StopReason.FINAL)
        rows = [_event_row(shipment_id, e) for e in planned.new_events]
        ShipmentEvent.objects.bulk_create(rows, ignore_conflicts=True)
        ShipmentTracking.objects.filter(shipment_id=shipment_id).update(**state)
        if status == planned.status:
            tracking_issues_status_changed(
                shipment_id=shipment_id,
                status=status,
                now=now,
                open_kinds=open_kinds,
                detail={
                    "status": status,
                    "occurred_at": latest.occurred_at.isoformat() if latest else None,
                    "description": latest.description if latest else "",
                    "location": latest.location if latest else "",
                },
            )
        elif planned.new_events and open_kinds & set(MOVED_ON_CLOSES):
            tracking_issues_moved_on(shipment_ids=[shipment_id], now=now)
        if planned.lost_detail and state["stop_reason"] in (StopReason.GIVEN_UP, StopReason.NOT_FOUND):
            tracking_issues_lost(items=[(shipment_id, planned.lost_detail)], now=now)
            outcome.given_up += 1
    outcome.events_stored += len(rows)
    outcome.finished += int(state["stop_reason"] == StopReason.FINAL)
    return outcome
