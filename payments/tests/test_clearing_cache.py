"""Clearing policies are read at every order intake: each process keeps them a few
seconds (core.localcache), and a change takes effect at once where it was made."""

import pytest
from django.test import override_settings

from core import roles
from core.tests.factories import UserFactory
from payments.services.clearing import clearing_policy_update, clearing_rule_for
from payments.states import ClearingRule


@pytest.mark.django_db
@override_settings(LOCAL_CACHE_SECONDS=60)
def test_policies_are_read_once_and_a_change_applies_at_once(django_assert_num_queries):
    finance = UserFactory(username="femke", role=roles.FINANCE)
    clearing_rule_for("bank_transfer")  # read and remembered
    with django_assert_num_queries(0):
        assert clearing_rule_for("bank_transfer") == ClearingRule.BANK_STATEMENT
        assert clearing_rule_for("pos") == ClearingRule.IMMEDIATE
    # when
    clearing_policy_update(method="bank_transfer", rule=ClearingRule.IMMEDIATE, actor=finance, note="trusted")
    # then
    assert clearing_rule_for("bank_transfer") == ClearingRule.IMMEDIATE
