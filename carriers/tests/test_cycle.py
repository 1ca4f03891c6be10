"""One polling cycle over many parcels (the benchmark's function, on a small scale)."""

import datetime

import pytest

from carriers.adapters.simulator import simulated_result
from carriers.models import ShipmentEvent, ShipmentTracking
from carriers.services.polling import tracking_poll_cycle
from carriers.tests.bulk import bulk_open_shipments, simulator_adapters
from orders.models import Order
from orders.states import OrderStatus

CARRIERS = ("postnl", "dhl", "gls")
NOW = datetime.datetime(2026, 11, 19, 14, 0, tzinfo=datetime.UTC)  # a Thursday afternoon


@pytest.mark.django_db
def test_one_cycle_asks_about_every_due_parcel_once_in_batches_and_stores_what_the_carriers_know():
    # given 450 parcels shipped over three days, all due, over three carriers
    now = NOW
    parcels = bulk_open_shipments(
        count=450,
        carriers=CARRIERS,
        announced_from=now - datetime.timedelta(days=3),
        every_seconds=570,
        first_poll_after=datetime.timedelta(0),
    )

    # when
    cycle = tracking_poll_cycle(now=now, adapters=simulator_adapters(now, CARRIERS), carriers=CARRIERS)

    # then each parcel was asked about once, 100 codes a call
    totals = cycle.totals()
    assert totals["due"] == totals["polled"] == 450
    assert totals["calls"] == 6
    assert totals["skipped_quota"] == totals["skipped_backoff"] == totals["deferred"] == 0
    expected = [simulated_result(code, now) for code in parcels.tracking_codes]
    assert totals["events_stored"] == sum(len(r.events) for r in expected) == ShipmentEvent.objects.count()
    delivered = sum(1 for r in expected if r.status == "delivered")
    assert delivered > 0
    assert Order.objects.filter(status=OrderStatus.DELIVERED).count() == delivered
    assert ShipmentTracking.objects.filter(stop_reason="final").count() == sum(1 for r in expected if r.is_final)

    # when the cycle runs again at once: nothing is due
    again = tracking_poll_cycle(now=now, adapters=simulator_adapters(now, CARRIERS), carriers=CARRIERS)
    assert again.totals()["calls"] == 0
