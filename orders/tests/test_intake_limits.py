"""What the order intake cannot store as it came, found by the schema fuzz and the
bad-input suite (tests/reliability/): each is a 400, never a database error.

- The inbox keeps every post, also one with a NUL character or a lone surrogate (text
  and jsonb hold neither): each is kept as U+FFFD.
- Amounts whose line or order total would not fit the money columns (12 digits, 2
  decimals) are refused as `amount_too_large`.
- "-0.00" is 0.00: no negative zero in the answer or the fingerprint."""

import json

import pytest

from core.tests.test_api_base import assert_contract_error
from orders.models import Order, OrderInbox
from orders.tests.conftest import order_body, receive

URL = "/api/v1/orders/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(api_for, channel, utr, tshirt):
    receive(tshirt, utr, 10)
    return api_for(channel=channel)


def test_a_body_with_a_nul_byte_is_400_and_kept_in_the_inbox(shop):
    # when
    response = shop.post(URL, data=b'{"external_reference": "WS-\x00"}', content_type="application/json")
    # then
    assert_contract_error(response, 400, code="parse_error")
    inbox = OrderInbox.objects.get()
    assert inbox.body == '{"external_reference": "WS-\ufffd"}'
    assert inbox.result == OrderInbox.Result.REJECTED
    assert not Order.objects.exists()


@pytest.mark.parametrize("method", ["bit\x00coin", "bit\udc00coin"])
def test_an_error_that_quotes_back_an_unstorable_character_is_stored_with_the_post(shop, method):
    # given a method the serializer quotes back in its error
    body = order_body("WS-NUL")
    body["payment"]["method"] = method
    raw = json.dumps(body)  # a lone surrogate travels as the escape \udc00
    # when
    response = shop.post(URL, data=raw, content_type="application/json")
    # then
    assert_contract_error(response, 400, code="invalid_choice", attr="payment.method")
    inbox = OrderInbox.objects.get()
    assert inbox.result == OrderInbox.Result.REJECTED
    assert "bit\ufffdcoin" in inbox.errors[0]["detail"]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("lines", "shipping", "attr"),
    [
        ([("9999999999.99", 2)], "0.00", "lines.0"),
        ([("9999999999.99", 1), ("0.01", 1)], "0.00", None),
        ([("9999999999.99", 1)], "0.01", None),
    ],
)
def test_amounts_that_do_not_fit_the_money_columns_are_400(shop, tshirt, lines, shipping, attr):
    body = order_body("WS-HUGE", lines=[{"sku": tshirt.sku, "quantity": q, "unit_price": p} for p, q in lines])
    body["shipping_cost"] = shipping
    response = shop.post(URL, body, format="json")
    errors = assert_contract_error(response, 400, code="amount_too_large")["errors"]
    assert errors[0]["attr"] == attr
    assert not Order.objects.exists()


def test_the_largest_order_that_fits_is_taken(shop, tshirt):
    body = order_body("WS-MAX", lines=[{"sku": tshirt.sku, "quantity": 1, "unit_price": "9999999995.04"}])
    body["shipping_cost"] = "4.95"
    response = shop.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["totals"]["total"] == "9999999999.99"


def test_minus_zero_is_zero(shop, tshirt):
    body = order_body("WS-ZERO", lines=[{"sku": tshirt.sku, "quantity": 1, "unit_price": "-0.00"}])
    body["shipping_cost"] = "-0.00"
    created = shop.post(URL, body, format="json").json()
    assert (created["lines"][0]["unit_price"], created["totals"]["shipping"]) == ("0.00", "0.00")
    # and the same order with "0.00" is the same post (a repeat, not a conflict)
    body["lines"][0]["unit_price"] = body["shipping_cost"] = "0.00"
    assert shop.post(URL, body, format="json").status_code == 200
