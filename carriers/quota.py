"""Per-carrier call budgets and backoff for the poller, shared by all worker processes.

State lives in Django's cache (Redis in production: `add` and `incr` are atomic there). The
limits come from the adapter that serves the carrier code (`get_adapter(code).quota`, which
`settings.CARRIER_QUOTAS` can override), the counters are per carrier code, so an outage or
an exhausted budget of one carrier never holds up another.

- `quota_acquire(code, calls)` takes `calls` from this second's and today's (UTC) budget, all
  or nothing, and is refused while the carrier is backing off.
- `carrier_backoff(code, seconds)` after a 429 or an error: wait `base * 2^(failures - 1)`
  seconds, at most `CARRIER_BACKOFF_MAX_SECONDS`, but at least what the carrier asked for
  (Retry-After). `carrier_backoff_clear(code)` after a successful call resets it.

With the file cache of a bare `make run` (no REDIS_URL) the counters are not atomic between
processes; that is good enough for a demo, not for production.
"""

import contextlib
import datetime

from django.core.cache import cache
from django.utils import timezone

from carriers import conf

KEY_PREFIX = "carriers:"
MAX_DOUBLINGS = 30


def _now(now: datetime.datetime | None) -> datetime.datetime:
    now = now or timezone.now()
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(datetime.UTC)


def _second_key(carrier_code: str, now: datetime.datetime) -> str:
    return f"{KEY_PREFIX}quota:{carrier_code}:s:{int(now.timestamp())}"


def _day_key(carrier_code: str, now: datetime.datetime) -> str:
    return f"{KEY_PREFIX}quota:{carrier_code}:d:{now:%Y%m%d}"


def _backoff_key(carrier_code: str) -> str:
    return f"{KEY_PREFIX}backoff:{carrier_code}:until"


def _failures_key(carrier_code: str) -> str:
    return f"{KEY_PREFIX}backoff:{carrier_code}:failures"


def _incr(key: str, amount: int, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key, amount)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 0, timeout=timeout)
        return cache.incr(key, amount)


def _give_back(key: str, amount: int) -> None:
    with contextlib.suppress(ValueError):  # expired meanwhile: nothing to give back
        cache.decr(key, amount)


def _take(key: str, amount: int, limit: int, timeout: int) -> bool:
    if _incr(key, amount, timeout) > limit:
        _give_back(key, amount)
        return False
    return True


def _quota(carrier_code: str):
    from carriers.registry import get_adapter

    return get_adapter(carrier_code).quota


def quota_acquire(carrier_code: str, calls: int = 1, *, now: datetime.datetime | None = None) -> bool:
    """Take `calls` calls from the carrier's budget; False when that would exceed this
    second's or today's budget, or while the carrier is backing off."""
    if calls <= 0:
        return True
    now = _now(now)
    if carrier_backoff_until(carrier_code, now=now) is not None:
        return False
    quota = _quota(carrier_code)
    if calls > quota.calls_per_second:
        raise ValueError(
            f"{calls} calls can never fit in {carrier_code}'s budget of {quota.calls_per_second} per second"
        )
    second_key = _second_key(carrier_code, now)
    if not _take(second_key, calls, quota.calls_per_second, timeout=2):
        return False
    if not _take(_day_key(carrier_code, now), calls, quota.calls_per_day, timeout=2 * 24 * 3600):
        _give_back(second_key, calls)
        return False
    return True


def quota_usage(carrier_code: str, *, now: datetime.datetime | None = None) -> dict:
    """Calls used and left today (UTC), for monitoring and for planning a polling run."""
    now = _now(now)
    quota = _quota(carrier_code)
    used = int(cache.get(_day_key(carrier_code, now)) or 0)
    return {
        "carrier": carrier_code,
        "calls_today": used,
        "calls_per_day": quota.calls_per_day,
        "calls_left_today": max(0, quota.calls_per_day - used),
        "calls_per_second": quota.calls_per_second,
    }


def carrier_backoff(
    carrier_code: str, seconds: float | None = None, *, now: datetime.datetime | None = None
) -> datetime.datetime:
    """Record a failed call (429, timeout, 5xx) and return until when the carrier is left alone."""
    now = _now(now)
    base = float(conf.get("CARRIER_BACKOFF_BASE_SECONDS"))
    cap = float(conf.get("CARRIER_BACKOFF_MAX_SECONDS"))
    failures_key = _failures_key(carrier_code)
    failures = _incr(failures_key, 1, timeout=int(2 * cap))
    delay = min(cap, base * 2 ** min(failures - 1, MAX_DOUBLINGS))
    if seconds is not None:
        delay = max(delay, float(seconds))
    # The failure count outlives the wait, so the next failure after it waits longer; after a
    # quiet period as long as the cap it starts again from the base.
    cache.touch(failures_key, timeout=int(delay + cap) + 1)
    until = now + datetime.timedelta(seconds=delay)
    key = _backoff_key(carrier_code)
    current = cache.get(key)
    if current is not None and current >= until.timestamp():
        return datetime.datetime.fromtimestamp(current, tz=datetime.UTC)
    cache.set(key, until.timestamp(), timeout=int(delay) + 1)
    return until


def carrier_backoff_until(carrier_code: str, *, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """Until when the carrier must be left alone, None when it may be called."""
    now = _now(now)
    value = cache.get(_backoff_key(carrier_code))
    if value is None or value <= now.timestamp():
        return None
    return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)


def carrier_failures(carrier_code: str) -> int:
    return int(cache.get(_failures_key(carrier_code)) or 0)


def carrier_backoff_clear(carrier_code: str) -> None:
    """After a successful call: the carrier is healthy again."""
    cache.delete_many([_backoff_key(carrier_code), _failures_key(carrier_code)])
