from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Product
from catalog.selectors import vat_rate_label
from core.api.fields import AmountField
from inventory.models import StorageKind


class ProductOutputSerializer(serializers.ModelSerializer):
    """A product as a webshop syncs it. `price` is the consumer price incl. VAT for the
    calling channel now (null when the product has no price for it)."""

    name = serializers.CharField(source="name_nl", help_text="Name in Dutch.")
    vat_rate = serializers.SerializerMethodField(help_text='VAT percentage now, e.g. "21", "9" or "0".')
    price = AmountField(read_only=True, allow_null=True, help_text="Consumer price incl. VAT for this channel.")
    storage = serializers.ChoiceField(source="storage_kind", choices=StorageKind.choices)
    active = serializers.BooleanField(source="is_active")
    brand = serializers.CharField(source="brand.name", allow_null=True, default=None)
    category = serializers.CharField(source="category.code", allow_null=True, default=None)
    category_name = serializers.CharField(source="category.name_nl", allow_null=True, default=None)
    product_model = serializers.CharField(
        source="product_model.code", allow_null=True, default=None, help_text="Groups sizes and colours."
    )
    updated_at = serializers.DateTimeField(
        source="changed_at", help_text="Last change of the product or of its price for this channel."
    )

    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "name_en",
            "ean",
            "vat_rate",
            "price",
            "storage",
            "weight_grams",
            "length_mm",
            "width_mm",
            "height_mm",
            "active",
            "brand",
            "category",
            "category_name",
            "product_model",
            "size",
            "colour",
            "warranty_months",
            "updated_at",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_vat_rate(self, product) -> str | None:
        return vat_rate_label(self.context["vat_rates"].get(product.vat_class))
