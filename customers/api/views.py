import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.filters import UpdatedSinceFilterSet
from core.api.permissions import ClientKindPermission
from core.api.scoping import channel_scope
from customers.api.serializers import CustomerOutputSerializer
from customers.models import Customer
from customers.selectors import access_customer, customer_list


class CustomerFilter(UpdatedSinceFilterSet):
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")

    class Meta:
        model = Customer
        fields = ["email"]


class CustomerListApi(ListAPIView):
    """The channel's customers, oldest change first; `updated_since` for syncing."""

    permission_classes = [ClientKindPermission]
    api_clients = {"channel", "staff"}
    staff_permission = "customers.view_customer"
    serializer_class = CustomerOutputSerializer
    filterset_class = CustomerFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Customer.objects.none()
        return customer_list(channel_id=channel_scope(self.request))

    @extend_schema(operation_id="customers_list", tags=["customers"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CustomerDetailApi(APIView):
    permission_classes = [ClientKindPermission]
    api_clients = {"channel", "staff"}
    staff_permission = "customers.view_customer"

    @extend_schema(operation_id="customers_retrieve", responses=CustomerOutputSerializer, tags=["customers"])
    def get(self, request, customer_id: int):
        customer = access_customer(customer_id=customer_id, channel_id=channel_scope(request))
        return Response(CustomerOutputSerializer(customer).data)
