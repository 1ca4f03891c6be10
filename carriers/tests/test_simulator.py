import datetime
import time
from collections import Counter

import pytest
from django.test import override_settings

from carriers.adapters.base import TrackingRequest
from carriers.adapters.simulator import (
    SimulatorAdapter,
    decode_tracking_code,
    simulated_life_cycle,
    simulated_result,
    simulated_scenario,
    simulated_tracking_code,
)
from carriers.exceptions import CarrierAuthError, CarrierRateLimited, CarrierUnavailable
from carriers.registry import get_adapter
from carriers.statuses import FINAL_STATUSES, LIFE_CYCLE_STEP
from carriers.statuses import ShipmentStatus as S
from core.calendar import CARRIER, public_holidays

UTC = datetime.UTC
DELIVERY_PHASE = {S.OUT_FOR_DELIVERY, S.DELIVERED, S.DELIVERY_FAILED, S.AT_PICKUP_POINT, S.RETURNED_TO_SENDER}


def codes_from(start: datetime.datetime, count: int, every_minutes: int) -> list[str]:
    return [
        simulated_tracking_code(start + datetime.timedelta(minutes=every_minutes * i), seed=i) for i in range(count)
    ]


# Two weeks of ordinary November days, and the Christmas weeks with their holidays.
NOVEMBER = codes_from(datetime.datetime(2026, 11, 2, 6, 0, tzinfo=UTC), 3000, 5)
CHRISTMAS = codes_from(datetime.datetime(2026, 12, 14, 6, 0, tzinfo=UTC), 3000, 7)


def adapter_at(moment: datetime.datetime, carrier_code: str = "simulator", **kwargs) -> SimulatorAdapter:
    return SimulatorAdapter(carrier_code, clock=lambda: moment, **kwargs)


def test_the_code_carries_the_moment_and_the_seed():
    moment = datetime.datetime(2026, 11, 20, 9, 30, 42, tzinfo=UTC)

    code = simulated_tracking_code(moment, seed=42)

    assert code == "SIM00362217000004205"
    assert decode_tracking_code(code) == (moment.replace(second=0), 42)
    assert decode_tracking_code(code.lower()) == (moment.replace(second=0), 42)
    assert decode_tracking_code("SIM00362217000004206") is None  # wrong check digits
    assert decode_tracking_code("3SDEVC123456789") is None
    with pytest.raises(ValueError):
        simulated_tracking_code(datetime.datetime(2026, 11, 20, 9, 30))  # naive
    with pytest.raises(ValueError):
        simulated_tracking_code(moment, seed=1_000_000)


def test_new_codes_are_different_and_announced_now():
    before = datetime.datetime.now(tz=UTC).replace(second=0, microsecond=0)

    codes = {simulated_tracking_code() for _ in range(50)}

    assert len(codes) > 45  # random seeds; a clash within one minute is rare
    assert all(decode_tracking_code(c)[0] >= before for c in codes)


def test_the_life_cycle_is_fixed_by_the_code():
    # The same code plans the same life cycle in every process, today and in a year: the plan
    # is a pure function of the code. This pins one to catch accidental changes.
    code = "SIM00362217000004205"

    assert simulated_scenario(code) == "delivered"
    assert [(e.occurred_at.isoformat(), e.carrier_status_code, e.status) for e in simulated_life_cycle(code)] == [
        ("2026-11-20T10:30:00+01:00", "ANNOUNCED", S.PRE_TRANSIT),
        ("2026-11-20T18:35:00+01:00", "COLLECTED", S.IN_TRANSIT),
        ("2026-11-20T23:29:00+01:00", "SORTED", S.IN_TRANSIT),
        ("2026-11-21T09:10:00+01:00", "OUT_FOR_DELIVERY", S.OUT_FOR_DELIVERY),
        ("2026-11-21T11:49:00+01:00", "DELIVERED_AT_NEIGHBOURS", S.DELIVERED),
    ]


def test_two_simulators_answer_identically():
    moment = datetime.datetime(2026, 11, 9, 12, 0, tzinfo=UTC)
    requests = [TrackingRequest(c) for c in NOVEMBER[:500]]

    first = adapter_at(moment, "postnl").fetch(requests)
    second = adapter_at(moment, "dhl").fetch(requests)

    assert first == second
    assert [[e.key for e in r.events] for r in first] == [[e.key for e in r.events] for r in second]


def test_what_was_seen_stays_the_same_later_only_new_events_are_added():
    for code in NOVEMBER[::10]:
        announced = decode_tracking_code(code)[0]
        seen: list = []
        for hours in range(0, 24 * 14, 5):
            result = simulated_result(code, announced + datetime.timedelta(hours=hours))
            assert result.events[: len(seen)] == seen
            assert [e.key for e in result.events[: len(seen)]] == [e.key for e in seen]
            seen = result.events
        assert len({e.key for e in seen}) == len(seen)


def test_statuses_only_move_forward_except_the_failed_attempt_loop():
    for code in NOVEMBER + CHRISTMAS:
        events = simulated_life_cycle(code)
        steps = [LIFE_CYCLE_STEP[e.status] for e in events if e.status in LIFE_CYCLE_STEP]
        assert steps == sorted(steps), code
        moments = [e.occurred_at for e in events]
        assert moments == sorted(moments) and len(set(moments)) == len(moments)
        # nothing happens after a final status; an exception (a lost parcel) is the last word
        finals = [i for i, e in enumerate(events) if e.status in FINAL_STATUSES or e.status == S.EXCEPTION]
        assert finals in ([], [len(events) - 1]), code


def test_failed_attempts_loop_back_to_a_new_round_or_a_pickup_point():
    loops = Counter()
    for code in NOVEMBER:
        statuses = [e.status for e in simulated_life_cycle(code)]
        for failed_at in (i for i, s in enumerate(statuses) if s == S.DELIVERY_FAILED):
            loops[statuses[failed_at + 1]] += 1
    assert set(loops) == {S.OUT_FOR_DELIVERY, S.AT_PICKUP_POINT, S.RETURNED_TO_SENDER}
    assert min(loops.values()) > 10


def test_nothing_is_delivered_on_sundays_or_public_holidays():
    delivery_days = Counter()
    for code in CHRISTMAS + NOVEMBER:
        for event in simulated_life_cycle(code):
            if event.status in DELIVERY_PHASE:
                day = event.occurred_at.date()
                assert day.weekday() != 6, (code, event)
                assert day not in public_holidays(day.year, CARRIER), (code, event)
                delivery_days[day] += 1
    # the Christmas parcels wait: nothing on 25, 26 (holidays) and 27 December (Sunday)
    assert delivery_days[datetime.date(2026, 12, 24)] > 0
    assert delivery_days[datetime.date(2026, 12, 28)] > delivery_days[datetime.date(2026, 12, 24)]


def test_a_realistic_mix_of_outcomes():
    # each parcel looked at 14 days after it was announced
    final = Counter()
    within = Counter()
    seen = Counter()
    for code in NOVEMBER:
        announced = decode_tracking_code(code)[0]
        result = simulated_result(code, announced + datetime.timedelta(days=14))
        final[result.status] += 1
        seen.update({e.status for e in result.events})
        for days in (2, 3):
            if result.delivered_at and result.delivered_at - announced <= datetime.timedelta(days=days):
                within[days] += 1

    total = len(NOVEMBER)
    assert final[S.DELIVERED] / total > 0.95
    assert within[2] / total > 0.6  # next-day delivery for most parcels announced in the day
    assert within[3] / total > 0.88
    assert 0.01 < final[S.RETURNED_TO_SENDER] / total < 0.04
    # lost parcels stop moving: still in transit after two weeks, half with a "missing" report
    assert 0.002 < (final[S.IN_TRANSIT] + final[S.EXCEPTION]) / total < 0.03
    assert final[S.EXCEPTION] > 0 and final[S.IN_TRANSIT] > 0
    assert seen[S.DELIVERY_FAILED] / total > 0.05
    assert seen[S.AT_PICKUP_POINT] > 30


def test_a_parcel_moves_over_hours_and_days():
    code = NOVEMBER[10]  # failed once, delivered the next carrier day
    assert simulated_scenario(code) == "failed_then_delivered"
    announced = decode_tracking_code(code)[0]

    statuses = [
        simulated_result(code, announced + datetime.timedelta(hours=h)).status for h in (0, 9, 23, 27, 60, 24 * 5)
    ]

    assert statuses[0] == S.PRE_TRANSIT
    assert S.IN_TRANSIT in statuses
    assert S.DELIVERY_FAILED in statuses or S.OUT_FOR_DELIVERY in statuses
    assert statuses[-1] == S.DELIVERED
    final = simulated_result(code, announced + datetime.timedelta(days=5))
    assert final.delivered_at == final.events[-1].occurred_at


def test_unknown_and_not_yet_announced_codes_are_not_found():
    code = NOVEMBER[0]
    announced = decode_tracking_code(code)[0]
    adapter = adapter_at(announced - datetime.timedelta(minutes=1))

    not_yet, unknown, invalid = adapter.fetch(
        [TrackingRequest(code), TrackingRequest("SIM00000000000000000"), TrackingRequest("3SDEVC123")]
    )

    assert [(r.found, r.error_code) for r in (not_yet, unknown, invalid)] == [(False, "not_found")] * 3
    (visible,) = adapter_at(announced).fetch([TrackingRequest(code)])
    assert visible.found and visible.status == S.PRE_TRANSIT


@pytest.mark.parametrize(
    ("mode", "error", "code"),
    [
        ("timeout", CarrierUnavailable, "carrier_timeout"),
        ("connection_error", CarrierUnavailable, "carrier_connection_error"),
        ("server_error", CarrierUnavailable, "carrier_server_error"),
        ("rate_limited", CarrierRateLimited, "carrier_rate_limited"),
        ("auth", CarrierAuthError, "carrier_auth_failed"),
    ],
)
def test_fault_modes_raise_the_errors_real_carriers_raise(mode, error, code):
    adapter = adapter_at(datetime.datetime(2026, 11, 9, tzinfo=UTC), "dhl", fault=mode)

    with pytest.raises(error) as raised:
        adapter.fetch([TrackingRequest(NOVEMBER[0])])

    assert raised.value.code == code
    assert raised.value.carrier == "dhl"


def test_an_outage_from_settings_hits_only_that_carrier_and_ends_with_the_setting():
    request = [TrackingRequest(NOVEMBER[0])]
    faults = {"dhl": {"mode": "rate_limited", "retry_after": 900}}

    with override_settings(CARRIER_SIMULATOR_FAULTS=faults):
        with pytest.raises(CarrierRateLimited) as raised:
            get_adapter("dhl").fetch(request)
        assert raised.value.retry_after_seconds == 900
        assert get_adapter("postnl").fetch(request)[0].found

    assert get_adapter("dhl").fetch(request)[0].found


def test_a_flaky_carrier_fails_only_a_share_of_its_calls():
    adapter = adapter_at(
        datetime.datetime(2026, 11, 9, tzinfo=UTC), "gls", fault={"mode": "server_error", "probability": 0.3}
    )
    outcomes = Counter()
    for _ in range(400):
        try:
            adapter.fetch([TrackingRequest(NOVEMBER[0])])
            outcomes["ok"] += 1
        except CarrierUnavailable:
            outcomes["failed"] += 1

    assert 80 < outcomes["failed"] < 160


def test_an_unknown_fault_mode_is_a_configuration_error():
    with pytest.raises(ValueError):
        adapter_at(datetime.datetime(2026, 11, 9, tzinfo=UTC), fault="meteor").fetch([TrackingRequest(NOVEMBER[0])])


def test_twenty_thousand_codes_in_batches_are_cheap():
    codes = codes_from(datetime.datetime(2026, 11, 5, 6, 0, tzinfo=UTC), 20_000, 1)  # 14 days of parcels
    adapter = adapter_at(datetime.datetime(2026, 11, 19, 12, 0, tzinfo=UTC))
    requests = [TrackingRequest(c) for c in codes]

    started = time.process_time()
    results = []
    for batch in adapter.batches(requests):
        results.extend(adapter.fetch(batch))
    cpu_seconds = time.process_time() - started

    assert len(results) == 20_000 and all(r.found for r in results)
    assert adapter.calls_needed(20_000) == 200
    assert cpu_seconds < 5, cpu_seconds


@pytest.mark.parametrize(
    ("carrier", "url"),
    [
        ("postnl", "https://jouw.postnl.nl/track-and-trace/SIM00362217000004205-NL-1234AB?language=nl"),
        ("dhl", "https://www.dhl.com/nl-nl/home/tracking.html?tracking-id=SIM00362217000004205&submit=1"),
        ("dhl_ecommerce_nl", "https://my.dhlecommerce.nl/home/tracktrace/SIM00362217000004205/1234AB"),
        ("dpd", "https://www.dpdgroup.com/nl/mydpd/my-parcels/track?lang=nl&parcelNumber=SIM00362217000004205"),
        ("gls", "https://gls-group.com/NL/nl/pakket-volgen?match=SIM00362217000004205"),
        ("simulator", "https://simulator.invalid/track/SIM00362217000004205"),
    ],
)
def test_a_simulated_carrier_keeps_the_real_tracking_url_format(carrier, url):
    assert SimulatorAdapter(carrier).tracking_url("SIM00362217000004205", postal_code="1234 AB") == url


def test_the_simulator_has_its_own_quota():
    adapter = SimulatorAdapter("dhl")
    assert (adapter.max_batch_size, adapter.calls_per_second, adapter.calls_per_day) == (100, 10, 20_000)
    with override_settings(CARRIER_QUOTAS={"simulator": {"calls_per_day": 50_000}, "dhl": {"calls_per_day": 1}}):
        assert adapter.calls_per_day == 50_000
