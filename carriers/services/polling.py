"""Polling the carriers: one carrier at a time, only the parcels that are due.

`carrier_poll(carrier=…)` is one run for one carrier (the Celery task `carriers.poll_carrier`
calls it; beat's `carriers.poll_due` fans out one task per carrier, so an outage of one
carrier never holds up another):

1. A carrier that is backing off (after a 429, a timeout or a 5xx) is left alone.
2. With a change feed (PostNL), read what changed since the last read, in steps of at most
   2 hours and never more than 48 hours back, one quota call per step.
3. The due parcels (tracked, not stopped, `next_poll_at` passed), oldest first, read in
   chunks (bounded memory), asked about in batches of the adapter's `max_batch_size`, one
   quota call per batch; when this second's budget is used the run waits for the next
   second, when today's is used it stops. The last, partial batch is filled with the
   parcels due in the next half hour (no extra call, and no calls for one parcel a minute).
4. After each answer the batch's results are recorded (`carriers.services.recording`) in
   one short transaction: never a carrier call inside a transaction or while holding a
   row lock.
5. A 429 backs the carrier off for at least its Retry-After, a timeout or 5xx backs it off
   exponentially, wrong credentials back it off for the maximum; the run stops and the
   parcels stay due. The first answer after a failure clears the backoff.

Only one run per carrier at a time (a lock in the cache); a run that finds one going
returns at once. `tracking_poll_cycle()` runs every carrier once (the operators' command
and the benchmark).
"""

import dataclasses
import datetime
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from carriers import conf
from carriers.adapters.base import CarrierAdapter
from carriers.exceptions import CarrierAuthError, CarrierError, CarrierRateLimited, CarrierUnavailable
from carriers.models import CarrierFeedCursor, ShipmentTracking
from carriers.quota import (
    carrier_backoff,
    carrier_backoff_clear,
    carrier_backoff_until,
    carrier_failures,
    quota_acquire,
    quota_usage,
)
from carriers.registry import get_adapter
from carriers.services.recording import TARGET_FIELDS, PollTarget, RecordOutcome, tracking_results_record
from carriers.services.schedule import PollPlan, poll_plan
from carriers.services.tracking import BACKFILL_LIMIT, tracking_states_backfill
from carriers.statuses import FINAL_STATUSES, TrackingResult
from core.audit import acting_as

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500
FEED_STEP = datetime.timedelta(hours=2)
FEED_FIRST_LOOKBACK = datetime.timedelta(hours=2)
FEED_MAX_LOOKBACK = datetime.timedelta(hours=48)
RUN_LOCK_SECONDS = 6 * 60
TOP_UP_WINDOW = datetime.timedelta(minutes=30)

OK, BACKOFF, QUOTA, OUT_OF_TIME = "ok", "backoff", "quota", "time"


@dataclasses.dataclass
class PollStats:
    """What one run for one carrier did."""

    carrier: str
    due: int = 0  # parcels due when the run started
    polled: int = 0  # parcels asked about and answered (the early ones included)
    early: int = 0  # parcels not yet due, asked about to fill a batch
    feed_parcels: int = 0  # parcels with news from the change feed
    calls: int = 0  # calls made (quota taken), the feed's included
    feed_calls: int = 0
    events_stored: int = 0
    status_changes: int = 0
    finished: int = 0  # reached a final status: no longer polled
    given_up: int = 0  # no news for too long: reported as probably lost
    refused: int = 0  # parcels the carrier refused to answer about (4xx)
    skipped_quota: int = 0  # due parcels left because today's budget is used
    skipped_backoff: int = 0  # due parcels left because the carrier is backing off
    deferred: int = 0  # due parcels left because the run used its time
    failed_calls: int = 0
    error: str = ""
    backoff_until: datetime.datetime | None = None
    already_running: bool = False
    seconds: float = 0.0

    def add_outcome(self, outcome: RecordOutcome, *, feed: bool = False) -> None:
        if feed:
            self.feed_parcels += outcome.answered
        else:
            self.polled += outcome.answered
        self.events_stored += outcome.events_stored
        self.status_changes += outcome.status_changes
        self.finished += outcome.finished
        self.given_up += outcome.given_up

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["backoff_until"] = self.backoff_until.isoformat() if self.backoff_until else None
        return data


COUNTED = (
    "due",
    "polled",
    "early",
    "feed_parcels",
    "calls",
    "feed_calls",
    "events_stored",
    "status_changes",
    "finished",
    "given_up",
    "refused",
    "skipped_quota",
    "skipped_backoff",
    "deferred",
    "failed_calls",
)


@dataclasses.dataclass
class PollCycle:
    """One run for each carrier (`tracking_poll_cycle`)."""

    carriers: dict[str, PollStats]
    seconds: float = 0.0

    def totals(self) -> dict[str, int]:
        return {name: sum(getattr(s, name) for s in self.carriers.values()) for name in COUNTED}


class _Clock:
    """The run's moment: `start` (given, or now) moved on by the real time that passed, so
    quota seconds tick also when a test or the benchmark starts from a simulated moment."""

    def __init__(self, start: datetime.datetime | None, budget_seconds: float | None):
        self.start = start or timezone.now()
        if self.start.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        self.t0 = time.monotonic()
        self.deadline = self.t0 + budget_seconds if budget_seconds else None

    def now(self) -> datetime.datetime:
        return self.start + datetime.timedelta(seconds=time.monotonic() - self.t0)

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def elapsed(self) -> float:
        return time.monotonic() - self.t0


def _lock_key(carrier: str) -> str:
    return f"carriers:poll-running:{carrier}"


def _due(carrier: str, cutoff: datetime.datetime) -> QuerySet:
    return (
        ShipmentTracking.objects.filter(carrier=carrier, stopped_at__isnull=True, next_poll_at__lte=cutoff)
        .exclude(shipment__status__in=FINAL_STATUSES)
        .order_by("next_poll_at", "shipment_id")
    )


def _take_quota(carrier: str, calls: int, clock: _Clock) -> str:
    """Take `calls` from the budget, waiting for the next second when this one is used."""
    while True:
        moment = clock.now()
        if quota_acquire(carrier, calls, now=moment):
            return OK
        if carrier_backoff_until(carrier, now=moment) is not None:
            return BACKOFF
        if quota_usage(carrier, now=moment)["calls_left_today"] < calls:
            return QUOTA
        if clock.out_of_time():
            return OUT_OF_TIME
        time.sleep(1.0 - moment.timestamp() % 1.0 + 0.002)


class _Poller:
    def __init__(self, *, carrier: str, adapter: CarrierAdapter, clock: _Clock, chunk_size: int):
        self.carrier = carrier
        self.adapter = adapter
        self.clock = clock
        self.chunk_size = chunk_size
        self.stats = PollStats(carrier=carrier)
        self.plan: PollPlan | None = None
        self.handled = 0  # due parcels handed to the carrier (answered or refused)
        self.healthy = False  # a call of this run succeeded (and cleared the backoff)

    # --- the run --------------------------------------------------------------------

    def run(self) -> PollStats:
        due = _due(self.carrier, self.clock.start)
        self.stats.due = due.count()
        backoff = carrier_backoff_until(self.carrier, now=self.clock.now())
        if backoff is not None:
            self.stats.backoff_until = backoff
            self.stats.skipped_backoff = self.stats.due
            return self.stats
        open_count = ShipmentTracking.objects.filter(carrier=self.carrier, stopped_at__isnull=True).count()
        self.plan = poll_plan(adapter=self.adapter, open_count=open_count, now=self.clock.start)
        if self.adapter.supports_change_feed and not self._read_feed():
            return self.stats
        self._poll_due(due)
        return self.stats

    def _stop(self, verdict: str) -> None:
        """Account for the due parcels this run leaves."""
        left = max(self.stats.due - self.handled, 0)  # the due parcels come first
        if verdict == BACKOFF:
            self.stats.skipped_backoff += left
            self.stats.backoff_until = carrier_backoff_until(self.carrier, now=self.clock.now())
        elif verdict == QUOTA:
            self.stats.skipped_quota += left
        else:
            self.stats.deferred += left

    def _call(self, fetch: Callable[[], list[TrackingResult]], *, refusal_fails: bool) -> list[TrackingResult] | None:
        """Make one call; None when it failed and the carrier now backs off. A refusal (a
        plain CarrierError, 4xx) is raised to the caller unless `refusal_fails`."""
        moment = self.clock.now
        try:
            results = fetch()
        except CarrierRateLimited as exc:
            self.stats.backoff_until = carrier_backoff(self.carrier, exc.retry_after_seconds, now=moment())
            failure = exc
        except CarrierAuthError as exc:
            # misconfiguration: retrying will not help until someone fixes it
            logger.error("carrier refused our credentials", extra={"carrier": self.carrier, "code": exc.code})
            self.stats.backoff_until = carrier_backoff(
                self.carrier, float(conf.get("CARRIER_BACKOFF_MAX_SECONDS")), now=moment()
            )
            failure = exc
        except CarrierUnavailable as exc:
            self.stats.backoff_until = carrier_backoff(self.carrier, now=moment())
            failure = exc
        except CarrierError as exc:
            if not refusal_fails:
                raise
            self.stats.backoff_until = carrier_backoff(self.carrier, now=moment())
            failure = exc
        else:
            if not self.healthy:
                if carrier_failures(self.carrier):
                    carrier_backoff_clear(self.carrier)
                self.healthy = True
            return results
        self.stats.failed_calls += 1
        self.stats.error = failure.code
        logger.warning(
            "carrier call failed",
            extra={"carrier": self.carrier, "code": failure.code, "backoff_until": str(self.stats.backoff_until)},
        )
        return None

    # --- the change feed ------------------------------------------------------------

    def _read_feed(self) -> bool:
        """Read the change feed up to now. False when the run must stop."""
        until = self.clock.start
        cursor = CarrierFeedCursor.objects.filter(carrier=self.carrier).first()
        since = cursor.fetched_until if cursor else until - FEED_FIRST_LOOKBACK
        since = max(since, until - FEED_MAX_LOOKBACK)
        if until - since < self.plan.feed_every:
            return True
        while since < until:
            end = min(since + FEED_STEP, until)
            calls = self.adapter.change_feed_calls_needed(since, end)
            verdict = _take_quota(self.carrier, calls, self.clock) if calls else OK
            if verdict != OK:
                self._stop(verdict)
                return False
            window_start = since
            results = self._call(
                lambda start=window_start, stop=end: self.adapter.fetch_changes(start, stop), refusal_fails=True
            )
            self.stats.calls += calls
            if results is None:
                self._stop(BACKOFF)
                return False
            self.stats.feed_calls += calls
            self._record_feed(results)
            CarrierFeedCursor.objects.update_or_create(carrier=self.carrier, defaults={"fetched_until": end})
            since = end
        return True

    def _record_feed(self, results: list[TrackingResult]) -> None:
        by_code = {r.tracking_code.strip().upper(): r for r in results if r.found and r.events}
        codes = list(by_code)
        for start in range(0, len(codes), self.chunk_size):
            chunk = codes[start : start + self.chunk_size]
            rows = ShipmentTracking.objects.filter(carrier=self.carrier, shipment__tracking_code__in=chunk).values_list(
                *TARGET_FIELDS
            )
            pairs = [(target, by_code[target.tracking_code.upper()]) for target in map(PollTarget.from_row, rows)]
            outcome = tracking_results_record(pairs=pairs, plan=self.plan, now=self.clock.now(), from_feed=True)
            self.stats.add_outcome(outcome, feed=True)

    # --- the due parcels ------------------------------------------------------------

    def _poll_due(self, due: QuerySet) -> None:
        after: tuple[datetime.datetime, int] | None = None
        batch_size = max(1, self.adapter.max_batch_size)
        while True:
            qs = due
            if after is not None:
                qs = qs.filter(Q(next_poll_at__gt=after[0]) | Q(next_poll_at=after[0], shipment_id__gt=after[1]))
            rows = list(qs.values_list("next_poll_at", *TARGET_FIELDS)[: self.chunk_size])
            if not rows:
                return
            targets = [PollTarget.from_row(row[1:]) for row in rows]
            if len(rows) < self.chunk_size:
                targets += self._top_up(len(targets) % batch_size, batch_size)
            for start in range(0, len(targets), batch_size):
                if self.clock.out_of_time():
                    self._stop(OUT_OF_TIME)
                    return
                batch = targets[start : start + batch_size]
                calls = self.adapter.calls_needed(len(batch))
                verdict = _take_quota(self.carrier, calls, self.clock)
                if verdict != OK:
                    self._stop(verdict)
                    return
                if not self._poll_batch(batch, calls):
                    self._stop(BACKOFF)
                    return
            after = (rows[-1][0], rows[-1][1])

    def _top_up(self, remainder: int, batch_size: int) -> list[PollTarget]:
        """Fill the last, partial batch with the parcels due next (within TOP_UP_WINDOW): asked
        about a little early they cost no extra call, and a carrier with batches and a small
        daily quota is not spent on calls for one or two parcels every minute."""
        if batch_size <= 1 or remainder == 0:
            return []
        cutoff = self.clock.start
        rows = (
            ShipmentTracking.objects.filter(
                carrier=self.carrier,
                stopped_at__isnull=True,
                next_poll_at__gt=cutoff,
                next_poll_at__lte=cutoff + TOP_UP_WINDOW,
            )
            .exclude(shipment__status__in=FINAL_STATUSES)
            .order_by("next_poll_at", "shipment_id")
            .values_list(*TARGET_FIELDS)[: batch_size - remainder]
        )
        extra = [PollTarget.from_row(row) for row in rows]
        self.stats.early += len(extra)
        return extra

    def _poll_batch(self, batch: list[PollTarget], calls: int) -> bool:
        requests = [target.request() for target in batch]
        try:
            results = self._call(lambda: self.adapter.fetch(requests), refusal_fails=False)
        except CarrierError as exc:
            # the carrier refused these codes (4xx): not an outage; they count as unknown now
            logger.warning("carrier refused tracking codes", extra={"carrier": self.carrier, "code": exc.code})
            results = [TrackingResult.not_found(r.tracking_code, exc.code) for r in requests]
            self.stats.refused += len(batch)
        self.stats.calls += calls
        if results is None:
            return False
        self.handled += len(batch)
        outcome = tracking_results_record(
            pairs=list(zip(batch, results, strict=True)), plan=self.plan, now=self.clock.now()
        )
        self.stats.add_outcome(outcome)
        return True


def carrier_poll(
    *,
    carrier: str,
    now: datetime.datetime | None = None,
    adapter: CarrierAdapter | None = None,
    time_budget_seconds: float | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> PollStats:
    """One polling run for one carrier (see the module docstring).

    `now` is the run's moment (default: now); `adapter` replaces the registry's (tests and
    the benchmark pass a simulator with their own clock); `time_budget_seconds` ends the run
    in time, leaving the rest due for the next run."""
    clock = _Clock(now, time_budget_seconds)
    token = secrets.token_hex(8)
    if not cache.add(_lock_key(carrier), token, timeout=RUN_LOCK_SECONDS):
        if cache.get(_lock_key(carrier)) is None:
            # the cache (Redis) did not answer: without it there are no quotas, so no calls
            logger.warning("carrier not polled: the cache is unavailable", extra={"carrier": carrier})
            return PollStats(carrier=carrier, error="cache_unavailable")
        return PollStats(carrier=carrier, already_running=True)
    try:
        poller = _Poller(carrier=carrier, adapter=adapter or get_adapter(carrier), clock=clock, chunk_size=chunk_size)
        with acting_as(None, f"carrier:{carrier}"):
            stats = poller.run()
    finally:
        if cache.get(_lock_key(carrier)) == token:
            cache.delete(_lock_key(carrier))
    stats.seconds = round(clock.elapsed(), 3)
    logger.info("carrier polled", extra={"carrier": carrier, **{k: getattr(stats, k) for k in COUNTED}})
    return stats


def tracked_carriers() -> list[str]:
    """The carriers with parcels being tracked."""
    return sorted(
        ShipmentTracking.objects.filter(stopped_at__isnull=True).order_by().values_list("carrier", flat=True).distinct()
    )


def tracking_poll_fanout(*, now: datetime.datetime | None = None) -> list[str]:
    """Which carriers to poll now (beat's `carriers.poll_due`): those with due parcels or a
    change feed, and not backing off."""
    now = now or timezone.now()
    chosen = []
    for carrier in tracked_carriers():
        if carrier_backoff_until(carrier, now=now) is not None:
            continue
        has_due = _due(carrier, now).exists()
        if has_due or get_adapter(carrier).supports_change_feed:
            chosen.append(carrier)
    return chosen


def tracking_poll_cycle(
    *,
    carriers: Iterable[str] | None = None,
    now: datetime.datetime | None = None,
    adapters: Mapping[str, CarrierAdapter] | None = None,
    time_budget_seconds: float | None = None,
) -> PollCycle:
    """One run for each carrier (default: every carrier with tracked parcels), one after
    the other, over everything that is due. For `manage.py poll_carriers --once` and the
    benchmark; in production beat fans out one task per carrier instead."""
    started = time.monotonic()
    now = now or timezone.now()
    while tracking_states_backfill(now=now) >= BACKFILL_LIMIT:
        pass
    adapters = adapters or {}
    results = {
        carrier: carrier_poll(
            carrier=carrier, now=now, adapter=adapters.get(carrier), time_budget_seconds=time_budget_seconds
        )
        for carrier in (list(carriers) if carriers is not None else tracked_carriers())
    }
    return PollCycle(carriers=results, seconds=round(time.monotonic() - started, 3))
