import copy
import datetime
from zoneinfo import ZoneInfo

import pytest

from carriers.adapters.base import TrackingRequest
from carriers.adapters.dhl import DHLAdapter, dhl_status, parse_shipments_response
from carriers.statuses import ShipmentStatus as S
from carriers.tests.transport import CarrierTransport, json_response, load_sample_json, mount

NL = ZoneInfo("Europe/Amsterdam")
SAMPLE = "dhl_unified-tracking_documented-example_karrio-wrapped.json"


def documented_answer() -> dict:
    """DHL's documented 200 body: karrio keeps it under `trackingResponse`."""
    return load_sample_json(SAMPLE)["trackingResponse"]


def make_adapter() -> tuple[DHLAdapter, CarrierTransport]:
    adapter = DHLAdapter(api_key="dhl-key", base_url="https://dhl.test")
    return adapter, mount(adapter, CarrierTransport())


def test_documented_example_is_pre_transit_with_the_local_time_of_amsterdam():
    # The documented example mixes placeholders: statusCode "pre-transit" with status text
    # "DELIVERED" and a proof of delivery. statusCode is what DHL normalises on, so it wins.
    result = parse_shipments_response(documented_answer(), "7777777770")

    assert result.found
    assert result.status == S.PRE_TRANSIT
    (event,) = result.events
    # the event time has no offset: it is local time at the location (Amsterdam, NL)
    assert event.occurred_at == datetime.datetime(2018, 3, 2, 7, 53, 47, tzinfo=NL)
    assert event.occurred_at.isoformat() == "2018-03-02T07:53:47+01:00"
    assert event.carrier_status_code == "pre-transit"
    assert event.description == "JESSICA"
    assert event.location == "Oderweg 2, AMSTERDAM, 1043 AG (NL)"
    assert result.delivered_at is None


def test_a_delivered_event_sets_delivered_at():
    # given the documented example with its event turned into a delivery (keeping DHL's shape)
    body = documented_answer()
    body["shipments"][0]["events"].insert(
        0,
        {
            **copy.deepcopy(body["shipments"][0]["events"][0]),
            "timestamp": "2018-03-03T14:05:00+01:00",
            "statusCode": "delivered",
            "status": "Delivered",
            "description": "The shipment has been delivered to the recipient",
        },
    )

    result = parse_shipments_response(body, "7777777770")

    assert result.status == S.DELIVERED
    assert result.delivered_at == datetime.datetime(2018, 3, 3, 14, 5, tzinfo=NL)
    assert [e.status for e in result.events] == [S.PRE_TRANSIT, S.DELIVERED]


def test_same_answer_twice_gives_the_same_keys():
    first = parse_shipments_response(documented_answer(), "7777777770")
    second = parse_shipments_response(documented_answer(), "7777777770")
    assert [e.key for e in first.events] == [e.key for e in second.events]


@pytest.mark.parametrize(
    ("status_code", "text", "expected"),
    [
        ("pre-transit", "The shipment data has been received", S.PRE_TRANSIT),
        ("transit", "The shipment has been processed in the parcel center", S.IN_TRANSIT),
        ("transit", "The shipment is out for delivery", S.OUT_FOR_DELIVERY),
        ("transit", "Die Sendung wurde in das Zustellfahrzeug geladen", S.OUT_FOR_DELIVERY),
        ("transit", "The shipment is ready for pick-up at the DHL Parcel Shop", S.AT_PICKUP_POINT),
        ("transit", "The shipment will be delivered to a parcel shop", S.IN_TRANSIT),
        ("transit", "The shipment is being returned to sender", S.RETURNED_TO_SENDER),
        ("delivered", "The shipment has been delivered", S.DELIVERED),
        ("delivered", "The shipment has been delivered to the Packstation", S.AT_PICKUP_POINT),
        ("delivered", "The shipment has been picked up by the recipient at the Packstation", S.DELIVERED),
        ("delivered", "The shipment has been returned to the sender", S.RETURNED_TO_SENDER),
        ("failure", "The shipment could not be delivered, recipient not at home", S.DELIVERY_FAILED),
        ("failure", "Returned to sender: address unknown", S.RETURNED_TO_SENDER),
        ("failure", "The shipment is damaged", S.EXCEPTION),
        ("unknown", "", S.UNKNOWN),
        ("teleported", "", S.UNKNOWN),
        (None, "", S.UNKNOWN),
    ],
)
def test_status_code_with_the_text(status_code, text, expected):
    assert dhl_status(status_code, text) == expected


def test_fetch_sends_the_api_key_and_reads_the_answer():
    adapter, transport = make_adapter()
    transport.add("GET", r"^/track/shipments$", json_response(documented_answer()))

    (result,) = adapter.fetch([TrackingRequest("7777777770", postal_code="1043 ag")])

    (request,) = transport.sent
    assert request.headers["DHL-API-Key"] == "dhl-key"
    assert transport.query(request) == {
        "trackingNumber": ["7777777770"],
        "language": ["en"],
        "recipientPostalCode": ["1043AG"],
    }
    assert result.status == S.PRE_TRANSIT


def test_fetch_documented_404_problem_is_not_found():
    adapter, transport = make_adapter()
    transport.add("GET", r"^/track/shipments$", json_response(load_sample_json(SAMPLE)["error"], status=404))

    (result,) = adapter.fetch([TrackingRequest("8264715546")])

    assert (result.found, result.error_code, result.status) == (False, "not_found", S.UNKNOWN)


def test_one_call_per_code_and_dhl_quota():
    adapter, transport = make_adapter()
    transport.add("GET", r"^/track/shipments$", json_response(documented_answer()))

    results = adapter.fetch([TrackingRequest("7777777770"), TrackingRequest("7777777770")])

    assert len(results) == 2 and len(transport.sent) == 2
    assert adapter.max_batch_size == 1
    assert (adapter.calls_per_second, adapter.calls_per_day) == (1, 250)
    assert adapter.calls_needed(5) == 5


def test_tracking_url():
    adapter, _ = make_adapter()
    assert (
        adapter.tracking_url("7777777770")
        == "https://www.dhl.com/nl-nl/home/tracking.html?tracking-id=7777777770&submit=1"
    )
