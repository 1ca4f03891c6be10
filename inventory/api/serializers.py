import datetime

from rest_framework import serializers

from catalog.models import Product


class StockLevelOutputSerializer(serializers.ModelSerializer):
    """Per SKU: what can be sold now over all active locations (never negative), and when
    nothing can, the date the next inbound delivery is expected (null if none is)."""

    available = serializers.IntegerField(min_value=0, help_text="Quantity available to sell over all locations.")
    next_delivery_on = serializers.SerializerMethodField(
        help_text="When nothing is available: the date the next inbound delivery is expected (null otherwise)."
    )
    active = serializers.BooleanField(source="is_active")
    updated_at = serializers.DateTimeField(source="changed_at", help_text="Last change of this SKU's stock.")

    class Meta:
        model = Product
        fields = ["sku", "available", "next_delivery_on", "active", "updated_at"]

    def get_next_delivery_on(self, product) -> datetime.date | None:
        if product.available > 0 or product.next_expected_on is None:
            return None
        return max(product.next_expected_on, self.context["today"])
