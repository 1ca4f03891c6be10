"""Shapes of the order API (API-CONTRACT.md, Orders and Fulfilment). Serializers check
shape only; the services check the business rules."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from stdnum.eu import vat as eu_vat

from core.api.fields import AmountField, NonNegativeAmountField
from orders.states import FulfilmentStatus, HoldReason, OrderStatus, PaymentMethod

MAX_LINES = 500
MAX_QUANTITY = 10_000


class _NullableText(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)


class AddressInputSerializer(serializers.Serializer):
    street = serializers.CharField(max_length=200)
    house_number = serializers.CharField(max_length=10)
    house_number_addition = _NullableText(max_length=10)
    postal_code = serializers.CharField(max_length=12)
    city = serializers.CharField(max_length=100)
    country = serializers.CharField(min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2, e.g. NL")


class CustomerInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    first_name = _NullableText(max_length=100)
    last_name = _NullableText(max_length=150)
    phone = _NullableText(max_length=32)
    type = serializers.ChoiceField(choices=["consumer", "business"], required=False, default="consumer")
    company_name = _NullableText(max_length=200)
    vat_number = _NullableText(max_length=20)

    def validate_vat_number(self, value):
        if value and not eu_vat.is_valid(value):
            raise serializers.ValidationError(_("Not a valid EU VAT number."), code="invalid_vat_number")
        return eu_vat.compact(value) if value else value


class LineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit_price = NonNegativeAmountField()
    discount = NonNegativeAmountField(required=False, help_text="Total discount on the line, VAT included.")


class PaymentInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    provider = _NullableText(max_length=40)
    provider_reference = _NullableText(max_length=128)


class OrderInputSerializer(serializers.Serializer):
    external_reference = serializers.CharField(max_length=64)
    placed_at = serializers.DateTimeField(required=False, help_text="ISO 8601 with offset; default: now")
    customer = CustomerInputSerializer()
    billing_address = AddressInputSerializer()
    shipping_address = AddressInputSerializer(required=False, allow_null=True)
    lines = LineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)
    shipping_cost = NonNegativeAmountField(required=False)
    payment = PaymentInputSerializer()

    def validate_placed_at(self, value: datetime.datetime) -> datetime.datetime:
        if value > timezone.now() + datetime.timedelta(minutes=10):
            raise serializers.ValidationError(_("placed_at lies in the future."), code="in_the_future")
        return value

    def validate_external_reference(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError(_("This field may not be blank."), code="blank")
        return value


# --- output ---------------------------------------------------------------------------


def vat_rate_text(rate) -> str:
    """21.00 → "21", 9.00 → "9", 5.50 → "5.5"."""
    text = f"{rate:f}".rstrip("0").rstrip(".")
    return text or "0"


class TotalsSerializer(serializers.Serializer):
    goods = AmountField(source="goods_amount")
    shipping = AmountField(source="shipping_amount")
    discount = AmountField(source="discount_amount")
    vat = AmountField(source="vat_amount")
    total = AmountField(source="total_amount")


class OrderLineOutputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    ean = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = AmountField()
    discount = AmountField(source="discount_amount")
    vat_rate = serializers.SerializerMethodField()
    vat = AmountField(source="vat_amount")
    total = AmountField(source="total_amount")
    quantity_shipped = serializers.IntegerField()
    quantity_backordered = serializers.IntegerField()
    quantity_cancelled = serializers.IntegerField()

    @extend_schema_field(serializers.CharField(help_text='VAT percentage, e.g. "21"'))
    def get_vat_rate(self, line) -> str:
        return vat_rate_text(line.vat_rate)


class SkuQuantitySerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class FulfilmentLineOutputSerializer(SkuQuantitySerializer):
    quantity_shipped = serializers.IntegerField()


class ShipmentLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class ShipmentOutputSerializer(serializers.Serializer):
    carrier = serializers.CharField()
    tracking_code = serializers.CharField()
    tracking_url = serializers.CharField()
    status = serializers.CharField()
    shipped_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    weight_grams = serializers.IntegerField(allow_null=True)
    lines = serializers.SerializerMethodField()

    @extend_schema_field(SkuQuantitySerializer(many=True))
    def get_lines(self, shipment) -> list[dict]:
        return [{"sku": sl.fulfilment_line.order_line.sku, "quantity": sl.quantity} for sl in shipment.lines.all()]


class FulfilmentOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="code")
    location = serializers.CharField(source="location.code")
    status = serializers.ChoiceField(choices=FulfilmentStatus.choices)
    promised_ship_date = serializers.DateField(allow_null=True)
    service_level = serializers.CharField(source="sla_status")
    lines = serializers.SerializerMethodField()
    shipments = ShipmentOutputSerializer(many=True)

    @extend_schema_field(FulfilmentLineOutputSerializer(many=True))
    def get_lines(self, fulfilment) -> list[dict]:
        return [
            {"sku": fl.order_line.sku, "quantity": fl.quantity, "quantity_shipped": fl.quantity_shipped}
            for fl in fulfilment.lines.all()
        ]


class PaymentSummarySerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    status = serializers.CharField()
    reference = serializers.CharField(help_text="Betalingskenmerk: 16 digits with check digit")
    amount_due = AmountField()
    amount_paid = AmountField()
    cleared = serializers.BooleanField()


class InvoiceSummarySerializer(serializers.Serializer):
    number = serializers.CharField()
    total = AmountField()
    pdf_url = serializers.CharField()


class AddressOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    company_name = serializers.CharField()
    street = serializers.CharField()
    house_number = serializers.CharField()
    house_number_addition = serializers.CharField()
    postal_code = serializers.CharField()
    city = serializers.CharField()
    country = serializers.CharField()


class OrderOutputSerializer(serializers.Serializer):
    number = serializers.CharField()
    external_reference = serializers.CharField()
    channel = serializers.CharField(source="channel.code")
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    hold_reasons = serializers.ListField(child=serializers.CharField(), help_text=str(HoldReason.values))
    placed_at = serializers.DateTimeField()
    promised_ship_date = serializers.DateField(allow_null=True)
    updated_at = serializers.DateTimeField()
    customer = serializers.SerializerMethodField()
    billing_address = AddressOutputSerializer(allow_null=True)
    shipping_address = AddressOutputSerializer(allow_null=True)
    totals = serializers.SerializerMethodField()
    lines = OrderLineOutputSerializer(many=True)
    payment = serializers.SerializerMethodField()
    fulfilments = FulfilmentOutputSerializer(many=True)
    invoices = serializers.SerializerMethodField()

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "email": {"type": "string"},
                "first_name": {"type": "string"},
                "last_name": {"type": "string"},
                "type": {"type": "string"},
            },
        }
    )
    def get_customer(self, order) -> dict:
        return {
            "email": order.email,
            "first_name": order.first_name,
            "last_name": order.last_name,
            "type": order.customer_type,
        }

    @extend_schema_field(TotalsSerializer)
    def get_totals(self, order) -> dict:
        # a plain dict: a nested serializer per order costs more than the order itself
        return {
            "goods": f"{order.goods_amount:.2f}",
            "shipping": f"{order.shipping_amount:.2f}",
            "discount": f"{order.discount_amount:.2f}",
            "vat": f"{order.vat_amount:.2f}",
            "total": f"{order.total_amount:.2f}",
        }

    @extend_schema_field(PaymentSummarySerializer)
    def get_payment(self, order) -> dict:
        from orders.api.representation import payment_summary

        return PaymentSummarySerializer(payment_summary(order)).data

    @extend_schema_field(InvoiceSummarySerializer(many=True))
    def get_invoices(self, order) -> list[dict]:
        from orders.api.representation import invoice_summaries

        return InvoiceSummarySerializer(invoice_summaries(order, self.context.get("request")), many=True).data


class ShipmentInputSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=30)
    tracking_code = serializers.CharField(max_length=64)
    lines = ShipmentLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)
    weight_grams = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, allow_null=True)

    def validate_carrier(self, value: str) -> str:
        from carriers.registry import carrier_choices

        codes = [code for code, _label in carrier_choices()]
        if value.strip().lower() not in codes:
            raise serializers.ValidationError(
                _("Unknown carrier; use one of: %(codes)s.") % {"codes": ", ".join(codes)}, code="unknown_carrier"
            )
        return value.strip().lower()


class ShipmentCreatedSerializer(ShipmentOutputSerializer):
    fulfilment = serializers.CharField(source="fulfilment.code")
    weight_flagged = serializers.BooleanField()


class CancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)
