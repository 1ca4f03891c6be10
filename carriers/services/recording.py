"""Recording what a carrier answered: new events only, the parcel's new status, the next
poll, and the watch list. Runs after the carrier call, never during it.

A batch (one call's answers, up to the adapter's batch size) is recorded in one
transaction, in a fixed number of queries whatever its size: the stored event keys and the
open issues of its parcels read once; the status changes applied together through
`orders.services.tracking.shipments_tracking_apply` (which locks the orders, then the
shipments, in the house lock order, and writes the order events, the order statuses, the
webhooks and the mails); the new events inserted in one statement (the unique key
(shipment, key) drops what the carrier repeats); the tracking states written in one
UPDATE; issues closed and opened together. So the statuses, the order events, the
webhooks, the mails and the stored events of a batch are written together or not at all;
a crash between two batches loses nothing: events not stored are new again at the next
poll.
"""

import dataclasses
import datetime
import logging
from collections import defaultdict

from django.db import transaction

from carriers.adapters.base import TrackingRequest
from carriers.models import ShipmentEvent, ShipmentTracking, TrackingIssue
from carriers.services.schedule import PollPlan
from carriers.services.watch import tracking_issue_changes, tracking_issues_close, tracking_issues_open
from carriers.statuses import ShipmentStatus, TrackingEvent, TrackingResult, is_final
from core.db import rows_update
from orders.services.tracking import TrackingChange, shipments_tracking_apply

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
    new_events: list[tuple[TrackingEvent, str]]  # with its key
    status: str
    delivered_at: datetime.datetime | None
    latest: TrackingEvent | None
    state: dict
    lost_detail: dict | None


def tracking_states_update(rows: list[tuple[int, dict]]) -> None:
    """Write the polling state of many parcels [(shipment_id, state)], each its own values,
    in one statement (`core.db.rows_update`)."""
    rows_update(
        ShipmentTracking,
        fields=STATE_FIELDS,
        rows=[(shipment_id, *(state[name] for name in STATE_FIELDS)) for shipment_id, state in rows],
    )


def _event_row(shipment_id: int, event: TrackingEvent, key: str) -> ShipmentEvent:
    return ShipmentEvent(
        shipment_id=shipment_id,
        status=event.status,
        occurred_at=event.occurred_at,
        carrier_status_code=event.carrier_status_code[:40],
        description=event.description[:500],
        location=event.location[:200],
        raw=event.raw,
        key=key,
    )


def _plan(target: PollTarget, result: TrackingResult, known: set[str], plan: PollPlan, now: datetime.datetime) -> _Plan:
    keyed = [(e, e.key) for e in result.events] if result.found else []
    new_events = [(e, key) for e, key in keyed if key not in known]
    last_event_at = max(
        [e.occurred_at for e, _key in new_events] + ([target.last_event_at] if target.last_event_at else []),
        default=None,
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
    """Store what the carrier answered for these parcels, in one transaction (see the
    module docstring).

    From a change feed only the parcels with something new are touched (the feed lists
    changes, its silence about a parcel says nothing)."""
    outcome = RecordOutcome()
    if not pairs:
        return outcome
    with transaction.atomic():
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

        planned: list[_Plan] = []
        for target, result in pairs:
            one = _plan(target, result, known[target.shipment_id], plan, now)
            if from_feed and not one.new_events:
                continue
            planned.append(one)
        outcome.answered = len(planned)
        if not planned:
            return outcome
        changed = [p for p in planned if p.status != p.target.status]
        statuses = _apply_changes(changed, outcome) if changed else {}

        rows: list[ShipmentEvent] = []
        states: list[tuple[int, dict]] = []
        closes: list[tuple[int, str, str]] = []
        opens: list[tuple[int, str, dict]] = []
        for p in planned:
            shipment_id = p.target.shipment_id
            state, reached = p.state, None
            if shipment_id in statuses:
                status = statuses[shipment_id]
                if status == p.status:
                    reached = status
                else:  # the order refused the change: follow the status the parcel kept
                    state = {**state, "stopped_at": None, "stop_reason": ""}
                    state["next_poll_at"] = plan.next_poll_at(status=status, now=now, shipment_id=shipment_id)
                    if is_final(status):
                        state.update(stopped_at=now, stop_reason=StopReason.FINAL)
            lost = p.lost_detail if state["stop_reason"] in (StopReason.GIVEN_UP, StopReason.NOT_FOUND) else None
            issue_closes, issue_opens = tracking_issue_changes(
                shipment_id=shipment_id,
                open_kinds=open_issues[shipment_id],
                status=reached,
                status_detail=_issue_detail(reached, p.latest) if reached else None,
                moved_on=bool(p.new_events),
                lost_detail=lost,
            )
            closes += issue_closes
            opens += issue_opens
            rows += [_event_row(shipment_id, event, key) for event, key in p.new_events]
            states.append((shipment_id, state))
            outcome.given_up += int(lost is not None)
            outcome.finished += int(state["stop_reason"] == StopReason.FINAL)

        ShipmentEvent.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        tracking_states_update(states)
        tracking_issues_close(items=closes, now=now)
        tracking_issues_open(items=opens, now=now)
    outcome.events_stored += len(rows)
    return outcome


def _apply_changes(changed: list[_Plan], outcome: RecordOutcome) -> dict[int, str | None]:
    """Hand the batch's status changes to the orders; the status each parcel has now."""
    applied = shipments_tracking_apply(
        changes=[
            TrackingChange(
                shipment_id=p.target.shipment_id,
                status=p.status,
                delivered_at=p.delivered_at,
                event=_event_summary(p.latest) if p.latest else None,
            )
            for p in changed
        ]
    )
    statuses = {}
    for p, result in zip(changed, applied, strict=True):
        if result.error is not None:
            # the order refused (e.g. the parcel is final already): keep the events, not the status
            logger.warning(
                "tracking status not applied",
                extra={
                    "shipment": result.shipment_id,
                    "status": p.status,
                    "error": str(result.error),
                    "code": result.error.code,
                },
            )
            outcome.refused_changes += 1
        else:
            outcome.status_changes += 1
        statuses[result.shipment_id] = result.status
    return statuses


def _event_summary(event: TrackingEvent) -> dict:
    return {
        "occurred_at": event.occurred_at,
        "carrier_status_code": event.carrier_status_code,
        "description": event.description,
        "location": event.location,
    }


def _issue_detail(status: str, latest: TrackingEvent | None) -> dict:
    return {
        "status": status,
        "occurred_at": latest.occurred_at.isoformat() if latest else None,
        "description": latest.description if latest else "",
        "location": latest.location if latest else "",
    }
