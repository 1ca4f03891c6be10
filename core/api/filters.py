import django_filters


class UpdatedSinceFilterSet(django_filters.FilterSet):
    """`?updated_since=<ISO 8601 datetime>`: rows changed at or after that moment."""

    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label="Changed at or after (ISO 8601 with offset)"
    )
