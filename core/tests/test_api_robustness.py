"""Input that used to reach PostgreSQL and fail there (a 500), found by the schema fuzz
(tests/reliability/test_schema_fuzz.py): every one is a 400 in the contract's body, or
simply works."""

import pytest
from django.urls import reverse

from core.tests.test_api_base import assert_contract_error
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/orders/", "/api/v1/customers/", "/api/v1/products/", "/api/v1/stock/"]


@pytest.mark.parametrize("path", LISTS)
def test_updated_since_with_an_offset_postgresql_does_not_take_still_works(api_for, channel, path):
    # given: +16:00 is a valid ISO 8601 offset for Python, out of range for PostgreSQL (±15:59)
    client = api_for(channel=channel)
    # when
    response = client.get(path, {"updated_since": "2000-01-01T00:00:00+16:00"})
    # then
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("path", LISTS)
def test_updated_since_outside_the_years_1_to_9999_in_utc_is_400(api_for, channel, path):
    client = api_for(channel=channel)
    response = client.get(path, {"updated_since": "0001-01-01T00:00:00+01:00"})
    assert_contract_error(response, 400, code="invalid", attr="updated_since")


def test_updated_since_with_an_offset_compares_the_moment(api_for, channel):
    # given a customer changed now
    CustomerFactory(channel=channel)
    client = api_for(channel=channel)
    # then a moment long ago with a large offset finds it, one far ahead does not
    assert len(client.get("/api/v1/customers/", {"updated_since": "2000-01-01T00:00:00+16:00"}).json()["results"]) == 1
    assert client.get("/api/v1/customers/", {"updated_since": "9999-01-01T00:00:00-16:00"}).json()["results"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders/WEB%00/",
        "/api/v1/orders/WEB-1/cancel%00/",
        "/api/v1/invoices/2026-000001%00.pdf",
        "/api/v1/orders/?external_reference=a%00b",
        "/api/v1/products/?channel=%00",
        "/api/v1/products/?%00=1",
    ],
)
def test_a_nul_character_in_the_path_or_the_query_is_400_not_a_database_error(api_for, channel, path):
    client = api_for(channel=channel)
    assert_contract_error(client.get(path), 400, code="bad_request")


def test_a_nul_character_in_the_session_cookie_is_400_not_a_database_error(client):
    # a quoted cookie value may carry an octal escape: "\000" arrives as NUL
    client.cookies["sessionid"] = "abcdefgh\x00ijkl"
    assert client.get(reverse("admin:index")).status_code == 400


def test_nested_lists_in_the_schema_say_how_many_items_they_take(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    for name in ("OrderInputRequest", "ShipmentInputRequest"):
        lines = components[name]["properties"]["lines"]
        assert (lines["minItems"], lines["maxItems"]) == (1, 500), name


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders/",  # reads request.body first (the order inbox): Django's RequestDataTooBig
        "/api/v1/orders/WEB-2026-000001/cancel/",  # parses JSON straight from the stream
    ],
)
def test_a_body_above_the_upload_limit_is_a_400_not_a_500(api_for, channel, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = api_for(channel=channel)
    body = '{"reason": "' + "x" * 2000 + '"}'
    response = client.post(path, data=body, content_type="application/json")
    assert_contract_error(response, 400, code="request_too_large")
