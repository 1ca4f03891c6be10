import datetime
from zoneinfo import ZoneInfo

import pytest

from carriers.adapters.base import TrackingRequest
from carriers.adapters.postnl import (
    PostNLAdapter,
    change_feed_windows,
    parse_status_response,
    parse_updated_shipments,
    postnl_status,
)
from carriers.exceptions import CarrierNotConfigured
from carriers.statuses import ShipmentStatus as S
from carriers.tests.transport import CarrierTransport, json_response, load_http, load_sample_json, mount

NL = ZoneInfo("Europe/Amsterdam")


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=NL)


def make_adapter(**kwargs) -> tuple[PostNLAdapter, CarrierTransport]:
    adapter = PostNLAdapter(api_key="test-key", customer_number="11223344", base_url="https://postnl.test", **kwargs)
    return adapter, mount(adapter, CarrierTransport())


def test_complete_status_sample_gives_the_status_history_without_the_not_applicable_rows():
    # given the recorded sandbox answer with detail=true
    body = load_http("postnl_shippingstatus_v2_completestatus_sandbox-recorded.http").json()

    # when
    result = parse_status_response(body, "3SDEVC123456789")

    # then: OldStatus 1, 1, 2 (the two 99 "niet van toepassing" rows are no events), and the
    # current Status 2 is the same event as the last OldStatus, so it appears once
    assert result.found
    assert result.status == S.IN_TRANSIT
    assert [(e.carrier_status_code, e.status, e.occurred_at) for e in result.events] == [
        ("1", S.PRE_TRANSIT, at(2018, 3, 7, 9, 50, 47)),
        ("1", S.PRE_TRANSIT, at(2018, 3, 7, 9, 51, 8)),
        ("2", S.IN_TRANSIT, at(2018, 3, 7, 23, 20, 5)),
    ]
    assert result.events[-1].occurred_at.isoformat() == "2018-03-07T23:20:05+01:00"
    assert result.events[-1].description == "Zending in ontvangst genomen"
    assert result.events[-1].location == "419 Nm-Altrada"  # from the scan at the same moment
    assert result.events[0].location == ""  # PostNL's {} for an empty RouteName
    assert result.delivered_at is None


def test_current_status_sample():
    body = load_http("postnl_shippingstatus_v2_currentstatus_sandbox-recorded.http").json()

    result = parse_status_response(body, "3SDEVC302392342")

    assert result.status == S.IN_TRANSIT
    assert [(e.carrier_status_code, e.occurred_at.isoformat()) for e in result.events] == [
        ("2", "2018-03-07T23:20:05+01:00")
    ]


def test_documented_example_out_for_delivery_with_string_braces_for_empty_values():
    body = load_sample_json("postnl_shippingstatus_v2_status-by-barcode_documented-example.json")

    result = parse_status_response(body, "3SDEVC288882229")

    assert result.status == S.OUT_FOR_DELIVERY
    (event,) = result.events
    assert event.occurred_at == at(2022, 11, 8, 10, 13, 20)
    assert event.description == "Shipment out for delivery"
    assert result.delivered_at is None


def test_updated_shipments_feed_sample_gives_delivered_parcels():
    body = load_http("postnl_shippingstatus_v2_updatedshipments_sandbox-recorded.http").json()

    results = {r.tracking_code: r for r in parse_updated_shipments(body)}

    assert {code: (r.status, r.delivered_at) for code, r in results.items()} == {
        "3SABCD3563340": (S.DELIVERED, at(2021, 2, 26, 12, 57, 15)),
        "3SABCD987453178": (S.DELIVERED, at(2021, 2, 27, 13, 53, 18)),
        # 22: "Zending afgehaald van Postkantoor", collected by the customer
        "3SABCD987578527": (S.DELIVERED, at(2021, 3, 1, 14, 31, 8)),
        "3SABCD987530133": (S.DELIVERED, at(2021, 3, 11, 13, 48, 50)),
    }
    assert results["3SABCD987578527"].events[0].carrier_status_code == "22"


def test_parsing_the_same_answer_twice_gives_the_same_event_keys():
    body = load_http("postnl_shippingstatus_v2_completestatus_sandbox-recorded.http").json()

    first = parse_status_response(body, "3SDEVC123456789")
    second = parse_status_response(
        load_http("postnl_shippingstatus_v2_completestatus_sandbox-recorded.http").json(), "3SDEVC123456789"
    )

    assert [e.key for e in first.events] == [e.key for e in second.events]
    assert len({e.key for e in first.events}) == 3


def test_the_feed_and_the_barcode_call_give_one_key_for_one_event():
    # given the feed's row for a barcode, and the barcode call's answer for the same status
    # (the recorded current-status answer, with that barcode and status filled in)
    feed = {
        r.tracking_code: r
        for r in parse_updated_shipments(
            load_http("postnl_shippingstatus_v2_updatedshipments_sandbox-recorded.http").json()
        )
    }
    body = load_http("postnl_shippingstatus_v2_currentstatus_sandbox-recorded.http").json()
    body["CurrentStatus"]["Shipment"]["Barcode"] = "3SABCD3563340"
    body["CurrentStatus"]["Shipment"]["Status"] = {
        "TimeStamp": "26-02-2021 12:57:15",
        "StatusCode": "11",
        "StatusDescription": "Zending afgeleverd",
        "PhaseCode": "4",
        "PhaseDescription": "Afgeleverd",
    }

    # when
    by_barcode = parse_status_response(body, "3SABCD3563340")

    # then the two ways of writing the moment give one event
    assert by_barcode.events[0].key == feed["3SABCD3563340"].events[0].key


@pytest.mark.parametrize(
    ("status_code", "phase_code", "expected"),
    [
        ("1", "1", S.PRE_TRANSIT),
        ("2", "1", S.IN_TRANSIT),
        ("5", "2", S.IN_TRANSIT),
        ("7", "3", S.OUT_FOR_DELIVERY),
        ("8", "3", S.DELIVERY_FAILED),
        ("11", "4", S.DELIVERED),
        ("12", "4", S.AT_PICKUP_POINT),
        ("16", "2", S.EXCEPTION),
        ("18", "1", S.EXCEPTION),
        ("19", "1", S.EXCEPTION),
        ("22", "4", S.DELIVERED),
        ("27", "3", S.RETURNED_TO_SENDER),
        ("28", "3", S.RETURNED_TO_SENDER),
        ("07", "3", S.OUT_FOR_DELIVERY),  # leading zero
        ("64", "2", S.IN_TRANSIT),  # unknown code, known phase
        ("64", "4", S.UNKNOWN),  # unknown code in the delivered phase: no guess
        ("64", None, S.UNKNOWN),
        ({}, {}, S.UNKNOWN),  # PostNL's empty value
    ],
)
def test_status_code_mapping(status_code, phase_code, expected):
    assert postnl_status(status_code, phase_code) == expected


def test_unknown_status_code_in_an_answer_is_unknown_not_a_crash():
    body = load_sample_json("postnl_shippingstatus_v2_status-by-barcode_documented-example.json")
    body["CurrentStatus"]["Shipment"]["Status"].update(StatusCode="64", PhaseCode="9")

    result = parse_status_response(body, "3SDEVC288882229")

    assert result.found
    assert result.status == S.UNKNOWN
    assert result.events[0].status == S.UNKNOWN
    assert result.events[0].carrier_status_code == "64"


def test_empty_shipment_is_not_found():
    assert parse_status_response({"CurrentStatus": {"Shipment": {}}}, "3SX").error_code == "not_found"
    assert parse_status_response({"Warnings": [{"Code": "1", "Message": "x"}]}, "3SX").found is False


def test_fetch_sends_the_apikey_and_asks_for_the_history():
    # given
    adapter, transport = make_adapter()
    transport.add(
        "GET", r"/barcode/3SDEVC123456789$", load_http("postnl_shippingstatus_v2_completestatus_sandbox-recorded.http")
    )

    # when
    (result,) = adapter.fetch([TrackingRequest("3SDEVC123456789", postal_code="1234 DF")])

    # then
    (request,) = transport.sent
    assert request.headers["apikey"] == "test-key"
    assert request.url.startswith("https://postnl.test/shipment/v2/status/barcode/3SDEVC123456789?")
    assert transport.query(request) == {"detail": ["true"], "language": ["NL"]}
    assert result.status == S.IN_TRANSIT
    assert len(result.events) == 3


def test_fetch_404_is_not_found():
    adapter, transport = make_adapter()
    transport.add("GET", r"/barcode/", json_response({"Errors": [{"Code": "404"}]}, status=404))

    (result,) = adapter.fetch([TrackingRequest("3SNOTHING")])

    assert (result.found, result.error_code) == (False, "not_found")


def test_change_feed_asks_two_hour_windows_in_dutch_time_and_merges_them():
    # given a 3-hour period: two calls, both answered with the recorded feed
    adapter, transport = make_adapter()
    transport.add(
        "GET",
        r"/11223344/updatedshipments$",
        load_http("postnl_shippingstatus_v2_updatedshipments_sandbox-recorded.http"),
    )
    until = datetime.datetime.now(tz=datetime.UTC).replace(microsecond=0)
    since = until - datetime.timedelta(hours=3)

    # when
    results = adapter.fetch_changes(since, until)

    # then
    assert adapter.supports_change_feed
    assert adapter.change_feed_calls_needed(since, until) == 2
    assert len(transport.sent) == 2
    periods = [transport.query(r)["period"] for r in transport.sent]
    fmt = "%Y-%m-%dT%H:%M:%S"
    assert periods[0] == [
        since.astimezone(NL).strftime(fmt),
        (since + datetime.timedelta(hours=2)).astimezone(NL).strftime(fmt),
    ]
    assert periods[1][1] == until.astimezone(NL).strftime(fmt)
    assert all(r.headers["apikey"] == "test-key" for r in transport.sent)
    # the same rows in both windows are one result each, one event each
    assert sorted(r.tracking_code for r in results) == [
        "3SABCD3563340",
        "3SABCD987453178",
        "3SABCD987530133",
        "3SABCD987578527",
    ]
    assert all(len(r.events) == 1 and r.status == S.DELIVERED for r in results)


def test_change_feed_windows_never_reach_back_more_than_48_hours():
    now = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)

    windows = change_feed_windows(now - datetime.timedelta(days=5), now, now=now)

    assert windows[0][0] == now - datetime.timedelta(hours=48)
    assert len(windows) == 24
    assert all(end - start <= datetime.timedelta(hours=2) for start, end in windows)
    with pytest.raises(ValueError):
        change_feed_windows(datetime.datetime(2026, 11, 20), now, now=now)


def test_without_api_key_fetch_refuses_before_calling():
    adapter, transport = make_adapter()
    adapter.api_key = ""

    with pytest.raises(CarrierNotConfigured) as error:
        adapter.fetch([TrackingRequest("3SDEVC123456789")])

    assert error.value.code == "carrier_not_configured"
    assert transport.sent == []


def test_tracking_url():
    adapter, _ = make_adapter()
    assert (
        adapter.tracking_url("3SDEVC123456789", postal_code="1234 ab", country="NL")
        == "https://jouw.postnl.nl/track-and-trace/3SDEVC123456789-NL-1234AB?language=nl"
    )
    assert adapter.tracking_url("3SDEVC123456789", language="en") == (
        "https://jouw.postnl.nl/track-and-trace/3SDEVC123456789?language=en"
    )
