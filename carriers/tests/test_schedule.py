"""The polling schedule by phase, stretched to the carrier's quota, spread per parcel."""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from carriers import rules
from carriers.adapters.simulator import SimulatorAdapter
from carriers.registry import get_adapter
from carriers.services.schedule import poll_plan, spread
from carriers.statuses import ShipmentStatus as S
from core.services import business_rule_create

NOW = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)
MINUTE = datetime.timedelta(minutes=1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "minutes"),
    [
        (S.PRE_TRANSIT, 120),
        (S.UNKNOWN, 120),
        (S.IN_TRANSIT, 240),
        (S.OUT_FOR_DELIVERY, 60),
        (S.DELIVERY_FAILED, 90),
        (S.AT_PICKUP_POINT, 480),
        (S.EXCEPTION, 240),
    ],
)
def test_each_phase_has_its_interval(status, minutes):
    plan = poll_plan(adapter=SimulatorAdapter("postnl"), open_count=10, now=NOW)

    assert plan.interval(status) == minutes * MINUTE
    moment = plan.next_poll_at(status=status, now=NOW, shipment_id=7)
    assert 0.9 * minutes * MINUTE <= moment - NOW <= 1.1 * minutes * MINUTE


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.DELIVERED, S.RETURNED_TO_SENDER])
def test_a_final_status_is_not_polled_again(status):
    plan = poll_plan(adapter=SimulatorAdapter("postnl"), now=NOW)

    assert plan.next_poll_at(status=status, now=NOW, shipment_id=7) is None


@pytest.mark.django_db
def test_staff_change_an_interval_with_a_dated_rule():
    business_rule_create(key=rules.IN_TRANSIT_MINUTES, value=360, valid_from=NOW - MINUTE, actor=None)

    before = poll_plan(adapter=SimulatorAdapter("postnl"), now=NOW - 2 * MINUTE)
    after = poll_plan(adapter=SimulatorAdapter("postnl"), now=NOW)

    assert before.interval(S.IN_TRANSIT) == 240 * MINUTE
    assert after.interval(S.IN_TRANSIT) == 360 * MINUTE


@pytest.mark.django_db
@override_settings(CARRIER_QUOTAS={"simulator": {"calls_per_second": 10, "calls_per_day": 100}})
def test_the_interval_stretches_so_the_open_parcels_fit_in_the_daily_quota():
    # 100 calls a day (80 planned) × 100 codes per call = 8,000 polls a day: 20,000 open
    # parcels can be asked about every 2.5 days at most
    plan = poll_plan(adapter=SimulatorAdapter("postnl"), open_count=20_000, now=NOW)

    assert plan.interval(S.OUT_FOR_DELIVERY) == datetime.timedelta(days=2.5)
    assert poll_plan(adapter=SimulatorAdapter("postnl"), open_count=100, now=NOW).interval(S.OUT_FOR_DELIVERY) == (
        60 * MINUTE
    )


@pytest.mark.django_db
@override_settings(
    CARRIER_BACKENDS={"postnl": "live"},
    POSTNL_API_KEY="k",
    POSTNL_CUSTOMER_NUMBER="1",
    POSTNL_BASE_URL="https://x.test",
)
def test_with_a_change_feed_parcels_are_asked_about_by_code_only_as_a_safety_net():
    plan = poll_plan(adapter=get_adapter("postnl"), open_count=10, now=NOW)

    assert plan.uses_feed
    assert plan.feed_every == 10 * MINUTE
    assert plan.interval(S.OUT_FOR_DELIVERY) == datetime.timedelta(hours=24)
    assert plan.first_poll_at(now=NOW, shipment_id=1) - NOW >= datetime.timedelta(hours=21.6)


def test_the_spread_is_within_ten_percent_and_fixed_per_parcel():
    hour = datetime.timedelta(hours=1)
    shifted = [spread(hour, shipment_id) for shipment_id in range(1, 2001)]

    assert all(0.9 * hour <= s < 1.1 * hour for s in shifted)
    assert len(set(shifted)) > 500  # parcels shipped together fall due apart
    assert spread(hour, 42) == spread(hour, 42)


@pytest.mark.django_db
def test_the_plan_reads_the_rules_in_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        poll_plan(adapter=SimulatorAdapter("postnl"), open_count=5, now=timezone.now())
