"""Shapes of the payments API (shape only; the services decide)."""

from rest_framework import serializers


class WebhookInputSerializer(serializers.Serializer):
    """Mollie and the simulator post only the payment's id (form-encoded); the status is
    fetched from the provider, never read from the body."""

    id = serializers.CharField(help_text="The provider's payment or payment-link id, e.g. `tr_WDqYK6vllg`.")


class WebhookAcceptedSerializer(serializers.Serializer):
    received = serializers.BooleanField()
