import datetime
from zoneinfo import ZoneInfo

import pytest

from carriers.statuses import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    ShipmentStatus,
    TrackingEvent,
    TrackingResult,
    is_final,
)

S = ShipmentStatus
NL = ZoneInfo("Europe/Amsterdam")


def event(status=S.IN_TRANSIT, at=datetime.datetime(2026, 11, 20, 9, 0, tzinfo=NL), code="5", **kwargs):
    return TrackingEvent(tracking_code="3SABC", status=status, occurred_at=at, carrier_status_code=code, **kwargs)


def test_the_nine_normalised_statuses():
    assert S.values == [
        "pre_transit",
        "in_transit",
        "out_for_delivery",
        "at_pickup_point",
        "delivered",
        "delivery_failed",
        "returned_to_sender",
        "exception",
        "unknown",
    ]
    assert {"delivered", "returned_to_sender"} == FINAL_STATUSES
    assert S.EXCEPTION in OPEN_STATUSES and S.AT_PICKUP_POINT in OPEN_STATUSES
    assert is_final(S.DELIVERED) and not is_final(S.EXCEPTION)


def test_the_key_is_the_same_for_the_same_moment_written_differently():
    local = event(at=datetime.datetime(2021, 2, 26, 12, 57, 15, tzinfo=NL))
    utc = event(at=datetime.datetime(2021, 2, 26, 11, 57, 15, tzinfo=datetime.UTC), description="other words")

    assert local.key == utc.key
    assert len(local.key) == 40


def test_the_key_differs_per_code_moment_and_parcel():
    base = event()
    assert base.key != event(code="7").key
    assert base.key != event(at=base.occurred_at + datetime.timedelta(seconds=1)).key
    assert base.key != TrackingEvent("3SABD", S.IN_TRANSIT, base.occurred_at, "5").key
    assert base.key == TrackingEvent(" 3sabc ", S.IN_TRANSIT, base.occurred_at, "5").key


def test_events_need_an_aware_moment_and_a_known_status():
    with pytest.raises(ValueError):
        event(at=datetime.datetime(2026, 11, 20, 9, 0))
    with pytest.raises(ValueError):
        event(status="teleported")


def test_from_events_sorts_and_drops_repeats():
    first = event(S.PRE_TRANSIT, datetime.datetime(2026, 11, 20, 8, 0, tzinfo=NL), "1")
    second = event(S.IN_TRANSIT, datetime.datetime(2026, 11, 20, 18, 0, tzinfo=NL), "2")
    delivered = event(S.DELIVERED, datetime.datetime(2026, 11, 21, 11, 0, tzinfo=NL), "11")
    info = event(S.UNKNOWN, datetime.datetime(2026, 11, 21, 12, 0, tzinfo=NL), "X")

    result = TrackingResult.from_events("3SABC", [delivered, second, first, second, info])

    assert result.events == [first, second, delivered, info]
    assert result.status == S.DELIVERED  # the last event with a known status
    assert result.delivered_at == delivered.occurred_at
    assert result.is_final


def test_delivered_at_only_for_delivered():
    delivered = event(S.DELIVERED, code="11")
    result = TrackingResult.from_events("3SABC", [delivered], status=S.RETURNED_TO_SENDER)
    assert result.delivered_at is None


def test_not_found():
    result = TrackingResult.not_found("3SABC")
    assert (result.found, result.status, result.events, result.error_code) == (False, S.UNKNOWN, [], "not_found")
