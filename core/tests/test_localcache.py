"""The in-process caches of keys, rules and rates: faster requests, and changes made in
this process take effect at once."""

from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from core.models import ApiKey
from core.rules import define_rule, rule_value
from core.services import api_key_revoke, business_rule_create
from core.tests.factories import UserFactory

RULE = define_rule("tests.localcache_limit", Decimal("10"), label="test limit")


@pytest.mark.django_db
@override_settings(LOCAL_CACHE_SECONDS=60)
def test_a_known_key_costs_no_query_and_a_revocation_applies_at_once(api_for, channel, django_assert_num_queries):
    client = api_for(channel=channel)
    assert client.get(reverse("api:me")).status_code == 200  # resolves and remembers the key
    with django_assert_num_queries(0):
        assert client.get(reverse("api:me")).status_code == 200
    api_key_revoke(api_key_id=ApiKey.objects.get(channel=channel).pk)
    assert client.get(reverse("api:me")).status_code == 401


@pytest.mark.django_db(transaction=True)
@override_settings(LOCAL_CACHE_SECONDS=60)
def test_rules_are_cached_and_a_new_value_applies_at_once():
    assert rule_value(RULE) == Decimal("10")
    business_rule_create(key=RULE, value=Decimal("25"), valid_from=timezone.now(), actor=UserFactory())
    assert rule_value(RULE) == Decimal("25")


@pytest.mark.django_db
@override_settings(LOCAL_CACHE_SECONDS=60)
def test_cached_rule_values_are_served_without_a_query(django_assert_num_queries):
    rule_value(RULE)
    with django_assert_num_queries(0):
        assert rule_value(RULE) == Decimal("10")
