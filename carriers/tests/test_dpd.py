"""DPD has no recorded sample in ../shared/samples (its tracking is SOAP and no data file was
found). The answers here are constructed by us from DPD's published interface: the
ParcelLifeCycleService 2.0 schema (TrackingResult → shipmentInfo, statusInfo with status,
label, description, statusHasBeenReached, isCurrentStatus, location, date as ContentLines)
and the sample call and answer layout on integrations.dpd.nl, with DPD NL's status names and
date format. They are not recordings of DPD's servers."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from carriers.adapters.base import TrackingRequest
from carriers.adapters.dpd import DPDAdapter, dpd_status, parse_tracking_result
from carriers.exceptions import CarrierAuthError
from carriers.statuses import ShipmentStatus as S
from carriers.tests.transport import CarrierTransport, mount, xml_response

NL = ZoneInfo("Europe/Amsterdam")
BE = ZoneInfo("Europe/Brussels")
PARCEL = "05222835034925"


def line(text: str, bold: str = "true") -> str:
    return f"<content>{text}</content><bold>{bold}</bold><paragraph>false</paragraph>"


def status_info(status, label, description, date, location, *, reached=True, current=False) -> str:
    dated = f"<location>{line(location)}</location><date>{line(date)}</date>" if reached else ""
    return (
        "<statusInfo>"
        f"<status>{status}</status><label>{line(label)}</label>"
        f"<description><content>{line(description, 'false')}</content></description>"
        f"<statusHasBeenReached>{str(reached).lower()}</statusHasBeenReached>"
        f"<isCurrentStatus>{str(current).lower()}</isCurrentStatus>"
        "<showContactInfo>true</showContactInfo>"
        f"{dated}</statusInfo>"
    )


def tracking_answer(*infos: str) -> str:
    return (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soap:Body>"
        '<getTrackingDataResponse xmlns="http://dpd.com/common/service/types/ParcelLifeCycleService/2.0">'
        "<trackingresult><shipmentInfo>"
        "<serviceDescription><label>" + line("Your DPD service:", "false") + "</label>"
        "<content>" + line("DPD Home", "false") + "</content></serviceDescription>"
        "<status>SHIPMENT</status><statusHasBeenReached>false</statusHasBeenReached>"
        "<isCurrentStatus>false</isCurrentStatus><showContactInfo>false</showContactInfo>"
        "</shipmentInfo>" + "".join(infos) + "</trackingresult></getTrackingDataResponse></soap:Body></soap:Envelope>"
    )


DELIVERED_ANSWER = tracking_answer(
    status_info(
        "PickedUp", "Parcel handed to DPD", "DPD has received your parcel.", "11/16/2026 6:12:40 PM", "Oirschot (NL)"
    ),
    status_info(
        "BetweenDepots",
        "In transit",
        "The parcel is at the parcel dispatch centre.",
        "11/16/2026 11:48:00 PM",
        "Mechelen (BE)",
    ),
    status_info(
        "Courier",
        "Parcel out for delivery",
        "The parcel has left the parcel delivery centre.",
        "11/17/2026 7:34:34 AM",
        "Utrecht (NL)",
    ),
    status_info(
        "DeliveryFailure",
        "Parcel out for delivery",
        "Unfortunately we have not been able to deliver your parcel.",
        "11/17/2026 2:43:31 PM",
        "Utrecht (NL)",
    ),
    status_info(
        "Courier",
        "Parcel out for delivery",
        "The parcel has left the parcel delivery centre.",
        "11/18/2026 8:01:00 AM",
        "Utrecht (NL)",
    ),
    status_info(
        "Delivered",
        "Parcel delivered",
        "Your parcel has been delivered.",
        "11/18/2026 12:30:05 PM",
        "Utrecht (NL)",
        current=True,
    ),
)

IN_TRANSIT_ANSWER = tracking_answer(
    status_info(
        "ACCEPTED", "Parcel handed to DPD", "DPD has received your parcel.", "16.11.2026 18:12", "Oirschot (NL)"
    ),
    status_info(
        "AT_SENDING_DEPOT", "In transit", "At the dispatch depot.", "16.11.2026 21:05", "Oirschot (NL)", current=True
    ),
    status_info("ON_THE_ROAD", "On the road", "", "", "", reached=False),
    status_info("AT_DELIVERY_DEPOT", "At delivery depot", "", "", "", reached=False),
    status_info("DELIVERED", "Delivered", "", "", "", reached=False),
)

LOGIN_ANSWER = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    '<ns2:getAuthResponse xmlns:ns2="http://dpd.com/common/service/types/LoginService/2.1"><return>'
    "<delisId>TESTDELIS</delisId><customerUid>TESTDELIS</customerUid><authToken>{token}</authToken>"
    "<depot>0522</depot><authTokenExpires>2099-01-01T12:00:00.0</authTokenExpires>"
    "</return></ns2:getAuthResponse></soap:Body></soap:Envelope>"
)

AUTH_FAULT = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
    "<faultcode>soap:Server</faultcode><faultstring>Fault occured</faultstring><detail>"
    '<ns:authenticationFault xmlns:ns="http://dpd.com/common/service/types/Authentication/2.0">'
    "<errorCode>LOGIN_5</errorCode><errorMessage>The authentication token is expired.</errorMessage>"
    "</ns:authenticationFault></detail></soap:Fault></soap:Body></soap:Envelope>"
)


def parse(answer: str):
    from defusedxml import ElementTree

    return parse_tracking_result(ElementTree.fromstring(answer), PARCEL)


def make_adapter() -> tuple[DPDAdapter, CarrierTransport]:
    adapter = DPDAdapter(delis_id="TESTDELIS", password="secret", base_url="https://dpd.test")
    transport = mount(adapter, CarrierTransport())
    transport.add("POST", r"/LoginService/V2_1$", xml_response(LOGIN_ANSWER.format(token="token-1")))
    return adapter, transport


def test_delivered_after_a_failed_attempt():
    result = parse(DELIVERED_ANSWER)

    assert result.status == S.DELIVERED
    assert [(e.carrier_status_code, e.status) for e in result.events] == [
        ("PickedUp", S.IN_TRANSIT),
        ("BetweenDepots", S.IN_TRANSIT),
        ("Courier", S.OUT_FOR_DELIVERY),
        ("DeliveryFailure", S.DELIVERY_FAILED),
        ("Courier", S.OUT_FOR_DELIVERY),
        ("Delivered", S.DELIVERED),
    ]
    # local time of the depot: the Belgian hub scan is Brussels time
    assert result.events[1].occurred_at == datetime.datetime(2026, 11, 16, 23, 48, tzinfo=BE)
    assert result.events[1].location == "Mechelen (BE)"
    assert result.delivered_at == datetime.datetime(2026, 11, 18, 12, 30, 5, tzinfo=NL)
    assert result.delivered_at.isoformat() == "2026-11-18T12:30:05+01:00"
    assert result.events[3].description == "Unfortunately we have not been able to deliver your parcel."


def test_statuses_not_reached_yet_are_no_events():
    result = parse(IN_TRANSIT_ANSWER)

    assert result.status == S.IN_TRANSIT
    assert [e.carrier_status_code for e in result.events] == ["ACCEPTED", "AT_SENDING_DEPOT"]
    assert result.events[0].occurred_at == datetime.datetime(2026, 11, 16, 18, 12, tzinfo=NL)


def test_same_answer_twice_gives_the_same_keys():
    assert [e.key for e in parse(DELIVERED_ANSWER).events] == [e.key for e in parse(DELIVERED_ANSWER).events]


def test_no_reached_status_is_not_found():
    assert parse(tracking_answer()).error_code == "not_found"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("PickedUp", S.IN_TRANSIT),
        ("Depot", S.IN_TRANSIT),
        ("Courier", S.OUT_FOR_DELIVERY),
        ("ReturningFromDelivery", S.DELIVERY_FAILED),
        ("ParcelShop", S.AT_PICKUP_POINT),
        ("Delivered", S.DELIVERED),
        ("AT_DELIVERY_DEPOT", S.IN_TRANSIT),
        ("DELIVERED", S.DELIVERED),
        ("Teleported", S.UNKNOWN),
        ("", S.UNKNOWN),
    ],
)
def test_status_mapping(status, expected):
    assert dpd_status(status) == expected


def test_fetch_logs_in_once_and_sends_the_token_in_the_soap_header():
    # given
    adapter, transport = make_adapter()
    transport.add("POST", r"/ParcelLifeCycleService/V2_0$", xml_response(DELIVERED_ANSWER))

    # when
    first = adapter.fetch([TrackingRequest(PARCEL)])
    adapter.fetch([TrackingRequest("0522 2835 0349 25")])

    # then one login (the token is kept in the shared cache for the day)
    (login,) = transport.calls("POST", r"/LoginService/")
    assert login.headers["SOAPAction"] == "http://dpd.com/common/service/types/LoginService/2.1/getAuth"
    assert b"<delisId>TESTDELIS</delisId><password>secret</password>" in login.body
    calls = transport.calls("POST", r"/ParcelLifeCycleService/")
    assert len(calls) == 2
    assert (
        calls[0].headers["SOAPAction"]
        == "http://dpd.com/common/service/types/ParcelLifeCycleService/2.0/getTrackingData"
    )
    assert b"<authToken>token-1</authToken>" in calls[0].body
    assert f"<parcelLabelNumber>{PARCEL}</parcelLabelNumber>".encode() in calls[1].body
    assert first[0].status == S.DELIVERED


def test_an_expired_token_is_renewed_once():
    adapter, transport = make_adapter()
    transport.routes.clear()
    transport.add(
        "POST",
        r"/LoginService/V2_1$",
        xml_response(LOGIN_ANSWER.format(token="old")),
        xml_response(LOGIN_ANSWER.format(token="new")),
    )
    transport.add(
        "POST", r"/ParcelLifeCycleService/V2_0$", xml_response(AUTH_FAULT, status=500), xml_response(IN_TRANSIT_ANSWER)
    )

    (result,) = adapter.fetch([TrackingRequest(PARCEL)])

    assert result.status == S.IN_TRANSIT
    bodies = [r.body for r in transport.calls("POST", r"/ParcelLifeCycleService/")]
    assert b"<authToken>old</authToken>" in bodies[0] and b"<authToken>new</authToken>" in bodies[1]


def test_a_token_refused_twice_is_an_auth_error():
    adapter, transport = make_adapter()
    transport.add("POST", r"/ParcelLifeCycleService/V2_0$", xml_response(AUTH_FAULT, status=500))

    with pytest.raises(CarrierAuthError):
        adapter.fetch([TrackingRequest(PARCEL)])

    assert len(transport.calls("POST", r"/LoginService/")) == 2


def test_a_number_that_is_not_14_digits_is_not_sent():
    adapter, transport = make_adapter()

    (result,) = adapter.fetch([TrackingRequest("3SABCD123")])

    assert (result.found, result.error_code) == (False, "invalid_tracking_code")
    assert transport.sent == []


def test_tracking_url():
    adapter, _ = make_adapter()
    assert adapter.tracking_url(PARCEL) == (
        "https://www.dpdgroup.com/nl/mydpd/my-parcels/track?lang=nl&parcelNumber=05222835034925"
    )


def test_a_wrong_password_is_an_auth_error():
    adapter, transport = make_adapter()
    transport.routes.clear()
    transport.add("POST", r"/LoginService/V2_1$", xml_response(AUTH_FAULT.replace("LOGIN_5", "LOGIN_8"), status=500))

    with pytest.raises(CarrierAuthError):
        adapter.fetch([TrackingRequest(PARCEL)])

    assert transport.calls("POST", r"/ParcelLifeCycleService/") == []


def test_a_fault_about_the_parcel_is_a_result_not_an_outage():
    # a `faults` element (faultCode, message) as the schema defines it
    fault = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
        "<faultcode>soap:Client</faultcode><faultstring>Fault occured</faultstring><detail>"
        '<ns:faults xmlns:ns="http://dpd.com/common/service/types/ParcelLifeCycleService/2.0">'
        "<faultCode>TRACKING_NOT_ALLOWED</faultCode><message>Parcel is not in your volume</message>"
        "</ns:faults></detail></soap:Fault></soap:Body></soap:Envelope>"
    )
    adapter, transport = make_adapter()
    transport.add("POST", r"/ParcelLifeCycleService/V2_0$", xml_response(fault, status=500))

    (result,) = adapter.fetch([TrackingRequest(PARCEL)])

    assert (result.found, result.error_code) == (False, "dpd_tracking_not_allowed")
