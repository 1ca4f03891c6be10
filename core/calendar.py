"""The Dutch business calendar (NL-RULES §7), one place for every business date.

Days off depend on what the date is for, so each purpose decides:
- `warehouse`: shipping days. Weekends and the generally recognised holidays of the
  Algemene termijnenwet are off; Liberation Day (5 May) only in lustrum years, as most
  collective agreements have it. Good Friday is a working day.
- `carrier`: delivery days. Sundays and the same holidays are off.
- `letters`: the legal terms of the 14-day letter (WIK). Sundays, Mondays and the holidays
  of the Algemene termijnenwet (5 May every year) count neither as the day of receipt nor
  as a day in between.

Staff add exceptions (an inventory day, an open Saturday) as `ClosedDay` rows.
"""

import datetime
import threading
import time
from functools import lru_cache

import holidays
from dateutil.easter import easter
from django.utils import timezone

WAREHOUSE = "warehouse"
CARRIER = "carrier"
LETTERS = "letters"
PURPOSES = (WAREHOUSE, CARRIER, LETTERS)

_EXCEPTIONS_TTL_SECONDS = 60
_exceptions_lock = threading.Lock()
_exceptions_cache: dict[str, object] = {"loaded_at": 0.0, "rows": {}}


def kings_day(year: int) -> datetime.date:
    day = datetime.date(year, 4, 27)
    return day - datetime.timedelta(days=1) if day.weekday() == 6 else day


@lru_cache(maxsize=64)
def public_holidays(year: int, purpose: str) -> frozenset[datetime.date]:
    """The holidays of the Algemene termijnenwet, per purpose."""
    e = easter(year)
    days = {
        datetime.date(year, 1, 1),  # Nieuwjaarsdag
        e + datetime.timedelta(days=1),  # Tweede Paasdag
        kings_day(year),  # Koningsdag
        e + datetime.timedelta(days=39),  # Hemelvaartsdag
        e + datetime.timedelta(days=50),  # Tweede Pinksterdag
        datetime.date(year, 12, 25),
        datetime.date(year, 12, 26),
    }
    if purpose == LETTERS or year % 5 == 0:
        days.add(datetime.date(year, 5, 5))  # Bevrijdingsdag
    return frozenset(days)


def holiday_name(day: datetime.date) -> str | None:
    return holidays.country_holidays("NL", years=day.year, language="nl").get(day)


def _exceptions() -> dict[tuple[datetime.date, str], bool]:
    """Staff exceptions, re-read at most once a minute per process."""
    now = time.monotonic()
    if now - _exceptions_cache["loaded_at"] > _EXCEPTIONS_TTL_SECONDS:
        with _exceptions_lock:
            if now - _exceptions_cache["loaded_at"] > _EXCEPTIONS_TTL_SECONDS:
                from core.models import ClosedDay

                today = timezone.localdate()
                rows = ClosedDay.objects.filter(date__gte=today - datetime.timedelta(days=400)).values_list(
                    "date", "purpose", "closed"
                )
                _exceptions_cache["rows"] = {(d, p): c for d, p, c in rows}
                _exceptions_cache["loaded_at"] = now
    return _exceptions_cache["rows"]  # type: ignore[return-value]


def clear_cache() -> None:
    _exceptions_cache["loaded_at"] = 0.0


def is_business_day(day: datetime.date, purpose: str = WAREHOUSE) -> bool:
    if purpose not in PURPOSES:
        raise ValueError(f"Unknown calendar purpose: {purpose}")
    exception = _exceptions().get((day, purpose))
    if exception is not None:
        return not exception
    weekday = day.weekday()
    if purpose == WAREHOUSE and weekday >= 5:
        return False
    if purpose == CARRIER and weekday == 6:
        return False
    if purpose == LETTERS and weekday in (0, 6):
        return False
    return day not in public_holidays(day.year, purpose)


def next_business_day(day: datetime.date, purpose: str = WAREHOUSE, *, include_today: bool = True) -> datetime.date:
    candidate = day if include_today else day + datetime.timedelta(days=1)
    while not is_business_day(candidate, purpose):
        candidate += datetime.timedelta(days=1)
    return candidate


def add_business_days(day: datetime.date, count: int, purpose: str = WAREHOUSE) -> datetime.date:
    """The date `count` business days after `day` (`day` itself does not count)."""
    if count < 0:
        raise ValueError("count must not be negative")
    current = day
    remaining = count
    while remaining:
        current += datetime.timedelta(days=1)
        if is_business_day(current, purpose):
            remaining -= 1
    return current


def business_days_between(start: datetime.date, end: datetime.date, purpose: str = WAREHOUSE) -> int:
    """Business days after `start` up to and including `end`."""
    if end <= start:
        return 0
    count = 0
    current = start
    while current < end:
        current += datetime.timedelta(days=1)
        if is_business_day(current, purpose):
            count += 1
    return count
