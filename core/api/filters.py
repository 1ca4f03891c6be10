import datetime

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 datetime, handed to the query in UTC. Python reads offsets up to
    ±23:59 but PostgreSQL takes at most ±15:59, so a valid `+16:00` would otherwise be a
    database error; a moment that falls outside the years 1-9999 in UTC is invalid."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(datetime.UTC)
        except OverflowError as exc:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc


class UpdatedSinceFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class UpdatedSinceFilterSet(django_filters.FilterSet):
    """`?updated_since=<ISO 8601 datetime>`: rows changed at or after that moment."""

    updated_since = UpdatedSinceFilter(
        field_name="updated_at", lookup_expr="gte", label="Changed at or after (ISO 8601 with offset)"
    )
