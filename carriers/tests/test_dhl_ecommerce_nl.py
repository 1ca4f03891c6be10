"""DHL eCommerce NL has no recorded sample in ../shared/samples. The answers here are
constructed by us in the documented shape of the gateway's `GET /track-trace` (an array of
parcels with `barcode`, `deliveredAt` and `events[]` of `category`, `status`, `timestamp`);
they are not recordings."""

import datetime

import pytest

from carriers.adapters.base import TrackingRequest
from carriers.adapters.dhl_ecommerce_nl import DHLEcommerceNLAdapter, dhl_ecommerce_status, parse_track_trace
from carriers.statuses import ShipmentStatus as S
from carriers.tests.transport import CarrierTransport, json_response, mount

UTC = datetime.UTC


def parcel(barcode="JVGL06373120043841", delivered_at=None, events=None) -> dict:
    return {
        "barcode": barcode,
        "deliveredAt": delivered_at,
        "plannedDeliveryTimeframe": {"from": "2026-11-18T09:00:00Z", "to": "2026-11-18T13:00:00Z"},
        "events": events
        if events is not None
        else [
            {
                "category": "DATA_RECEIVED",
                "status": "PRENOTIFICATION_RECEIVED",
                "timestamp": "2026-11-16T10:05:00Z",
                "type": "PIECE_EVENT",
            },
            {
                "category": "UNDERWAY",
                "status": "PARCEL_SORTED_AT_HUB",
                "timestamp": "2026-11-17T01:12:00Z",
                "type": "PIECE_EVENT",
                "facility": "Hub Utrecht",
            },
            {
                "category": "IN_DELIVERY",
                "status": "OUT_FOR_DELIVERY",
                "timestamp": "2026-11-17T07:30:00Z",
                "type": "PIECE_EVENT",
            },
            {
                "category": "DELIVERED",
                "status": "DELIVERED_AT_NEIGHBOURS",
                "timestamp": "2026-11-17T11:02:22Z",
                "type": "PIECE_EVENT",
            },
        ],
    }


def make_adapter(**credentials) -> tuple[DHLEcommerceNLAdapter, CarrierTransport]:
    adapter = DHLEcommerceNLAdapter(base_url="https://dhlparcel.test", **credentials)
    return adapter, mount(adapter, CarrierTransport())


def test_delivered_at_neighbours():
    (result,) = parse_track_trace(
        [parcel(delivered_at="2026-11-17T11:02:22.000+00:00")], [TrackingRequest("JVGL06373120043841")]
    )

    assert result.status == S.DELIVERED
    assert result.delivered_at == datetime.datetime(2026, 11, 17, 11, 2, 22, tzinfo=UTC)
    assert [(e.carrier_status_code, e.status) for e in result.events] == [
        ("PRENOTIFICATION_RECEIVED", S.PRE_TRANSIT),
        ("PARCEL_SORTED_AT_HUB", S.IN_TRANSIT),
        ("OUT_FOR_DELIVERY", S.OUT_FOR_DELIVERY),
        ("DELIVERED_AT_NEIGHBOURS", S.DELIVERED),
    ]
    assert result.events[1].location == "Hub Utrecht"


def test_a_return_that_reached_the_shop_is_returned_not_delivered():
    events = [
        *parcel()["events"][:3],
        {"category": "PROBLEM", "status": "NOT_HOME_NEW_DELIVERY", "timestamp": "2026-11-17T12:00:00Z"},
        {"category": "DELIVERED", "status": "DELIVERED_AT_SHIPPER", "timestamp": "2026-11-20T09:00:00Z"},
    ]
    (result,) = parse_track_trace(
        [parcel(delivered_at="2026-11-20T09:00:00Z", events=events)], [TrackingRequest("JVGL06373120043841")]
    )

    assert result.status == S.RETURNED_TO_SENDER
    assert result.delivered_at is None
    assert result.events[3].status == S.DELIVERY_FAILED


@pytest.mark.parametrize(
    ("status", "category", "expected"),
    [
        ("NOTIFICATION_FOR_PARCELSHOP_COLLECTION_HAS_BEEN_SENT", "UNDERWAY", S.AT_PICKUP_POINT),
        ("COLLECTED_AT_PARCELSHOP", "DELIVERED", S.DELIVERED),
        ("INTERVENTION_RECEIVER_REQUESTS_DELIVERY_AT_NEIGHBOURS", "INTERVENTION", S.IN_TRANSIT),
        ("SOMETHING_NEW", "UNDERWAY", S.IN_TRANSIT),
        ("SOMETHING_NEW", "SOMETHING_ELSE", S.UNKNOWN),
        ("", "", S.UNKNOWN),
    ],
)
def test_status_mapping(status, category, expected):
    assert dhl_ecommerce_status(status, category) == expected


def test_fetch_asks_barcode_plus_postcode_for_a_batch_and_matches_on_barcode():
    # given the gateway knows only one of the two
    adapter, transport = make_adapter()
    transport.add("GET", r"^/track-trace$", json_response([parcel()]))

    # when
    unknown, known = adapter.fetch(
        [
            TrackingRequest("JVGL00000000000000", postal_code="9999 ZZ"),
            TrackingRequest("JVGL06373120043841", postal_code="3571 zz"),
        ]
    )

    # then
    (request,) = transport.sent
    assert transport.query(request) == {"key": ["JVGL00000000000000+9999ZZ,JVGL06373120043841+3571ZZ"]}
    assert "%2B" in request.url  # the plus is sent as a plus, not as a space
    assert "Authorization" not in request.headers  # track & trace is public without credentials
    assert (unknown.found, unknown.error_code) == (False, "not_found")
    assert known.status == S.DELIVERED


def test_with_credentials_a_bearer_token_is_sent():
    adapter, transport = make_adapter(user_id="user-1", api_key="key-1")
    transport.add(
        "POST", r"^/authenticate/api-key$", json_response({"accessToken": "jwt-1", "accessTokenExpiration": 4102444800})
    )
    transport.add("GET", r"^/track-trace$", json_response([parcel()]))

    adapter.fetch([TrackingRequest("JVGL06373120043841")])

    (auth,) = transport.calls("POST")
    assert auth.body == b'{"userId": "user-1", "key": "key-1"}'
    assert transport.calls("GET")[0].headers["Authorization"] == "Bearer jwt-1"


def test_404_means_none_of_the_keys_is_known():
    adapter, transport = make_adapter()
    transport.add(
        "GET", r"^/track-trace$", json_response({"message": "No parcel found for the given key(s)"}, status=404)
    )

    results = adapter.fetch([TrackingRequest("JVGL1"), TrackingRequest("JVGL2")])

    assert [r.error_code for r in results] == ["not_found", "not_found"]


def test_tracking_url():
    adapter, _ = make_adapter()
    assert adapter.tracking_url("JVGL06373120043841", postal_code="3571 ZZ") == (
        "https://my.dhlecommerce.nl/home/tracktrace/JVGL06373120043841/3571ZZ"
    )


def test_same_answer_twice_gives_the_same_keys():
    request = [TrackingRequest("JVGL06373120043841")]
    first = parse_track_trace([parcel()], request)[0]
    second = parse_track_trace([parcel()], request)[0]
    assert [e.key for e in first.events] == [e.key for e in second.events]
    assert len({e.key for e in first.events}) == 4
