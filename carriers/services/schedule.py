"""When to ask a carrier about a parcel again.

By phase (staff-editable rules in `carriers.rules`, defaults):

| phase                          | every      |
| ------------------------------ | ---------- |
| first poll after shipping      | 30 min     |
| pre_transit / not known yet    | 2 h        |
| in_transit                     | 4 h        |
| out_for_delivery               | 1 h        |
| delivery_failed                | 1.5 h      |
| at_pickup_point                | 8 h        |
| exception                      | 4 h        |
| delivered / returned_to_sender | never (stop) |

- A carrier with a change feed (PostNL) is read every 10 minutes for everything that
  changed; its parcels are then asked about by code only as a safety net (every 24 h).
- The interval never drops below what the carrier's daily quota can carry for the number of
  open parcels (80% of the daily calls, so retries and the feed have room).
- Each parcel's moment is shifted by up to ±10% (fixed per parcel), so parcels shipped in one
  batch spread out instead of all falling due in the same minute forever.
- A parcel with no new event for 14 days (from its last scan, or from shipping) is given up.
"""

import dataclasses
import datetime

from carriers import rules
from carriers.adapters.base import CarrierAdapter
from carriers.statuses import ShipmentStatus, is_final
from core.rules import rule_values

QUOTA_SHARE = 0.8
JITTER = 0.1


@dataclasses.dataclass(frozen=True, slots=True)
class PollPlan:
    intervals: dict[str, datetime.timedelta]
    first_poll: datetime.timedelta
    feed_every: datetime.timedelta
    feed_safety_net: datetime.timedelta
    give_up_after: datetime.timedelta
    min_interval: datetime.timedelta
    uses_feed: bool

    def interval(self, status: str) -> datetime.timedelta:
        interval = max(self.intervals.get(status, self.intervals[ShipmentStatus.UNKNOWN]), self.min_interval)
        if self.uses_feed:
            interval = max(interval, self.feed_safety_net)
        return interval

    def next_poll_at(self, *, status: str, now: datetime.datetime, shipment_id: int) -> datetime.datetime | None:
        """None for a final status: it is not polled again."""
        if is_final(status):
            return None
        return now + spread(self.interval(status), shipment_id)

    def first_poll_at(self, *, now: datetime.datetime, shipment_id: int) -> datetime.datetime:
        first = self.feed_safety_net if self.uses_feed else max(self.first_poll, self.min_interval)
        return now + spread(first, shipment_id)


def spread(interval: datetime.timedelta, shipment_id: int) -> datetime.timedelta:
    """`interval` shifted by a fixed share in [-10%, +10%) that depends only on the parcel."""
    share = ((shipment_id * 2654435761) % 1000) / 1000  # Knuth's multiplicative hash
    return interval * (1 + JITTER * (2 * share - 1))


def poll_plan(*, adapter: CarrierAdapter, open_count: int = 0, now: datetime.datetime | None = None) -> PollPlan:
    """The schedule for one carrier: the rules valid at `now`, stretched to its quota."""
    keys = [
        *set(rules.PHASE_RULES.values()),
        rules.FIRST_POLL_MINUTES,
        rules.FEED_MINUTES,
        rules.FEED_SAFETY_NET_MINUTES,
        rules.GIVE_UP_DAYS,
    ]
    values = rule_values(keys, at=now)

    def minutes(key: str) -> datetime.timedelta:
        return datetime.timedelta(minutes=float(values[key]))

    polls_per_day = adapter.calls_per_day * QUOTA_SHARE * adapter.max_batch_size
    min_interval = (
        datetime.timedelta(days=1) * (open_count / polls_per_day)
        if open_count and polls_per_day
        else datetime.timedelta()
    )
    return PollPlan(
        intervals={status: minutes(key) for status, key in rules.PHASE_RULES.items()},
        first_poll=minutes(rules.FIRST_POLL_MINUTES),
        feed_every=minutes(rules.FEED_MINUTES),
        feed_safety_net=minutes(rules.FEED_SAFETY_NET_MINUTES),
        give_up_after=datetime.timedelta(days=float(values[rules.GIVE_UP_DAYS])),
        min_interval=min_interval,
        uses_feed=adapter.supports_change_feed,
    )
