from rest_framework import serializers

from customers.models import Address, Customer


class AddressOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = ["street", "house_number", "house_number_addition", "postal_code", "city", "country"]


class CustomerOutputSerializer(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code")

    class Meta:
        model = Customer
        fields = [
            "id",
            "channel",
            "email",
            "first_name",
            "last_name",
            "phone",
            "type",
            "company_name",
            "vat_number",
            "is_blocked",
            "created_at",
            "updated_at",
        ]
