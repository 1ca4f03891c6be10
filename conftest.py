"""Fixtures shared by every app's tests and the cross-app tests in tests/."""

import pytest
from rest_framework.test import APIClient

from core.services import api_key_create

# Locations, products and order bodies that many apps' tests build on.
pytest_plugins = ["orders.tests.fixtures"]


@pytest.fixture(autouse=True)
def _clean_calendar_cache():
    from core import calendar

    calendar.clear_cache()
    yield
    calendar.clear_cache()


@pytest.fixture(autouse=True)
def _clear_local_caches():
    from core.localcache import clear_all

    clear_all()
    yield
    clear_all()


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttle counters and other cached state never leak between tests."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def api():
    """An API client with no key."""
    return APIClient()


@pytest.fixture
def api_for():
    """api_for(channel=…) / api_for(location=…) / api_for(user=…): an API client that sends
    a fresh key of that owner."""

    def make(**owner) -> APIClient:
        _, raw_key = api_key_create(name="test key", **owner)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {raw_key}")
        client.raw_key = raw_key
        return client

    return make


@pytest.fixture
def channel(db):
    from core.tests.factories import SalesChannelFactory

    return SalesChannelFactory(code="webshop-nl", name="Webshop NL", order_number_prefix="WEB")


@pytest.fixture
def other_channel(db):
    from core.tests.factories import SalesChannelFactory

    return SalesChannelFactory(code="other-shop", name="Other shop", order_number_prefix="OTH")


@pytest.fixture(autouse=True)
def _stock_ledger_invariant(request):
    """After every test that used the database: on hand and reserved equal the sums of
    their ledger movements, for every stock row."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up first, so this check runs before the rollback
    yield
    from django.db.models import F, Sum
    from django.db.models.functions import Coalesce

    from inventory.models import Stock

    broken = list(
        Stock.objects.annotate(
            ledger_on_hand=Coalesce(Sum("movements__on_hand_delta"), 0),
            ledger_reserved=Coalesce(Sum("movements__reserved_delta"), 0),
        )
        .exclude(on_hand=F("ledger_on_hand"), reserved=F("ledger_reserved"))
        .values_list("pk", "on_hand", "ledger_on_hand", "reserved", "ledger_reserved")
    )
    assert not broken, f"stock ledger broken (pk, on_hand, ledger, reserved, ledger): {broken}"
