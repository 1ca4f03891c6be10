"""Quota and backoff on the real cache (Redis in the test settings)."""

import datetime
import threading

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import override_settings

from carriers.quota import (
    carrier_backoff,
    carrier_backoff_clear,
    carrier_backoff_until,
    carrier_failures,
    quota_acquire,
    quota_usage,
)

NOON = datetime.datetime(2026, 11, 20, 12, 0, 0, tzinfo=datetime.UTC)


def seconds(n: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=n)


def test_the_tests_use_redis():
    assert isinstance(caches["default"], RedisCache)


@override_settings(CARRIER_QUOTAS={"simulator": {"calls_per_second": 3, "calls_per_day": 7}})
def test_per_second_and_per_day_budgets():
    # within one second: three calls, not four
    assert [quota_acquire("dhl", now=NOON) for _ in range(4)] == [True, True, True, False]
    # the next second has a new budget, the day has 4 left
    assert [quota_acquire("dhl", now=NOON + seconds(1)) for _ in range(4)] == [True, True, True, False]
    assert quota_acquire("dhl", now=NOON + seconds(2)) is True
    # the day is used up (7), whatever the second
    assert quota_acquire("dhl", now=NOON + seconds(3)) is False
    assert quota_usage("dhl", now=NOON)["calls_left_today"] == 0
    # a new (UTC) day, a new budget
    assert quota_acquire("dhl", now=NOON + datetime.timedelta(hours=12)) is True


@override_settings(CARRIER_QUOTAS={"simulator": {"calls_per_second": 5, "calls_per_day": 4}})
def test_a_batch_takes_its_calls_all_or_nothing():
    assert quota_acquire("gls", 3, now=NOON) is True
    assert quota_acquire("gls", 2, now=NOON + seconds(1)) is False  # only 1 left today
    assert quota_usage("gls", now=NOON)["calls_today"] == 3  # the refused batch took nothing
    assert quota_acquire("gls", 1, now=NOON + seconds(1)) is True
    with pytest.raises(ValueError):
        quota_acquire("gls", 6, now=NOON)  # more than a second's budget can never fit
    assert quota_acquire("gls", 0, now=NOON) is True


@override_settings(CARRIER_QUOTAS={"simulator": {"calls_per_second": 1, "calls_per_day": 1}})
def test_each_carrier_has_its_own_budget():
    assert quota_acquire("postnl", now=NOON) is True
    assert quota_acquire("postnl", now=NOON + seconds(1)) is False
    assert quota_acquire("dpd", now=NOON + seconds(1)) is True


def test_the_budget_comes_from_the_adapter_serving_the_carrier():
    with override_settings(CARRIER_BACKEND="live", DHL_API_KEY="k"):
        usage = quota_usage("dhl", now=NOON)
        assert (usage["calls_per_second"], usage["calls_per_day"]) == (1, 250)  # DHL's default plan
        assert quota_acquire("dhl", now=NOON) is True
        assert quota_acquire("dhl", now=NOON) is False


@override_settings(CARRIER_QUOTAS={"simulator": {"calls_per_second": 1000, "calls_per_day": 50}})
def test_concurrent_workers_never_exceed_the_budget():
    granted = []

    def worker():
        granted.extend(quota_acquire("postnl", now=NOON) for _ in range(20))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert granted.count(True) == 50
    assert quota_usage("postnl", now=NOON)["calls_today"] == 50


@override_settings(CARRIER_BACKOFF_BASE_SECONDS=10, CARRIER_BACKOFF_MAX_SECONDS=60)
def test_backoff_grows_exponentially_up_to_the_cap():
    waits = [(carrier_backoff("dhl", now=NOON) - NOON).total_seconds() for _ in range(5)]

    assert waits == [10, 20, 40, 60, 60]
    assert carrier_failures("dhl") == 5


@override_settings(CARRIER_BACKOFF_BASE_SECONDS=10, CARRIER_BACKOFF_MAX_SECONDS=60)
def test_a_retry_after_is_honoured_even_beyond_the_cap():
    until = carrier_backoff("dhl", 3600, now=NOON)

    assert until == NOON + seconds(3600)
    # a later, shorter backoff does not shorten the wait the carrier asked for
    assert carrier_backoff("dhl", now=NOON + seconds(1)) == NOON + seconds(3600)
    assert carrier_backoff_until("dhl", now=NOON + seconds(1800)) == NOON + seconds(3600)


@override_settings(
    CARRIER_BACKOFF_BASE_SECONDS=10,
    CARRIER_BACKOFF_MAX_SECONDS=60,
    CARRIER_QUOTAS={"simulator": {"calls_per_second": 10, "calls_per_day": 100}},
)
def test_no_calls_while_backing_off_and_only_for_that_carrier():
    carrier_backoff("gls", now=NOON)

    assert carrier_backoff_until("gls", now=NOON + seconds(5)) == NOON + seconds(10)
    assert quota_acquire("gls", now=NOON + seconds(5)) is False
    assert quota_acquire("postnl", now=NOON + seconds(5)) is True  # an outage never blocks the others
    assert carrier_backoff_until("postnl", now=NOON) is None
    # after the wait the carrier may be called again
    assert carrier_backoff_until("gls", now=NOON + seconds(10)) is None
    assert quota_acquire("gls", now=NOON + seconds(11)) is True


@override_settings(CARRIER_BACKOFF_BASE_SECONDS=10, CARRIER_BACKOFF_MAX_SECONDS=60)
def test_a_successful_call_clears_the_backoff():
    carrier_backoff("dpd", now=NOON)
    carrier_backoff("dpd", now=NOON)

    carrier_backoff_clear("dpd")

    assert carrier_backoff_until("dpd", now=NOON) is None
    assert carrier_failures("dpd") == 0
    assert carrier_backoff("dpd", now=NOON) == NOON + seconds(10)  # starts from the base again
