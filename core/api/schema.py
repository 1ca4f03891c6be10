from drf_spectacular.utils import OpenApiResponse
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from rest_framework import serializers


class AutoSchema(StandardizedErrorsAutoSchema):
    """drf-spectacular's schema with the contract's error responses on every operation.

    A nested list (`lines = LineSerializer(many=True, allow_empty=False, max_length=…)`)
    says how many items it takes (`minItems`/`maxItems`), which drf-spectacular leaves out."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.ListSerializer) and isinstance(schema, dict) and schema.get("type") == "array":
            minimum = max(field.min_length or 0, 0 if field.allow_empty else 1)
            if minimum:
                schema["minItems"] = minimum
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        return schema


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `required`, `unknown_sku`.")
    detail = serializers.CharField(help_text="Human-readable message.")
    attr = serializers.CharField(
        allow_null=True, help_text="Dotted path of the bad field (`lines.0.sku`); null for the request as a whole."
    )

    class Meta:
        ref_name = "Error"


class ErrorResponseSerializer(serializers.Serializer):
    """The contract's body of every 4xx response."""

    type = serializers.ChoiceField(choices=["validation_error", "client_error"])
    errors = ErrorSerializer(many=True)

    class Meta:
        ref_name = "ErrorResponse"


CONFLICT_RESPONSE = OpenApiResponse(ErrorResponseSerializer, description="Conflict with the current state.")
NOT_FOUND_RESPONSE = OpenApiResponse(ErrorResponseSerializer, description="Not found (or not yours).")
