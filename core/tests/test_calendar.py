import datetime

import pytest

from core import calendar
from core.models import ClosedDay

D = datetime.date


@pytest.mark.parametrize(
    ("day", "purpose", "expected"),
    [
        (D(2026, 11, 23), calendar.WAREHOUSE, True),  # a Monday
        (D(2026, 11, 21), calendar.WAREHOUSE, False),  # Saturday
        (D(2026, 11, 21), calendar.CARRIER, True),  # carriers deliver on Saturday
        (D(2026, 11, 22), calendar.CARRIER, False),  # Sunday
        (D(2026, 12, 25), calendar.WAREHOUSE, False),  # Christmas
        (D(2026, 4, 3), calendar.WAREHOUSE, True),  # Good Friday is a working day
        (D(2026, 4, 6), calendar.WAREHOUSE, False),  # Easter Monday
        (D(2026, 4, 27), calendar.WAREHOUSE, False),  # King's Day (a Monday)
        (D(2025, 4, 26), calendar.CARRIER, False),  # King's Day moved: 27 April 2025 is a Sunday
        (D(2026, 5, 14), calendar.WAREHOUSE, False),  # Ascension Day
        (D(2026, 5, 25), calendar.WAREHOUSE, False),  # Whit Monday
        (D(2026, 5, 5), calendar.WAREHOUSE, True),  # Liberation Day only off in lustrum years
        (D(2025, 5, 5), calendar.WAREHOUSE, False),  # 2025 is a lustrum year
        (D(2026, 5, 5), calendar.LETTERS, False),  # the Algemene termijnenwet counts 5 May every year
        (D(2026, 11, 23), calendar.LETTERS, False),  # Mondays do not count for letters
        (D(2026, 11, 24), calendar.LETTERS, True),
    ],
)
def test_business_days_per_purpose(day, purpose, expected, db):
    assert calendar.is_business_day(day, purpose) is expected


def test_add_business_days_skips_weekend_and_holidays(db):
    # Thursday 24 Dec 2026 + 1 warehouse day: Christmas, Boxing Day, weekend → Monday 28 Dec
    assert calendar.add_business_days(D(2026, 12, 24), 1) == D(2026, 12, 28)
    assert calendar.add_business_days(D(2026, 11, 20), 0) == D(2026, 11, 20)
    assert calendar.next_business_day(D(2026, 11, 21)) == D(2026, 11, 23)


def test_staff_exceptions_override_the_calendar(db):
    # given: an inventory day on a Tuesday and an open Saturday
    ClosedDay.objects.create(date=D(2026, 11, 24), purpose="warehouse", closed=True, description="Inventarisatie")
    ClosedDay.objects.create(date=D(2026, 11, 28), purpose="warehouse", closed=False, description="Black Friday")
    calendar.clear_cache()
    # then
    assert not calendar.is_business_day(D(2026, 11, 24))
    assert calendar.is_business_day(D(2026, 11, 28))
    assert calendar.is_business_day(D(2026, 11, 24), calendar.CARRIER)  # other purposes unaffected


def test_business_days_between(db):
    assert calendar.business_days_between(D(2026, 11, 20), D(2026, 11, 24)) == 2  # Mon, Tue
    assert calendar.business_days_between(D(2026, 11, 24), D(2026, 11, 20)) == 0
