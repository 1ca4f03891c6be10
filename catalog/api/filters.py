import django_filters
from drf_spectacular.utils import extend_schema_field


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """`?sku=A` or `?sku=A,B,C`."""


@extend_schema_field({"type": "string", "enum": ["true", "false"]})
class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """`true` or `false`; anything else is a 400 naming the parameter (not silently ignored)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(*args, **kwargs)
