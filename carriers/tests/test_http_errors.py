"""How every live adapter turns the carrier's HTTP trouble into the typed errors the poller
acts on. The carrier side is a transport adapter on the adapter's own requests.Session."""

import datetime
import email.utils

import pytest
import requests
from django.test import override_settings

from carriers.adapters.base import TrackingRequest
from carriers.adapters.dhl import DHLAdapter
from carriers.adapters.dhl_ecommerce_nl import DHLEcommerceNLAdapter
from carriers.adapters.dpd import DPDAdapter
from carriers.adapters.gls import GLSAdapter
from carriers.adapters.postnl import PostNLAdapter
from carriers.exceptions import CarrierAuthError, CarrierError, CarrierRateLimited, CarrierUnavailable
from carriers.tests.test_dpd import LOGIN_ANSWER
from carriers.tests.transport import CarrierTransport, Recorded, json_response, mount, xml_response
from core.exceptions import ApplicationError, ServiceUnavailable


def postnl():
    return (
        PostNLAdapter(api_key="k", customer_number="1", base_url="https://postnl.test"),
        "GET",
        r"/status/barcode/",
        [],
        "3SDEVC1",
    )


def dhl():
    return DHLAdapter(api_key="k", base_url="https://dhl.test"), "GET", r"/track/shipments", [], "7777777770"


def dhl_ecommerce_nl():
    adapter = DHLEcommerceNLAdapter(user_id="u", api_key="k", base_url="https://dhlparcel.test")
    token = (
        "POST",
        r"/authenticate/api-key",
        json_response({"accessToken": "jwt", "accessTokenExpiration": 4102444800}),
    )
    return adapter, "GET", r"/track-trace", [token], "JVGL1"


def dpd():
    adapter = DPDAdapter(delis_id="TESTDELIS", password="p", base_url="https://dpd.test")
    login = ("POST", r"/LoginService/", xml_response(LOGIN_ANSWER.format(token="t")))
    return adapter, "POST", r"/ParcelLifeCycleService/", [login], "05222835034925"


def gls():
    adapter = GLSAdapter(client_id="c", client_secret="s", base_url="https://gls.test")
    token = ("POST", r"/oauth2/v2/token", json_response({"access_token": "t", "expires_in": 14400}))
    return adapter, "GET", r"/trackids/", [token], "42249028960"


CARRIERS = [postnl, dhl, dhl_ecommerce_nl, dpd, gls]


def fetch_with(factory, *answers):
    adapter, method, path, setup, code = factory()
    transport = mount(adapter, CarrierTransport())
    for route in setup:
        transport.add(*route)
    transport.add(method, path, *answers)
    return adapter, transport, lambda: adapter.fetch([TrackingRequest(code)])


@pytest.mark.parametrize("factory", CARRIERS)
def test_429_is_rate_limited_with_the_retry_after_of_the_carrier(factory):
    adapter, _, fetch = fetch_with(
        factory, json_response({"detail": "Too many requests"}, status=429, headers={"Retry-After": "120"})
    )

    with pytest.raises(CarrierRateLimited) as error:
        fetch()

    assert error.value.retry_after_seconds == 120
    assert error.value.code == "carrier_rate_limited"
    assert error.value.carrier == adapter.code
    assert isinstance(error.value, ApplicationError)


@pytest.mark.parametrize("factory", CARRIERS)
def test_429_with_a_date_or_without_retry_after(factory):
    later = email.utils.format_datetime(
        datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=300), usegmt=True
    )
    _, _, fetch = fetch_with(factory, Recorded(status=429, headers={"Retry-After": later}))
    with pytest.raises(CarrierRateLimited) as error:
        fetch()
    assert 295 <= error.value.retry_after_seconds <= 301

    _, _, fetch = fetch_with(factory, Recorded(status=429))
    with override_settings(CARRIER_DEFAULT_RETRY_AFTER=90), pytest.raises(CarrierRateLimited) as error:
        fetch()
    assert error.value.retry_after_seconds == 90


@pytest.mark.parametrize("factory", CARRIERS)
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_unavailable(factory, status):
    _, _, fetch = fetch_with(factory, Recorded(status=status, body=b"<html>Service Unavailable</html>"))

    with pytest.raises(CarrierUnavailable) as error:
        fetch()

    assert error.value.code == "carrier_server_error"
    assert isinstance(error.value, ServiceUnavailable)


@pytest.mark.parametrize("factory", CARRIERS)
@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (requests.exceptions.ConnectTimeout("connect timed out"), "carrier_timeout"),
        (requests.exceptions.ReadTimeout("read timed out"), "carrier_timeout"),
        (requests.exceptions.ConnectionError("connection refused"), "carrier_connection_error"),
    ],
)
def test_timeouts_and_connection_errors_are_unavailable(factory, failure, code):
    _, transport, fetch = fetch_with(factory, failure)

    with pytest.raises(CarrierUnavailable) as error:
        fetch()

    assert error.value.code == code
    # no retries inside the adapter: waiting and retrying is the poller's job (with backoff)
    tracking_calls = [r for r in transport.sent if not r.url.endswith(("/token", "/api-key", "/V2_1"))]
    assert len(tracking_calls) == 1


@pytest.mark.parametrize("factory", CARRIERS)
@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_auth_errors(factory, status):
    _, _, fetch = fetch_with(factory, json_response({"message": "Invalid apikey"}, status=status))

    with pytest.raises(CarrierAuthError) as error:
        fetch()

    assert error.value.code == "carrier_auth_failed"


@pytest.mark.parametrize("factory", CARRIERS)
def test_an_unreadable_answer_is_unavailable(factory):
    _, _, fetch = fetch_with(
        factory, Recorded(status=200, headers={"Content-Type": "text/html"}, body=b"<html><body>maintenance")
    )

    with pytest.raises(CarrierUnavailable) as error:
        fetch()

    assert error.value.code == "carrier_bad_response"


@pytest.mark.parametrize("factory", [postnl, dhl, dhl_ecommerce_nl, gls])
def test_a_rejected_request_is_a_carrier_error_not_an_outage(factory):
    _, _, fetch = fetch_with(factory, json_response({"title": "Bad Request"}, status=400))

    with pytest.raises(CarrierError) as error:
        fetch()

    assert not isinstance(error.value, CarrierUnavailable)
    assert error.value.code == "carrier_request_rejected"
    assert error.value.extra["status"] == 400


@pytest.mark.parametrize("factory", CARRIERS)
def test_timeouts_come_from_settings(factory):
    with override_settings(CARRIER_HTTP_CONNECT_TIMEOUT=2, CARRIER_HTTP_READ_TIMEOUT=7):
        adapter = factory()[0]
    assert adapter.timeout == (2.0, 7.0)
