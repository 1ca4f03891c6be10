"""A carrier that is down or rate limits us delays only its own parcels and recovers without
lost or duplicated events; the calls made never exceed a carrier's quota."""

import datetime
import time

import pytest
from django.test import override_settings

from carriers.adapters.simulator import SimulatorAdapter, simulated_result
from carriers.models import ShipmentEvent, ShipmentTracking
from carriers.quota import carrier_backoff_until, carrier_failures, quota_usage
from carriers.services.polling import carrier_poll, tracking_poll_cycle
from carriers.tests.conftest import announced_now, code_for, first_event, ship

MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)


class CountingSimulator(SimulatorAdapter):
    """The simulated carrier, remembering when each call (one per batch) was made."""

    def __init__(self, *args, batch_size: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if batch_size:
            self.max_batch_size = batch_size
        self.calls: list[float] = []

    def fetch(self, requests):
        for _batch in self.batches(requests):
            self.calls.append(time.time())
        return super().fetch(requests)


def adapters_at(moment, *carriers):
    return {carrier: CountingSimulator(carrier, clock=lambda: moment) for carrier in carriers}


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["timeout", "server_error", "rate_limited"])
def test_an_outage_of_one_carrier_delays_only_its_parcels_and_loses_nothing(make_order, fault):
    # given a PostNL parcel and a DHL parcel, both simulated, both announced now
    announced = announced_now()
    postnl_code = code_for("delivered", announced)
    dhl_code = code_for("delivered", announced, skip=1)
    postnl_parcel = ship(make_order(1), postnl_code, carrier="postnl")
    dhl_parcel = ship(make_order(1), dhl_code, carrier="dhl")
    # an hour after both were sorted (each parcel has its own sorting moment)
    t1 = max(first_event(code, "SORTED").occurred_at for code in (postnl_code, dhl_code)) + HOUR

    # when DHL is down during a cycle
    with override_settings(CARRIER_SIMULATOR_FAULTS={"dhl": fault}):
        adapters = adapters_at(t1, "postnl", "dhl")
        down = tracking_poll_cycle(carriers=["postnl", "dhl"], now=t1, adapters=adapters)
        # and a minute later, still down
        adapters_soon = adapters_at(t1 + MINUTE / 2, "postnl", "dhl")
        waiting = tracking_poll_cycle(carriers=["dhl"], now=t1 + MINUTE / 2, adapters=adapters_soon)

    # then PostNL's parcel moved on, DHL's was not stored, DHL backs off and is not asked again
    assert down.carriers["postnl"].events_stored == 3
    dhl = down.carriers["dhl"]
    assert (dhl.due, dhl.polled, dhl.failed_calls, dhl.skipped_backoff, dhl.events_stored) == (1, 0, 1, 1, 0)
    assert dhl.backoff_until is not None and dhl.backoff_until > t1
    assert len(adapters["dhl"].calls) == 1
    assert not ShipmentEvent.objects.filter(shipment=dhl_parcel).exists()
    assert ShipmentTracking.objects.get(shipment=dhl_parcel).next_poll_at <= t1  # still due
    assert (waiting.carriers["dhl"].skipped_backoff, waiting.carriers["dhl"].calls) == (1, 0)
    assert adapters_soon["dhl"].calls == []
    assert carrier_failures("dhl") == 1 and carrier_failures("postnl") == 0

    # when DHL is back, after its backoff
    t2 = t1 + 2 * HOUR
    assert carrier_backoff_until("dhl", now=t2) is None
    back = tracking_poll_cycle(carriers=["dhl"], now=t2, adapters=adapters_at(t2, "dhl"))

    # then every event DHL knows by then is stored, once, and the backoff is cleared
    assert back.carriers["dhl"].polled == 1
    stored = list(
        ShipmentEvent.objects.filter(shipment=dhl_parcel).order_by("occurred_at").values_list("key", flat=True)
    )
    assert stored == [e.key for e in simulated_result(dhl_code, t2).events]
    assert len(stored) == len(set(stored)) >= 3
    assert carrier_failures("dhl") == 0
    postnl_parcel.refresh_from_db()
    assert postnl_parcel.status == "in_transit"


@pytest.mark.django_db
@override_settings(CARRIER_QUOTAS={"simulator": {"calls_per_second": 5, "calls_per_day": 3}})
def test_the_calls_of_a_day_never_exceed_the_daily_quota(make_order):
    # given ten due parcels and a carrier that takes two codes per call and 3 calls a day
    announced = announced_now()
    order = make_order(10)
    for i in range(10):
        ship(order, code_for("delivered", announced, skip=i))
    moment = announced + 2 * HOUR
    adapter = CountingSimulator("postnl", clock=lambda: moment, batch_size=2)

    # when
    stats = carrier_poll(carrier="postnl", now=moment, adapter=adapter)

    # then three calls, six parcels answered, four left for tomorrow's budget
    assert len(adapter.calls) == stats.calls == 3
    assert (stats.due, stats.polled, stats.skipped_quota) == (10, 6, 4)
    assert quota_usage("postnl", now=moment)["calls_left_today"] == 0
    assert ShipmentTracking.objects.filter(next_poll_at__lte=moment).count() == 4

    # when the poller runs again that day: no call at all
    again_adapter = CountingSimulator("postnl", clock=lambda: moment, batch_size=2)
    again = carrier_poll(carrier="postnl", now=moment + MINUTE, adapter=again_adapter)
    assert (again.calls, again.skipped_quota, again_adapter.calls) == (0, 4, [])

    # and the next (UTC) day the rest is asked about
    tomorrow = moment + datetime.timedelta(days=1)
    next_day = CountingSimulator("postnl", clock=lambda: tomorrow, batch_size=2)
    later = carrier_poll(carrier="postnl", now=tomorrow, adapter=next_day)
    assert later.polled >= 4 and later.calls <= 3


@pytest.mark.django_db
@override_settings(CARRIER_QUOTAS={"simulator": {"calls_per_second": 2, "calls_per_day": 1000}})
def test_the_calls_per_second_never_exceed_the_quota(make_order):
    # given six due parcels, one code per call, two calls a second
    announced = announced_now()
    order = make_order(6)
    for i in range(6):
        ship(order, code_for("delivered", announced, skip=i))
    ShipmentTracking.objects.update(next_poll_at=announced)
    adapter = CountingSimulator("postnl", batch_size=1)

    # when polled in real time
    started = time.monotonic()
    stats = carrier_poll(carrier="postnl", adapter=adapter)
    elapsed = time.monotonic() - started

    # then all six were asked about, and the run waited for new seconds in between
    assert (stats.calls, stats.polled, stats.skipped_quota) == (6, 6, 0)
    per_second: dict[int, int] = {}
    for moment in adapter.calls:
        per_second[int(moment)] = per_second.get(int(moment), 0) + 1
    assert max(per_second.values()) <= 2
    assert elapsed >= 1.0


@pytest.mark.django_db
def test_a_run_that_runs_out_of_time_leaves_the_rest_due(make_order):
    announced = announced_now()
    order = make_order(3)
    for i in range(3):
        ship(order, code_for("delivered", announced, skip=i))
    moment = announced + 2 * HOUR

    stats = carrier_poll(
        carrier="postnl",
        now=moment,
        adapter=CountingSimulator("postnl", clock=lambda: moment),
        time_budget_seconds=1e-9,
    )

    assert (stats.due, stats.calls, stats.deferred) == (3, 0, 3)
    assert ShipmentTracking.objects.filter(next_poll_at__lte=moment).count() == 3


@pytest.mark.django_db
def test_a_partial_batch_is_filled_with_the_parcels_due_next(make_order):
    # given a carrier taking ten codes a call; three parcels due, four due within half an
    # hour, two due only in two hours
    announced = announced_now()
    order = make_order(9)
    shipments = [ship(order, code_for("delivered", announced, skip=i)) for i in range(9)]
    moment = announced + 2 * HOUR
    offsets = [-MINUTE] * 3 + [10 * MINUTE] * 4 + [2 * HOUR] * 2
    for shipment, offset in zip(shipments, offsets, strict=True):
        ShipmentTracking.objects.filter(shipment=shipment).update(next_poll_at=moment + offset)
    adapter = CountingSimulator("gls", clock=lambda: moment, batch_size=10)
    ShipmentTracking.objects.update(carrier="gls")

    # when
    stats = carrier_poll(carrier="gls", now=moment, adapter=adapter)

    # then one call asked about the three due parcels and the four due soon, not the others
    assert (stats.due, stats.early, stats.polled, stats.calls) == (3, 4, 7, 1)
    assert ShipmentTracking.objects.filter(last_polled_at__isnull=True).count() == 2
