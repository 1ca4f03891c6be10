import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import ApiKey
from core.services import api_key_revoke
from core.tests.factories import UserFactory
from customers.tests.factories import CustomerFactory
from inventory.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def assert_contract_error(response, status, code=None, attr=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"type", "errors"}
    assert body["type"] in ("validation_error", "client_error")
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}
    if code is not None:
        assert code in [e["code"] for e in body["errors"]], body
    if attr is not None:
        assert attr in [e["attr"] for e in body["errors"]], body
    return body


def test_request_without_key_is_401_in_contract_body(api):
    # when
    response = api.get(reverse("api:customer-list"))
    # then
    body = assert_contract_error(response, 401, code="not_authenticated")
    assert body["type"] == "client_error"
    assert body["errors"][0]["attr"] is None
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("header", ["Token", "Token a b", "Token nope", "Bearer abc", "Token ëxtra"])
def test_bad_or_unknown_key_is_401(api, header, channel):
    response = api.get(reverse("api:customer-list"), HTTP_AUTHORIZATION=header)
    if header.startswith("Bearer"):
        assert_contract_error(response, 401, code="not_authenticated")
    else:
        assert_contract_error(response, 401, code="authentication_failed")


def test_revoked_key_is_401(api_for, channel):
    # given
    client = api_for(channel=channel)
    key = ApiKey.objects.get(channel=channel)
    assert client.get(reverse("api:me")).status_code == 200
    # when
    api_key_revoke(api_key_id=key.pk)
    # then
    assert_contract_error(client.get(reverse("api:me")), 401, code="authentication_failed")


def test_inactive_channel_key_is_401(api_for, channel):
    client = api_for(channel=channel)
    channel.is_active = False
    channel.save(update_fields=["is_active"])
    assert_contract_error(client.get(reverse("api:me")), 401)


def test_key_is_stored_hashed_and_shown_once(api_for, channel):
    client = api_for(channel=channel)
    key = ApiKey.objects.get(channel=channel)
    assert client.raw_key not in (key.key_hash, key.prefix)
    assert client.raw_key.startswith(key.prefix + "_")
    assert len(key.key_hash) == 64


def test_me_tells_each_kind_of_client_who_it_is(api_for, channel):
    location = LocationFactory(code="UTR")
    user = UserFactory(username="ops")
    assert api_for(channel=channel).get(reverse("api:me")).json()["channel"] == "webshop-nl"
    assert api_for(location=location).get(reverse("api:me")).json()["location"] == "UTR"
    assert api_for(user=user).get(reverse("api:me")).json()["user"] == "ops"


def test_last_used_is_recorded(api_for, channel):
    client = api_for(channel=channel)
    before = timezone.now()
    client.get(reverse("api:me"))
    assert ApiKey.objects.get(channel=channel).last_used_at >= before


def test_channel_key_cannot_see_another_channels_customer(api_for, channel, other_channel):
    # given
    mine = CustomerFactory(channel=channel)
    theirs = CustomerFactory(channel=other_channel)
    client = api_for(channel=channel)
    # when / then
    assert client.get(reverse("api:customer-detail", args=[mine.pk])).status_code == 200
    assert_contract_error(client.get(reverse("api:customer-detail", args=[theirs.pk])), 404, code="not_found")
    listed = client.get(reverse("api:customer-list")).json()["results"]
    assert [c["email"] for c in listed] == [mine.email]


def test_location_key_may_not_read_customers(api_for, channel):
    client = api_for(location=LocationFactory())
    assert_contract_error(client.get(reverse("api:customer-list")), 403, code="permission_denied")


def test_staff_key_needs_the_permission(api_for, channel):
    CustomerFactory(channel=channel)
    warehouse = UserFactory(role="Warehouse")
    service = UserFactory(role="Customer service")
    assert api_for(user=warehouse).get(reverse("api:customer-list")).status_code == 403
    assert len(api_for(user=service).get(reverse("api:customer-list")).json()["results"]) == 1


def test_unknown_api_path_is_404_in_contract_body(api):
    assert_contract_error(api.get("/api/v1/does-not-exist/"), 404, code="not_found")


def test_method_not_allowed_in_contract_body(api_for, channel):
    response = api_for(channel=channel).post(reverse("api:me"), {}, format="json")
    assert_contract_error(response, 405, code="method_not_allowed")


def test_bad_updated_since_is_400_naming_the_field(api_for, channel):
    response = api_for(channel=channel).get(reverse("api:customer-list"), {"updated_since": "yesterday"})
    assert_contract_error(response, 400, attr="updated_since")


def test_updated_since_returns_only_later_changes(api_for, channel):
    old = CustomerFactory(channel=channel)
    type(old).objects.filter(pk=old.pk).update(updated_at=timezone.now() - timezone.timedelta(days=2))
    new = CustomerFactory(channel=channel)
    since = (timezone.now() - timezone.timedelta(days=1)).isoformat()
    results = api_for(channel=channel).get(reverse("api:customer-list"), {"updated_since": since}).json()["results"]
    assert [c["id"] for c in results] == [new.pk]


def test_cursor_pagination_walks_every_row_once(api_for, channel):
    created = {CustomerFactory(channel=channel).pk for _ in range(7)}
    client = api_for(channel=channel)
    seen = []
    url = reverse("api:customer-list") + "?page_size=3"
    while url:
        page = client.get(url).json()
        assert set(page) == {"next", "previous", "results"}
        seen.extend(c["id"] for c in page["results"])
        url = page["next"]
    assert sorted(seen) == sorted(created)


def test_list_query_count_does_not_grow_with_page_size(api_for, channel, django_assert_max_num_queries):
    for _ in range(30):
        CustomerFactory(channel=channel)
    client = api_for(channel=channel)
    client.get(reverse("api:me"))  # the key's last-used stamp is written once a minute
    with django_assert_max_num_queries(3):
        response = client.get(reverse("api:customer-list") + "?page_size=30")
    assert len(response.json()["results"]) == 30


def test_throttle_is_per_key(api_for, channel, settings):
    # given: a key with its own small budget, and a second key of the same channel
    from core.models import ApiKey

    limited = api_for(channel=channel)
    ApiKey.objects.filter(channel=channel).update(rate_limit="3/hour")
    other = api_for(channel=channel)
    # when
    statuses = [limited.get(reverse("api:me")).status_code for _ in range(4)]
    # then
    assert statuses == [200, 200, 200, 429]
    assert_contract_error(limited.get(reverse("api:me")), 429, code="throttled")
    assert other.get(reverse("api:me")).status_code == 200


def test_request_id_is_returned_and_echoed(api_for, channel):
    client = api_for(channel=channel)
    generated = client.get(reverse("api:me"))
    assert len(generated["X-Request-ID"]) == 32
    echoed = client.get(reverse("api:me"), HTTP_X_REQUEST_ID="shop-req-12345")
    assert echoed["X-Request-ID"] == "shop-req-12345"
    bogus = client.get(reverse("api:me"), HTTP_X_REQUEST_ID="<script>")
    assert bogus["X-Request-ID"] != "<script>"
