"""The normalised track & trace vocabulary every carrier adapter speaks.

Each carrier has its own status codes; the adapters map them onto `ShipmentStatus`, so the
rest of the back-office (shipments, the helpdesk timeline, the withdrawal period) reads one
set of words.

Final statuses: a shipment whose carrier status is final is no longer polled.
- `delivered` and `returned_to_sender` are final.
- `exception` is NOT final. Carriers report problems (missing parcel, customs hold, damage)
  that are usually resolved: a "missing" parcel is found and moves on. A parcel that is really
  lost simply stops moving; the poller gives up on a shipment by age (no new event for a
  number of days), not by status.
- `at_pickup_point` is not final either: the customer has not collected the parcel yet, so
  the withdrawal period has not started, and the carrier reports the collection later
  (`delivered`) or sends the parcel back (`returned_to_sender`).
- `delivery_failed` is followed by a new attempt, a pickup point or a return.
"""

import dataclasses
import datetime
import hashlib

from django.db import models
from django.utils.translation import gettext_lazy as _


class ShipmentStatus(models.TextChoices):
    PRE_TRANSIT = "pre_transit", _("Announced to the carrier")
    IN_TRANSIT = "in_transit", _("In transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    AT_PICKUP_POINT = "at_pickup_point", _("At pickup point")
    DELIVERED = "delivered", _("Delivered")
    DELIVERY_FAILED = "delivery_failed", _("Delivery failed")
    RETURNED_TO_SENDER = "returned_to_sender", _("Returned to sender")
    EXCEPTION = "exception", _("Problem at the carrier")
    UNKNOWN = "unknown", _("Unknown")


STATUS_VALUES: frozenset[str] = frozenset(ShipmentStatus.values)
FINAL_STATUSES: frozenset[str] = frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED_TO_SENDER})
OPEN_STATUSES: frozenset[str] = frozenset(set(ShipmentStatus.values) - FINAL_STATUSES)

# How far along the normal life cycle a status is. The failed-attempt loop
# (out_for_delivery → delivery_failed → out_for_delivery …) stays on one step, so a parcel
# whose steps never go down "only moves forward". `exception` and `unknown` have no step.
LIFE_CYCLE_STEP: dict[str, int] = {
    ShipmentStatus.PRE_TRANSIT: 0,
    ShipmentStatus.IN_TRANSIT: 1,
    ShipmentStatus.OUT_FOR_DELIVERY: 2,
    ShipmentStatus.DELIVERY_FAILED: 2,
    ShipmentStatus.AT_PICKUP_POINT: 3,
    ShipmentStatus.DELIVERED: 4,
    ShipmentStatus.RETURNED_TO_SENDER: 4,
}

EVENT_KEY_LENGTH = 40


def is_final(status: str) -> bool:
    return status in FINAL_STATUSES


def event_key(tracking_code: str, carrier_status_code: str, occurred_at: datetime.datetime) -> str:
    """A stable identity for one carrier event.

    Built only from what a carrier repeats identically every time it reports the event: the
    tracking code, the carrier's own status code and the moment (in UTC, so a carrier that
    writes the same moment once as local time and once with an offset gives one key). The
    description and location are left out: they change with the requested language.
    """
    moment = occurred_at.astimezone(datetime.UTC).isoformat()
    raw = f"{tracking_code.strip().upper()}\x1f{carrier_status_code}\x1f{moment}"
    return hashlib.sha256(raw.encode()).hexdigest()[:EVENT_KEY_LENGTH]


@dataclasses.dataclass(frozen=True, slots=True)
class TrackingEvent:
    """One thing the carrier says happened to a parcel."""

    tracking_code: str
    status: str
    occurred_at: datetime.datetime
    carrier_status_code: str
    description: str = ""
    location: str = ""
    raw: dict = dataclasses.field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self):
        if self.occurred_at.tzinfo is None or self.occurred_at.utcoffset() is None:
            raise ValueError("TrackingEvent.occurred_at must be an aware datetime")
        if self.status not in STATUS_VALUES:
            raise ValueError(f"Unknown normalised status {self.status!r}")

    @property
    def key(self) -> str:
        return event_key(self.tracking_code, self.carrier_status_code, self.occurred_at)


@dataclasses.dataclass(frozen=True, slots=True)
class TrackingResult:
    """What the carrier knows about one tracking code at the moment of asking.

    `events` are sorted by time, oldest first, without duplicates. `status` is the parcel's
    current normalised status; `delivered_at` is set when it is `delivered`. A code the carrier
    does not know has `found=False` and an `error_code` (e.g. `not_found`).
    """

    tracking_code: str
    found: bool
    status: str = ShipmentStatus.UNKNOWN
    events: list[TrackingEvent] = dataclasses.field(default_factory=list, hash=False)
    delivered_at: datetime.datetime | None = None
    error_code: str = ""

    @property
    def is_final(self) -> bool:
        return is_final(self.status)

    @classmethod
    def not_found(cls, tracking_code: str, error_code: str = "not_found") -> "TrackingResult":
        return cls(tracking_code=tracking_code, found=False, error_code=error_code)

    @classmethod
    def from_events(
        cls,
        tracking_code: str,
        events: list[TrackingEvent],
        *,
        status: str | None = None,
        delivered_at: datetime.datetime | None = None,
    ) -> "TrackingResult":
        """A found result: events sorted (stable, so equal moments keep the carrier's order) and
        deduplicated by key. Without an explicit status, the latest event with a known status
        gives it; `delivered_at` defaults to the latest `delivered` event."""
        unique: dict[str, TrackingEvent] = {}
        for event in sorted(events, key=lambda e: e.occurred_at):
            unique.setdefault(event.key, event)
        ordered = list(unique.values())
        if status is None:
            status = next(
                (e.status for e in reversed(ordered) if e.status != ShipmentStatus.UNKNOWN), ShipmentStatus.UNKNOWN
            )
        if status == ShipmentStatus.DELIVERED and delivered_at is None:
            delivered_at = next(
                (e.occurred_at for e in reversed(ordered) if e.status == ShipmentStatus.DELIVERED), None
            )
        if status != ShipmentStatus.DELIVERED:
            delivered_at = None
        return cls(tracking_code=tracking_code, found=True, status=status, events=ordered, delivered_at=delivered_at)
