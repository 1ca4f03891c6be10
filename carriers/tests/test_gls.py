import base64
import datetime

import pytest

from carriers.adapters.base import TrackingRequest
from carriers.adapters.gls import GLSAdapter, gls_event_status, parse_parcels_response
from carriers.statuses import ShipmentStatus as S
from carriers.tests.transport import CarrierTransport, json_response, load_sample_json, mount

WITH_LINKS = "gls_track-and-trace-v1_200WithLinks_delivered-parcelshop.json"
WITH_ERRORS = "gls_track-and-trace-v1_200WithErrors_preadvice-and-notfound.json"
PLUS_ONE = datetime.timezone(datetime.timedelta(hours=1))
PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))


def make_adapter() -> tuple[GLSAdapter, CarrierTransport]:
    adapter = GLSAdapter(client_id="gls-app", client_secret="gls-secret", base_url="https://gls.test")
    transport = mount(adapter, CarrierTransport())
    transport.add(
        "POST",
        r"^/oauth2/v2/token$",
        json_response({"access_token": "token-1", "token_type": "Bearer", "expires_in": 14400}),
    )
    return adapter, transport


def test_delivered_at_parcelshop_sample_is_at_pickup_point():
    # DELIVEREDPS: the parcel is at a ParcelShop; the customer has not collected it yet,
    # so it is not delivered (no delivered_at, the withdrawal period has not started).
    (result,) = parse_parcels_response(load_sample_json(WITH_LINKS), [TrackingRequest("42249028960")])

    assert result.found
    assert result.status == S.AT_PICKUP_POINT
    assert result.delivered_at is None
    assert [(e.carrier_status_code, e.status, e.occurred_at) for e in result.events] == [
        ("INTIAL.PREADVICE", S.PRE_TRANSIT, datetime.datetime(2025, 2, 10, 15, 8, 43, tzinfo=PLUS_ONE)),
        ("INTIAL.E48_DATA", S.PRE_TRANSIT, datetime.datetime(2025, 2, 10, 15, 8, 44, tzinfo=PLUS_ONE)),
        ("INTIAL.NORMAL", S.IN_TRANSIT, datetime.datetime(2025, 2, 10, 15, 11, 12, tzinfo=PLUS_ONE)),
        ("DELIVD.PARCELSHOP", S.AT_PICKUP_POINT, datetime.datetime(2025, 2, 10, 15, 13, 46, tzinfo=PLUS_ONE)),
    ]
    assert result.events[2].location == "DE"
    assert result.events[2].description == "The parcel was handed over to GLS."


def test_errors_sample_one_not_found_one_preadvice():
    requests = [TrackingRequest("42249018928"), TrackingRequest("36301917596")]

    missing, preadvice = parse_parcels_response(load_sample_json(WITH_ERRORS), requests)

    assert (missing.found, missing.error_code, missing.events) == (False, "not_found", [])
    assert preadvice.status == S.PRE_TRANSIT
    assert [e.occurred_at for e in preadvice.events] == [
        datetime.datetime(2024, 10, 11, 15, 24, 51, tzinfo=PLUS_TWO),
        datetime.datetime(2024, 10, 11, 15, 24, 52, tzinfo=PLUS_TWO),
    ]


def test_same_answer_twice_gives_the_same_keys():
    first = parse_parcels_response(load_sample_json(WITH_LINKS), [TrackingRequest("42249028960")])[0]
    second = parse_parcels_response(load_sample_json(WITH_LINKS), [TrackingRequest("42249028960")])[0]
    assert [e.key for e in first.events] == [e.key for e in second.events]
    assert len({e.key for e in first.events}) == 4


def test_collected_from_the_parcelshop_is_delivered():
    # the sample, after the customer collected the parcel (GLS's DELIVD category, status DELIVERED)
    body = load_sample_json(WITH_LINKS)
    parcel = body["parcels"][0]
    parcel["status"] = "DELIVERED"
    parcel["statusDateTime"] = "2025-02-12T10:01:00+0100"
    parcel["events"].insert(
        0,
        {
            "code": "DELIVD.DEL_BY_PSAPP",
            "city": "",
            "postalCode": "",
            "country": "NL",
            "description": "The parcel has been handed over from the ParcelShop.",
            "eventDateTime": "2025-02-12T10:01:00+0100",
        },
    )

    (result,) = parse_parcels_response(body, [TrackingRequest("42249028960")])

    assert result.status == S.DELIVERED
    assert result.delivered_at == datetime.datetime(2025, 2, 12, 10, 1, tzinfo=PLUS_ONE)
    assert result.events[-1].status == S.DELIVERED


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("INTIAL.PREADVICE", S.PRE_TRANSIT),
        ("INTIAL.NORMAL", S.IN_TRANSIT),
        ("INBOUD.NORMAL", S.IN_TRANSIT),
        ("OUTDEL.NORMAL", S.OUT_FOR_DELIVERY),
        ("DELIVD.NORMAL", S.DELIVERED),
        ("DELIVD.PARCELSHOP", S.AT_PICKUP_POINT),
        ("CANCEL.NORMAL", S.EXCEPTION),
        ("WORMHO.LE", S.UNKNOWN),
        ("", S.UNKNOWN),
    ],
)
def test_event_codes(code, expected):
    assert gls_event_status(code) == expected


def test_unknown_parcel_status_and_event_code_are_unknown():
    body = {
        "parcels": [
            {
                "requested": "1",
                "unitno": "1",
                "status": "WORMHOLE",
                "statusDateTime": "2025-01-01T10:00:00+0100",
                "events": [{"code": "WORM.HOLE", "eventDateTime": "2025-01-01T09:00:00+0100"}],
            }
        ]
    }

    (result,) = parse_parcels_response(body, [TrackingRequest("1")])

    assert result.found and result.status == S.UNKNOWN and result.events[0].status == S.UNKNOWN


def test_fetch_gets_a_token_once_and_sends_it_as_bearer():
    # given
    adapter, transport = make_adapter()
    transport.add("GET", r"/tracking/simple/trackids/", json_response(load_sample_json(WITH_ERRORS)))

    # when: two fetches, and a second adapter (another worker process) after them
    adapter.fetch([TrackingRequest("42249018928"), TrackingRequest("36301917596")])
    adapter.fetch([TrackingRequest("36301917596")])
    other = GLSAdapter(client_id="gls-app", client_secret="gls-secret", base_url="https://gls.test")
    other_transport = mount(other, CarrierTransport()).add(
        "GET", r"/tracking/simple/trackids/", json_response(load_sample_json(WITH_ERRORS))
    )
    other.fetch([TrackingRequest("36301917596")])

    # then one token for all of them, kept in the shared cache
    (token_call,) = transport.calls("POST", r"/oauth2/v2/token")
    assert token_call.headers["Authorization"] == "Basic " + base64.b64encode(b"gls-app:gls-secret").decode()
    assert token_call.body == "grant_type=client_credentials"
    first, _second = transport.calls("GET")
    assert first.url.startswith("https://gls.test/track-and-trace-v1/tracking/simple/trackids/42249018928,36301917596?")
    assert transport.query(first) == {"showEvents": ["true"]}
    assert first.headers["Authorization"] == "Bearer token-1"
    assert first.headers["Accept-Language"] == "EN"
    assert other_transport.sent[0].headers["Authorization"] == "Bearer token-1"


def test_an_expired_token_is_renewed_once():
    adapter, transport = make_adapter()
    transport.routes.clear()
    transport.add(
        "POST",
        r"^/oauth2/v2/token$",
        json_response({"access_token": "old", "expires_in": 14400}),
        json_response({"access_token": "new", "expires_in": 14400}),
    )
    expired = json_response(
        {
            "fault": {
                "faultstring": "The Token has expired: policy(Verify-JWT)",
                "detail": {"errorcode": "steps.jwt.TokenExpired"},
            }
        },
        status=401,
    )
    transport.add("GET", r"/tracking/simple/trackids/", expired, json_response(load_sample_json(WITH_LINKS)))

    (result,) = adapter.fetch([TrackingRequest("42249028960")])

    assert result.status == S.AT_PICKUP_POINT
    assert [r.headers["Authorization"] for r in transport.calls("GET")] == ["Bearer old", "Bearer new"]


def test_batches_of_ten():
    adapter, transport = make_adapter()
    transport.add("GET", r"/tracking/simple/trackids/", json_response({"parcels": []}))

    results = adapter.fetch([TrackingRequest(f"{n:011d}") for n in range(23)])

    assert len(results) == 23 and all(r.error_code == "not_found" for r in results)
    assert [len(r.url.split("/trackids/")[1].split("?")[0].split(",")) for r in transport.calls("GET")] == [10, 10, 3]
    assert adapter.calls_needed(23) == 3
    assert adapter.calls_per_day == 500


def test_tracking_url():
    adapter, _ = make_adapter()
    assert adapter.tracking_url("42249028960") == "https://gls-group.com/NL/nl/pakket-volgen?match=42249028960"
