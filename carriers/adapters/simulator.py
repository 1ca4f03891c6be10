"""A simulated carrier for the demo, the tests and the polling benchmark.

It behaves like a real carrier behind the same interface, without storing anything: a
simulated tracking code carries the minute the shipment was announced to the carrier and a
seed (`SIM` + 9 digits minutes since 2020-01-01 UTC + 6 digits seed + 2 check digits). From
the code alone the simulator plans the parcel's whole life cycle with a random generator
seeded by the code, and a fetch at moment T shows the events planned up to T. So:

- the same code always gives the same events with the same keys, in any process;
- what was visible at T is still visible, unchanged, at any later moment (events only get
  added), which is what the poller's "store new events only" relies on;
- 20,000 parcels cost no storage, and a batch of 100 codes is planned in about a millisecond.

The life cycle, in Dutch local time, on carrier days only (no delivery on Sundays and public
holidays, from `core.calendar`'s holidays for the carrier purpose; staff's ClosedDay rows
are deliberately not read, so the plan never changes afterwards):

1. pre_transit: announced when the label is made (the moment in the code);
2. in_transit: collected at the warehouse in the evening (17:30–19:00) of the first carrier
   day it is ready, then sorted overnight at a sorting centre;
3. out_for_delivery the next carrier day from 07:00, delivered between about 09:00 and 21:00
   (a share one day later, as when a carrier runs behind);
4. with a share of failed attempts: not at home → a new attempt the next carrier day, or the
   parcel goes to a pickup point (at_pickup_point) where the customer collects it within a
   few days (delivered) or not at all (returned to sender after the 7-day storage period);
   address unknown → returned to sender;
5. lost parcels stop moving after sorting; half of them get a "missing, investigation
   started" exception a few days later.

Outages: `CARRIER_SIMULATOR_FAULTS = {"dhl": "timeout"}` (or an instance's `fault`) makes
every fetch of that carrier raise the same typed errors the real adapters raise; with
`{"mode": …, "probability": 0.3}` only that share of calls fails.
"""

import dataclasses
import datetime
import random
import re
import secrets
from collections.abc import Callable
from functools import lru_cache

from django.utils import timezone
from django.utils.translation import gettext

from carriers import conf
from carriers.adapters.base import CarrierAdapter, CarrierQuota, TrackingRequest
from carriers.adapters.timeparse import AMSTERDAM
from carriers.exceptions import CarrierAuthError, CarrierRateLimited, CarrierUnavailable
from carriers.statuses import ShipmentStatus, TrackingEvent, TrackingResult
from core.calendar import CARRIER, public_holidays

S = ShipmentStatus

CODE_PREFIX = "SIM"
EPOCH = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
EPOCH_TIMESTAMP = EPOCH.timestamp()
CODE_PATTERN = re.compile(r"SIM(\d{9})(\d{6})(\d{2})")
SEED_LIMIT = 1_000_000

# Scenario shares (they add up to 1).
SCENARIOS: tuple[tuple[str, float], ...] = (
    ("lost", 0.012),
    ("returned_address_unknown", 0.02),
    ("failed_then_delivered", 0.04),
    ("failed_then_pickup_point", 0.03),
    ("delivered", 0.898),
)
LATE_DELIVERY_SHARE = 0.08  # delivered one carrier day later than planned
PICKUP_NOT_COLLECTED_SHARE = 0.1
PICKUP_STORAGE_DAYS = 7
LOST_REPORTED_SHARE = 0.5

SORTING_CENTRES = ("Nieuwegein", "Zwolle", "Waalwijk", "Den Bosch", "Amsterdam", "Eindhoven", "Rotterdam")
DEPOTS = ("Amsterdam", "Utrecht", "Rotterdam", "Den Haag", "Groningen", "Eindhoven", "Tilburg", "Arnhem", "Zwolle")
PICKUP_POINTS = ("Primera", "Bruna", "Albert Heijn", "Jumbo", "Gamma", "Karwei", "Boekhandel")

# carrier status code → (normalised status, description as the carrier writes it)
CARRIER_CODES: dict[str, tuple[str, str]] = {
    "ANNOUNCED": (S.PRE_TRANSIT, "Zending is aangemeld, maar nog niet ontvangen door de vervoerder"),
    "COLLECTED": (S.IN_TRANSIT, "Zending is opgehaald bij de afzender"),
    "SORTED": (S.IN_TRANSIT, "Zending is gesorteerd"),
    "OUT_FOR_DELIVERY": (S.OUT_FOR_DELIVERY, "Zending is onderweg naar de ontvanger"),
    "NOT_HOME": (S.DELIVERY_FAILED, "Ontvanger niet thuis; we proberen het de volgende werkdag opnieuw"),
    "NOT_HOME_TO_PICKUP_POINT": (S.DELIVERY_FAILED, "Ontvanger niet thuis; zending gaat naar een afhaalpunt"),
    "ADDRESS_UNKNOWN": (S.DELIVERY_FAILED, "Adres onbekend; zending kan niet worden bezorgd"),
    "AT_PICKUP_POINT": (S.AT_PICKUP_POINT, "Zending ligt klaar bij het afhaalpunt"),
    "DELIVERED": (S.DELIVERED, "Zending is bezorgd"),
    "DELIVERED_AT_NEIGHBOURS": (S.DELIVERED, "Zending is bezorgd bij de buren"),
    "COLLECTED_BY_RECIPIENT": (S.DELIVERED, "Zending is opgehaald door de ontvanger"),
    "RETURNED_TO_SENDER": (S.RETURNED_TO_SENDER, "Zending gaat retour naar de afzender"),
    "MISSING": (S.EXCEPTION, "Zending wordt vermist; er is een onderzoek gestart"),
}

FAULT_MODES = ("timeout", "connection_error", "server_error", "rate_limited", "auth")


def _check_digits(digits: str) -> str:
    """ISO 7064 MOD 97-10 check digits (as in an IBAN)."""
    return f"{98 - int(digits) * 100 % 97:02d}"


def simulated_tracking_code(created_at: datetime.datetime | None = None, *, seed: int | None = None) -> str:
    """A new simulated tracking code for a shipment announced at `created_at` (default now)."""
    created_at = created_at or timezone.now()
    if created_at.tzinfo is None:
        raise ValueError("created_at must be an aware datetime")
    minutes = int((created_at - EPOCH).total_seconds() // 60)
    if not 0 <= minutes < 10**9:
        raise ValueError("created_at is outside the simulator's range")
    seed = secrets.randbelow(SEED_LIMIT) if seed is None else seed
    if not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"seed must be in 0..{SEED_LIMIT - 1}")
    digits = f"{minutes:09d}{seed:06d}"
    return f"{CODE_PREFIX}{digits}{_check_digits(digits)}"


def _decode(tracking_code: str) -> tuple[int, int] | None:
    match = CODE_PATTERN.fullmatch(tracking_code.strip().upper())
    if not match or _check_digits(match.group(1) + match.group(2)) != match.group(3):
        return None
    return int(match.group(1)), int(match.group(2))


def decode_tracking_code(tracking_code: str) -> tuple[datetime.datetime, int] | None:
    """(announced at, seed) of a valid simulated code, else None."""
    decoded = _decode(tracking_code)
    if decoded is None:
        return None
    return EPOCH + datetime.timedelta(minutes=decoded[0]), decoded[1]


@lru_cache(maxsize=4096)
def is_carrier_day(day: datetime.date) -> bool:
    return day.weekday() != 6 and day not in public_holidays(day.year, CARRIER)


@lru_cache(maxsize=4096)
def next_carrier_day(day: datetime.date) -> datetime.date:
    """The first carrier day after `day`."""
    day += datetime.timedelta(days=1)
    while not is_carrier_day(day):
        day += datetime.timedelta(days=1)
    return day


@lru_cache(maxsize=2048)
def _midnight(day: datetime.date) -> int:
    """Local (Dutch) midnight of `day`, in minutes since EPOCH."""
    midnight = datetime.datetime(day.year, day.month, day.day, tzinfo=AMSTERDAM)
    return int((midnight - EPOCH).total_seconds() // 60)


def _at(day: datetime.date, minutes: int) -> int:
    """`minutes` after Dutch midnight on `day` (never a Sunday, so never a DST switch)."""
    return _midnight(day) + minutes


def _moment(minutes: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(EPOCH_TIMESTAMP + minutes * 60, AMSTERDAM)


# (minutes since EPOCH, carrier status code, location): plain tuples, cheap by the 100,000.
PlannedEvent = tuple[int, str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    scenario: str
    events: tuple[PlannedEvent, ...]


class _Planner:
    """Plans in whole minutes since EPOCH: cheap integer arithmetic for 20,000 parcels."""

    def __init__(self, rng: random.Random):
        self.random = rng.random
        self.events: list[PlannedEvent] = []
        self.last = -1

    def add(self, minutes: int, code: str, location: str = "") -> int:
        minutes = max(minutes, self.last + 1)  # strictly after the previous event
        self.events.append((minutes, code, location))
        self.last = minutes
        return minutes

    def between(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def pick(self, options: tuple[str, ...]) -> str:
        return options[int(self.random() * len(options))]

    def delivery_round(self, day: datetime.date, depot: str) -> int:
        """Out for delivery that morning; returns the moment the driver is at the door."""
        out = self.add(_at(day, 7 * 60 + self.between(0, 150)), "OUT_FOR_DELIVERY", f"Depot {depot}")
        return min(out + self.between(60, 600), _at(day, 21 * 60 + 30))


def _scenario(draw: float) -> str:
    threshold = 0.0
    for name, share in SCENARIOS:
        threshold += share
        if draw < threshold:
            return name
    return SCENARIOS[-1][0]


@lru_cache(maxsize=4096)
def plan_life_cycle(tracking_code: str) -> Plan | None:
    """The whole planned life cycle of a simulated code (None for a code that is not one)."""
    decoded = _decode(tracking_code)
    if decoded is None:
        return None
    announced, seed = decoded
    planner = _Planner(random.Random(announced * SEED_LIMIT + seed))
    rnd, between, pick = planner.random, planner.between, planner.pick
    planner.add(announced, "ANNOUNCED")

    # Collected in the evening of the first carrier day the parcel is ready.
    local = _moment(announced)
    day = local.date()
    if not is_carrier_day(day) or local.hour * 60 + local.minute > 17 * 60:
        day = next_carrier_day(day)
    collected = planner.add(_at(day, 17 * 60 + 30 + between(0, 90)), "COLLECTED", f"Depot {pick(DEPOTS)}")
    planner.add(collected + between(180, 420), "SORTED", f"Sorteercentrum {pick(SORTING_CENTRES)}")

    scenario = _scenario(rnd())
    if scenario == "lost":
        if rnd() < LOST_REPORTED_SHARE:
            report_day = next_carrier_day(next_carrier_day(next_carrier_day(day)))
            planner.add(_at(report_day, 10 * 60 + between(0, 240)), "MISSING")
        return Plan(scenario, tuple(planner.events))

    delivery_day = next_carrier_day(day)
    if rnd() < LATE_DELIVERY_SHARE:
        delivery_day = next_carrier_day(delivery_day)
    depot = pick(DEPOTS)
    door = planner.delivery_round(delivery_day, depot)

    if scenario == "delivered":
        planner.add(door, "DELIVERED_AT_NEIGHBOURS" if rnd() < 0.15 else "DELIVERED", depot)
    elif scenario == "failed_then_delivered":
        planner.add(door, "NOT_HOME", depot)
        planner.add(planner.delivery_round(next_carrier_day(delivery_day), depot), "DELIVERED", depot)
    elif scenario == "returned_address_unknown":
        planner.add(door, "ADDRESS_UNKNOWN", depot)
        return_day = next_carrier_day(delivery_day)
        planner.add(_at(return_day, 9 * 60 + between(0, 300)), "RETURNED_TO_SENDER", f"Depot {depot}")
    else:  # failed_then_pickup_point
        planner.add(door, "NOT_HOME_TO_PICKUP_POINT", depot)
        point = f"{pick(PICKUP_POINTS)} {depot}"
        ready_day = next_carrier_day(delivery_day)
        ready = planner.add(_at(ready_day, 11 * 60 + between(0, 180)), "AT_PICKUP_POINT", point)
        if rnd() < PICKUP_NOT_COLLECTED_SHARE:
            return_day = ready_day + datetime.timedelta(days=PICKUP_STORAGE_DAYS)
            if not is_carrier_day(return_day):
                return_day = next_carrier_day(return_day)
            planner.add(_at(return_day, 9 * 60 + between(0, 240)), "RETURNED_TO_SENDER", point)
        else:
            collect_day = ready_day
            for _ in range(int(rnd() * 4)):
                collect_day = next_carrier_day(collect_day)
            earliest = ready + 30 if collect_day == ready_day else _at(collect_day, 10 * 60)
            latest = _at(collect_day, 20 * 60)
            planner.add(min(earliest + between(0, 8 * 60), latest), "COLLECTED_BY_RECIPIENT", point)
    return Plan(scenario, tuple(planner.events))


def simulated_scenario(tracking_code: str) -> str | None:
    plan = plan_life_cycle(tracking_code)
    return plan.scenario if plan else None


def _events(tracking_code: str, plan: Plan, until: datetime.datetime | None) -> list[TrackingEvent]:
    limit = None if until is None else (until - EPOCH).total_seconds() / 60
    events = []
    for minutes, code, location in plan.events:
        if limit is not None and minutes > limit:
            break
        status, description = CARRIER_CODES[code]
        events.append(
            TrackingEvent(
                tracking_code=tracking_code,
                status=status,
                occurred_at=_moment(minutes),
                carrier_status_code=code,
                description=description,
                location=location,
                raw={"code": code},
            )
        )
    return events


def simulated_life_cycle(tracking_code: str) -> list[TrackingEvent]:
    """Every planned event of a simulated code, the future ones too (for tests and the demo)."""
    plan = plan_life_cycle(tracking_code)
    return _events(tracking_code, plan, None) if plan else []


def simulated_result(tracking_code: str, at: datetime.datetime) -> TrackingResult:
    """What the simulated carrier knows about `tracking_code` at the moment `at`."""
    plan = plan_life_cycle(tracking_code)
    if plan is None or plan.events[0][0] > (at - EPOCH).total_seconds() / 60:
        return TrackingResult.not_found(tracking_code)
    # Planned events are already in order, one per moment: no sorting or deduplication needed.
    events = _events(tracking_code, plan, at)
    status = events[-1].status
    delivered_at = events[-1].occurred_at if status == S.DELIVERED else None
    return TrackingResult(tracking_code, found=True, status=status, events=events, delivered_at=delivered_at)


def _real_urls() -> dict[str, Callable[..., str]]:
    from carriers.adapters.dhl import dhl_tracking_url
    from carriers.adapters.dhl_ecommerce_nl import dhl_ecommerce_tracking_url
    from carriers.adapters.dpd import dpd_tracking_url
    from carriers.adapters.gls import gls_tracking_url
    from carriers.adapters.postnl import postnl_tracking_url

    return {
        "postnl": postnl_tracking_url,
        "dhl": dhl_tracking_url,
        "dhl_ecommerce_nl": dhl_ecommerce_tracking_url,
        "dpd": dpd_tracking_url,
        "gls": gls_tracking_url,
    }


class SimulatorAdapter(CarrierAdapter):
    """The simulated carrier, standing in for `carrier_code` (default: the "simulator" carrier).

    It keeps the real carrier's tracking URL format, but has its own batch size and quota
    (settings.CARRIER_QUOTAS["simulator"]), whichever carrier it stands in for.
    """

    max_batch_size = 100
    default_quota = CarrierQuota(calls_per_second=10, calls_per_day=20_000)

    def __init__(
        self,
        carrier_code: str = "simulator",
        *,
        name: str | None = None,
        clock: Callable[[], datetime.datetime] | None = None,
        fault: str | dict | None = None,
    ):
        self.code = carrier_code
        self.name = name or gettext("%(carrier)s (simulated)") % {"carrier": carrier_code}
        self.clock = clock or timezone.now
        self.fault = {"mode": fault} if isinstance(fault, str) else fault
        self._fault_rng = random.Random(f"faults:{carrier_code}")

    @property
    def quota_key(self) -> str:
        return "simulator"

    def tracking_url(self, tracking_code, *, postal_code=None, country=None, language="nl") -> str:
        builder = _real_urls().get(self.code)
        if builder is None:
            return f"https://simulator.invalid/track/{tracking_code.strip()}"
        return builder(tracking_code, postal_code=postal_code, country=country, language=language)

    def _raise_fault(self) -> None:
        fault = self.fault or conf.simulator_fault(self.code)
        if not fault:
            return
        mode = fault.get("mode")
        if mode not in FAULT_MODES:
            raise ValueError(f"Unknown simulator fault mode {mode!r}")
        if self._fault_rng.random() >= float(fault.get("probability", 1.0)):
            return
        if mode == "rate_limited":
            raise CarrierRateLimited(carrier=self.code, retry_after_seconds=int(fault.get("retry_after", 60)))
        if mode == "auth":
            raise CarrierAuthError(
                gettext("The carrier %(carrier)s refused our credentials (%(status)s).")
                % {"carrier": self.name, "status": 401},
                carrier=self.code,
                extra={"status": 401, "simulated": True},
            )
        messages = {
            "timeout": (gettext("The carrier %(carrier)s did not answer in time."), "carrier_timeout"),
            "connection_error": (gettext("The carrier %(carrier)s could not be reached."), "carrier_connection_error"),
            "server_error": (
                gettext("The carrier %(carrier)s had a server error (HTTP %(status)s)."),
                "carrier_server_error",
            ),
        }
        message, code = messages[mode]
        raise CarrierUnavailable(
            message % {"carrier": self.name, "status": 500}, carrier=self.code, code=code, extra={"simulated": True}
        )

    def fetch(self, requests: list[TrackingRequest]) -> list[TrackingResult]:
        results = []
        for batch in self.batches(requests):
            self._raise_fault()  # one simulated HTTP call per batch
            now = self.clock()
            results.extend(simulated_result(request.tracking_code, now) for request in batch)
        return results
