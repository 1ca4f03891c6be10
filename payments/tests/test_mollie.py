"""The Mollie adapter against Mollie's recorded responses (../shared/samples/psp/), served
through a requests transport adapter: the HTTP edge is the only thing replaced."""

import datetime
import json
from decimal import Decimal

import pytest
import requests

from payments.exceptions import (
    InvalidProviderAmount,
    ProviderNotConfigured,
    ProviderPaymentNotFound,
    ProviderRejected,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from payments.providers.base import ProviderStatus, RefundStatus
from payments.providers.mollie import MollieProvider, parse_mollie_datetime
from payments.tests.mollie_transport import API, RecordedMollie

KEY = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
UTC = datetime.UTC


@pytest.fixture
def psp(samples):
    def load(name):
        return json.loads((samples / "psp" / name).read_text())

    return load


@pytest.fixture
def mollie():
    transport = RecordedMollie()
    session = requests.Session()
    session.mount(API, transport)
    provider = MollieProvider(api_key=KEY, endpoint=f"{API}/v2", session=session)
    provider.transport = transport
    return provider


def _create(provider, **overrides):
    arguments = {
        "amount": Decimal("10.00"),
        "description": "Order #12345",
        "reference": "5000056789012345",
        "redirect_url": "https://webshop.example.org/order/12345/",
        "webhook_url": "https://backoffice.example.nl/api/v1/payments/webhooks/mollie/",
        "method": "ideal",
        "metadata": {"order_id": "12345"},
        "idempotency_key": "order-12345-payment-1",
    }
    arguments.update(overrides)
    return provider.create_payment(**arguments)


# --- reading payments -------------------------------------------------------------------


def test_open_payment_with_the_malformed_capture_before(mollie, psp):
    # given Mollie's recorded open iDEAL payment (captureBefore "2023-01-20T09:13:37+00+00")
    single_chargeback = psp("mollie_chargeback_single.json")
    mollie.transport.add("GET", "/v2/payments/tr_7UhSN1zuXS", psp("mollie_payment_open_ideal.json"))
    mollie.transport.add(
        "GET",
        "/v2/payments/tr_7UhSN1zuXS/chargebacks",
        {"count": 1, "_embedded": {"chargebacks": [single_chargeback]}, "_links": {}},
    )
    # when
    payment = mollie.get_payment("tr_7UhSN1zuXS")
    # then
    assert payment.status == ProviderStatus.OPEN and payment.provider_status == "open"
    assert (payment.amount, payment.currency) == (Decimal("10.00"), "EUR")
    assert payment.amount_captured == Decimal("1.00")
    assert payment.amount_charged_back == Decimal("5.00")
    assert payment.amount_refunded == Decimal("0.00")
    assert payment.method == "ideal"
    assert payment.checkout_url == "https://www.mollie.com/payscreen/select-method/7UhSN1zuXS"
    assert payment.expires_at == datetime.datetime(2018, 3, 20, 9, 28, 37, tzinfo=UTC)
    assert payment.capture_before == datetime.datetime(2023, 1, 20, 9, 13, 37, tzinfo=UTC)  # repaired
    assert payment.metadata == {"order_id": "12345"}
    assert payment.paid_at is None and payment.amount_paid == Decimal("0.00")
    (chargeback,) = payment.chargebacks
    assert (chargeback.id, chargeback.amount, chargeback.currency) == ("chb_n9z0tp", Decimal("43.38"), "USD")
    assert chargeback.is_reversed
    # and the calls were authenticated reads
    first = mollie.transport.requests[0]
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    assert "Idempotency-Key" not in first.headers


def test_unrepairable_dates_become_none_not_errors(mollie, psp):
    data = psp("mollie_payment_open_ideal.json")
    data["captureBefore"] = "sometime next week"
    data["expiresAt"] = 12345
    del data["_links"]["chargebacks"]
    del data["amountChargedBack"]
    mollie.transport.add("GET", "/v2/payments/tr_7UhSN1zuXS", data)
    payment = mollie.get_payment("tr_7UhSN1zuXS")
    assert payment.capture_before is None and payment.expires_at is None
    assert payment.status == ProviderStatus.OPEN
    assert payment.amount_charged_back == Decimal("0.00")
    assert len(mollie.transport.requests) == 1  # no chargebacks to look up


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-01-20T09:13:37+00+00", datetime.datetime(2023, 1, 20, 9, 13, 37, tzinfo=UTC)),
        ("2018-03-14T17:00:52.0Z", datetime.datetime(2018, 3, 14, 17, 0, 52, tzinfo=UTC)),
        ("2018-03-20T09:13:37+0200", datetime.datetime(2018, 3, 20, 7, 13, 37, tzinfo=UTC)),
        ("2018-03-20T09:13:37", datetime.datetime(2018, 3, 20, 9, 13, 37, tzinfo=UTC)),
        ("2023-13-20T09:13:37+00+00", None),
        ("", None),
        (None, None),
    ],
)
def test_mollie_dates_are_read_leniently(text, expected):
    assert parse_mollie_datetime(text) == expected


def test_canceled_payment_is_cancelled(mollie, psp):
    mollie.transport.add("GET", "/v2/payments/tr_7UhSN1zuXS", psp("mollie_payment_canceled_ideal.json"))
    payment = mollie.get_payment("tr_7UhSN1zuXS")
    assert payment.status == ProviderStatus.CANCELLED
    assert payment.provider_status == "canceled"
    assert payment.is_final
    assert payment.amount_captured == Decimal("0.00")
    assert payment.checkout_url == ""
    assert len(mollie.transport.requests) == 1


def test_charged_back_payment_stays_paid_and_shows_its_chargeback(mollie, psp):
    # given the recorded chargeback list, whose chargebacks embed their paid payments
    chargeback_list = psp("mollie_chargeback-list_with-embedded-paid-payments.json")
    paid = chargeback_list["_embedded"]["chargebacks"][0]["_embedded"]["payment"]
    mollie.transport.add("GET", "/v2/payments/tr_HdQrGb6N3r", paid)
    mollie.transport.add("GET", "/v2/payments/tr_HdQrGb6N3r/chargebacks", chargeback_list)
    # when
    payment = mollie.get_payment("tr_HdQrGb6N3r")
    # then
    assert payment.status == ProviderStatus.PAID
    assert payment.is_charged_back
    assert payment.amount_charged_back == Decimal("10.00")
    assert [c.id for c in payment.chargebacks] == ["chb_xg7414"]  # only this payment's
    assert payment.chargebacks[0].created_at == datetime.datetime(2022, 1, 3, 13, 28, 13, tzinfo=UTC)
    assert payment.amount_paid == Decimal("10.00")
    assert payment.amount_refundable == Decimal("0.00")
    assert payment.method == "card"
    assert payment.paid_at == datetime.datetime(2022, 1, 3, 13, 28, 10, tzinfo=UTC)
    # the list's "next" link ("...") is not Mollie's endpoint: not followed with our key
    assert len(mollie.transport.requests) == 2


def test_chargeback_amount_is_summed_when_the_payment_does_not_say(mollie, psp):
    chargeback_list = psp("mollie_chargeback-list_with-embedded-paid-payments.json")
    paid = chargeback_list["_embedded"]["chargebacks"][1]["_embedded"]["payment"]
    del paid["amountChargedBack"]
    mollie.transport.add("GET", "/v2/payments/tr_8bVBhk2qs4", paid)
    mollie.transport.add("GET", "/v2/payments/tr_8bVBhk2qs4/chargebacks", chargeback_list)
    payment = mollie.get_payment("tr_8bVBhk2qs4")
    assert payment.amount_charged_back == Decimal("10.00")
    assert [c.id for c in payment.chargebacks] == ["chb_ls7ahg"]


# --- creating payments and links -------------------------------------------------------


def test_create_payment_sends_mollie_amounts_and_an_idempotency_key(mollie, psp):
    mollie.transport.add("POST", "/v2/payments", psp("mollie_payment_open_ideal.json"), status=201)
    payment = _create(mollie)
    request = mollie.transport.requests[0]
    assert request.headers["Idempotency-Key"] == "order-12345-payment-1"
    body = json.loads(request.body)
    assert body["amount"] == {"currency": "EUR", "value": "10.00"}
    assert body["method"] == "ideal"
    assert body["redirectUrl"] == "https://webshop.example.org/order/12345/"
    assert body["webhookUrl"] == "https://backoffice.example.nl/api/v1/payments/webhooks/mollie/"
    assert body["metadata"] == {"order_id": "12345", "reference": "5000056789012345"}
    assert "captureMode" not in body
    assert payment.id == "tr_7UhSN1zuXS" and payment.status == ProviderStatus.OPEN
    assert payment.checkout_url.startswith("https://www.mollie.com/payscreen/")


@pytest.mark.parametrize(
    ("amount", "value"),
    [(Decimal("19.95"), "19.95"), (Decimal("0.1"), "0.10"), (Decimal("1234.5"), "1234.50"), (7, "7.00")],
)
def test_amounts_go_to_mollie_as_two_decimal_strings(mollie, psp, amount, value):
    mollie.transport.add("POST", "/v2/payments", psp("mollie_payment_open_ideal.json"), status=201)
    _create(mollie, amount=amount)
    assert mollie.transport.json_bodies()[0]["amount"]["value"] == value


@pytest.mark.parametrize(
    ("method", "mollie_method"), [("card", "creditcard"), ("bank_transfer", "banktransfer"), ("pay_later", "riverty")]
)
def test_methods_are_named_the_mollie_way(mollie, psp, method, mollie_method):
    mollie.transport.add("POST", "/v2/payments", psp("mollie_payment_open_ideal.json"), status=201)
    _create(mollie, method=method)
    assert mollie.transport.json_bodies()[0]["method"] == mollie_method


def test_manual_capture_and_provider_options_are_sent(mollie, psp):
    mollie.transport.add("POST", "/v2/payments", psp("mollie_payment_open_ideal.json"), status=201)
    _create(mollie, method="card", manual_capture=True, provider_options={"locale": "nl_NL"})
    body = mollie.transport.json_bodies()[0]
    assert body["captureMode"] == "manual"
    assert body["locale"] == "nl_NL"


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1.00"), Decimal("10.001"), 10.0, "10.00", Decimal("NaN")])
def test_bad_amounts_are_refused_before_calling_mollie(mollie, amount):
    with pytest.raises(InvalidProviderAmount):
        _create(mollie, amount=amount)
    assert mollie.transport.requests == []


def test_methods_mollie_does_not_have_are_refused(mollie):
    with pytest.raises(ProviderRejected) as error:
        _create(mollie, method="store_credit")
    assert error.value.code == "unsupported_payment_method"
    with pytest.raises(ProviderRejected) as error:
        _create(mollie, method="cash")
    assert error.value.code == "unknown_payment_method"
    assert mollie.transport.requests == []


def test_an_idempotency_key_is_required(mollie):
    with pytest.raises(ProviderRejected) as error:
        _create(mollie, idempotency_key="  ")
    assert error.value.code == "idempotency_key_required"


LINK = {
    "resource": "payment-link",
    "id": "pl_4Y0eZitmBnQ6IDoMqZQKh",
    "mode": "test",
    "profileId": "pfl_QkEhN94Ba",
    "createdAt": "2021-03-20T09:13:37+00:00",
    "paidAt": None,
    "updatedAt": None,
    "expiresAt": "2099-06-06T11:00:00+00:00",
    "amount": {"value": "24.95", "currency": "EUR"},
    "description": "Bicycle tires",
    "redirectUrl": "https://webshop.example.org/thanks",
    "webhookUrl": "https://webshop.example.org/payment-links/webhook/",
    "_links": {
        "self": {"href": "https://api.mollie.com/v2/payment-links/pl_4Y0eZitmBnQ6IDoMqZQKh"},
        "paymentLink": {"href": "https://paymentlink.mollie.com/payment/4Y0eZitmBnQ6IDoMqZQKh/"},
    },
}  # the documented create-payment-link response (expiry moved into the future)


def test_payment_link_is_created_and_read_like_a_payment(mollie, psp):
    mollie.transport.add("POST", "/v2/payment-links", LINK, status=201)
    link = mollie.create_payment_link(
        amount=Decimal("24.95"),
        description="Bicycle tires",
        reference="5000056789012345",
        redirect_url="https://webshop.example.org/thanks",
        webhook_url="https://webshop.example.org/payment-links/webhook/",
        expires_at=datetime.datetime(2099, 6, 6, 13, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
        idempotency_key="invoice-2026-000045-link",
    )
    body = mollie.transport.json_bodies()[0]
    assert body["expiresAt"] == "2099-06-06T11:00:00+00:00"
    assert body["amount"] == {"currency": "EUR", "value": "24.95"}
    assert link.id == "pl_4Y0eZitmBnQ6IDoMqZQKh"
    assert link.status == ProviderStatus.OPEN
    assert link.checkout_url == "https://paymentlink.mollie.com/payment/4Y0eZitmBnQ6IDoMqZQKh/"


def test_paid_payment_link_reports_its_payment(mollie, psp):
    paid = psp("mollie_chargeback-list_with-embedded-paid-payments.json")["_embedded"]["chargebacks"][0]["_embedded"][
        "payment"
    ]
    del paid["_links"]["chargebacks"]
    del paid["amountChargedBack"]
    mollie.transport.add(
        "GET", "/v2/payment-links/pl_4Y0eZitmBnQ6IDoMqZQKh", {**LINK, "paidAt": "2022-01-03T13:28:10+00:00"}
    )
    mollie.transport.add(
        "GET", "/v2/payment-links/pl_4Y0eZitmBnQ6IDoMqZQKh/payments", {"count": 1, "_embedded": {"payments": [paid]}}
    )
    mollie.transport.add("GET", "/v2/payments/tr_HdQrGb6N3r", paid)
    link = mollie.get_payment("pl_4Y0eZitmBnQ6IDoMqZQKh")
    assert link.id == "pl_4Y0eZitmBnQ6IDoMqZQKh"
    assert link.status == ProviderStatus.PAID
    assert link.metadata["payment_id"] == "tr_HdQrGb6N3r"
    assert link.checkout_url == "https://paymentlink.mollie.com/payment/4Y0eZitmBnQ6IDoMqZQKh/"


def test_payment_link_past_its_expiry_is_expired(mollie):
    mollie.transport.add(
        "GET", "/v2/payment-links/pl_4Y0eZitmBnQ6IDoMqZQKh", {**LINK, "expiresAt": "2021-06-06T11:00:00+00:00"}
    )
    assert mollie.get_payment("pl_4Y0eZitmBnQ6IDoMqZQKh").status == ProviderStatus.EXPIRED


# --- refunds and captures --------------------------------------------------------------


def test_refund_returns_mollies_refund(mollie, psp):
    mollie.transport.add("POST", "/v2/payments/tr_7UhSN1zuXS/refunds", psp("mollie_refund_pending.json"), status=201)
    refund = mollie.refund(
        provider_id="tr_7UhSN1zuXS",
        amount=Decimal("5.95"),
        description="Required quantity not in stock, refunding one photo book.",
        idempotency_key="refund-1",
    )
    assert refund.id == "re_4qqhO89gsT"
    assert refund.status == RefundStatus.PENDING
    assert (refund.amount, refund.currency, refund.payment_id) == (Decimal("5.95"), "EUR", "tr_7UhSN1zuXS")
    assert refund.created_at == datetime.datetime(2018, 3, 14, 17, 9, 2, tzinfo=UTC)
    request = mollie.transport.requests[0]
    assert request.headers["Idempotency-Key"] == "refund-1"
    assert json.loads(request.body)["amount"] == {"currency": "EUR", "value": "5.95"}


def test_refund_mollie_refuses_is_a_typed_error_naming_the_field(mollie):
    mollie.transport.add(
        "POST",
        "/v2/payments/tr_7UhSN1zuXS/refunds",
        {
            "status": 422,
            "title": "Unprocessable Entity",
            "detail": "The amount is higher than the refundable amount",
            "field": "amount",
        },
        status=422,
    )
    with pytest.raises(ProviderRejected) as error:
        mollie.refund(provider_id="tr_7UhSN1zuXS", amount=Decimal("99.00"), description="", idempotency_key="refund-2")
    assert error.value.code == "provider_rejected"
    assert error.value.attr == "amount"
    assert error.value.extra["status"] == 422
    assert "refundable amount" in error.value.message


def test_capture_of_an_authorised_payment(mollie):
    # Mollie's documented create-capture response
    mollie.transport.add(
        "POST",
        "/v2/payments/tr_WDqYK6vllg/captures",
        {
            "resource": "capture",
            "id": "cpt_mNepDkEtco6ah3QNPUGYH",
            "mode": "live",
            "amount": {"value": "1027.99", "currency": "EUR"},
            "settlementAmount": {"value": "1027.99", "currency": "EUR"},
            "paymentId": "tr_WDqYK6vllg",
            "shipmentId": "shp_3wmsgCJN4U",
            "settlementId": "stl_jDk30akdN",
            "createdAt": "2018-08-02T09:29:56+00:00",
            "description": "Capture for cart #12345",
        },
        status=201,
    )
    capture = mollie.capture(provider_id="tr_WDqYK6vllg", amount=Decimal("1027.99"), idempotency_key="capture-1")
    assert (capture.id, capture.amount, capture.payment_id) == (
        "cpt_mNepDkEtco6ah3QNPUGYH",
        Decimal("1027.99"),
        "tr_WDqYK6vllg",
    )
    assert capture.created_at == datetime.datetime(2018, 8, 2, 9, 29, 56, tzinfo=UTC)
    assert json.loads(mollie.transport.requests[0].body) == {"amount": {"currency": "EUR", "value": "1027.99"}}
    assert mollie.transport.requests[0].headers["Idempotency-Key"] == "capture-1"


# --- failures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, ProviderUnavailable),
        (503, ProviderUnavailable),
        (429, ProviderUnavailable),
        (401, ProviderNotConfigured),
        (404, ProviderPaymentNotFound),
        (400, ProviderRejected),
    ],
)
def test_http_errors_become_typed_errors(mollie, status, error):
    mollie.transport.add(
        "GET", "/v2/payments/tr_7UhSN1zuXS", {"status": status, "title": "x", "detail": "y"}, status=status
    )
    with pytest.raises(error):
        mollie.get_payment("tr_7UhSN1zuXS")


def test_unreachable_mollie_is_unavailable_and_retryable(mollie):
    mollie.transport.add("GET", "/v2/payments/tr_7UhSN1zuXS", requests.ConnectTimeout("timed out"))
    with pytest.raises(ProviderUnavailable) as error:
        mollie.get_payment("tr_7UhSN1zuXS")
    assert error.value.http_status == 503


@pytest.mark.parametrize(
    "body",
    [
        b"<html>oops</html>",
        {
            "resource": "payment",
            "id": "tr_7UhSN1zuXS",
            "status": "weird",
            "amount": {"value": "1.00", "currency": "EUR"},
        },
        {"id": "tr_7UhSN1zuXS", "status": "paid", "amount": {"value": 10, "currency": "EUR"}},
    ],
)
def test_unreadable_answers_are_typed_errors(mollie, body):
    mollie.transport.add("GET", "/v2/payments/tr_7UhSN1zuXS", body, status=200)
    with pytest.raises(ProviderResponseInvalid):
        mollie.get_payment("tr_7UhSN1zuXS")


def test_without_an_api_key_nothing_is_sent(mollie):
    mollie.api_key = ""
    with pytest.raises(ProviderNotConfigured):
        mollie.get_payment("tr_7UhSN1zuXS")
    assert mollie.transport.requests == []


@pytest.mark.parametrize("provider_id", ["", "../../v2/methods", "tr_", "tr_abc/refunds", "re_4qqhO89gsT"])
def test_ids_that_are_not_mollie_payments_are_not_looked_up(mollie, provider_id):
    with pytest.raises(ProviderPaymentNotFound):
        mollie.get_payment(provider_id)
    assert mollie.transport.requests == []


# --- the webhook ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"id=tr_WDqYK6vllg", "application/x-www-form-urlencoded", "tr_WDqYK6vllg"),
        (b"id=tr_WDqYK6vllg", "application/x-www-form-urlencoded; charset=utf-8", "tr_WDqYK6vllg"),
        (b"id=pl_4Y0eZitmBnQ6IDoMqZQKh", "application/x-www-form-urlencoded", "pl_4Y0eZitmBnQ6IDoMqZQKh"),
        (b"id=tr_WDqYK6vllg&status=paid", "application/x-www-form-urlencoded", "tr_WDqYK6vllg"),  # status ignored
        (b'{"id": "tr_WDqYK6vllg", "status": "paid"}', "application/json", None),
        (b"id=tr_WDqYK6vllg&id=tr_other123", "application/x-www-form-urlencoded", None),
        (b"id=../../admin", "application/x-www-form-urlencoded", None),
        (b"id=re_4qqhO89gsT", "application/x-www-form-urlencoded", None),
        (b"", "application/x-www-form-urlencoded", None),
        (b"id=tr_" + b"a" * 5000, "application/x-www-form-urlencoded", None),
        (b"id=tr_\xff", "application/x-www-form-urlencoded", None),
    ],
)
def test_webhook_yields_only_an_id_to_look_up(mollie, body, content_type, expected):
    assert mollie.parse_webhook(body, content_type) == expected
    assert mollie.transport.requests == []
