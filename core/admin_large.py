"""Admin lists over tables with millions of rows (orders, fulfilments, shipments, events).

Two things Django's changelist does that grow with the data:
- the paginator counts every matching row (`SELECT COUNT(*)` over 950,000 orders);
- the date hierarchy lists the years, months or days that occur with `SELECT DISTINCT
  date_trunc(...)` over every matching row.

`LargeTableAdminMixin` replaces both: the count is exact up to 10,000 rows and beyond
that PostgreSQL's planner estimate (the list says "about"); the date hierarchy derives
its periods from the first and last date (two index look-ups), listing every period in
between — for a shop that sells every day that is the same list.
"""

import datetime
import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

EXACT_COUNT_UP_TO = 10_000


class LargeTablePaginator(Paginator):
    @cached_property
    def count(self) -> int:
        qs = self.object_list
        capped = qs.order_by()[: EXACT_COUNT_UP_TO + 1].count()
        if capped <= EXACT_COUNT_UP_TO:
            return capped
        self.is_estimate = True
        return max(capped, _planner_estimate(qs))

    is_estimate = False


def _planner_estimate(qs) -> int:
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        return qs.count()
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class _PeriodRange:
    """Stands in for `cl.queryset` in Django's date_hierarchy: `.dates()` and
    `.datetimes()` give every period between the first and the last date."""

    def __init__(self, queryset):
        self._qs = queryset

    def aggregate(self, **kwargs):
        return self._qs.aggregate(**kwargs)

    def datetimes(self, field_name, kind):
        return self._periods(field_name, kind)

    def dates(self, field_name, kind):
        return self._periods(field_name, kind)

    def _periods(self, field_name, kind):
        from django.db.models import Max, Min
        from django.utils import timezone

        bounds = self._qs.aggregate(first=Min(field_name), last=Max(field_name))
        first, last = bounds["first"], bounds["last"]
        if first is None or last is None:
            return []
        if isinstance(first, datetime.datetime):
            first, last = timezone.localtime(first).date(), timezone.localtime(last).date()
        periods = []
        if kind == "year":
            return [datetime.date(year, 1, 1) for year in range(first.year, last.year + 1)]
        if kind == "month":
            year, month = first.year, first.month
            while (year, month) <= (last.year, last.month):
                periods.append(datetime.date(year, month, 1))
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            return periods
        day = first
        while day <= last:
            periods.append(day)
            day += datetime.timedelta(days=1)
        return periods


class _ChangeListView:
    def __init__(self, cl):
        self._cl = cl
        self.queryset = _PeriodRange(cl.queryset)

    def __getattr__(self, name):
        return getattr(self._cl, name)


def fast_date_hierarchy_context(cl):
    from django.contrib.admin.templatetags.admin_list import date_hierarchy

    return date_hierarchy(_ChangeListView(cl))


class LargeTableAdminMixin:
    """For ModelAdmins over very large tables: bounded count and date hierarchy."""

    paginator = LargeTablePaginator
    change_list_template = "admin/core/large_change_list.html"
    list_per_page = 50
    show_full_result_count = False
