import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView

from catalog.api.filters import CharInFilter, StrictBooleanFilter
from catalog.api.serializers import ProductOutputSerializer
from catalog.exceptions import UnknownChannel
from catalog.models import Product
from catalog.selectors import product_list_for_sync, vat_rates_at
from core.api.filters import UpdatedSinceFilter
from core.api.pagination import UpdatedCursorPagination
from core.api.permissions import ClientKindPermission
from core.api.scoping import channel_scope, client_of
from core.selectors import channel_get
from inventory.models import StorageKind


class ProductFilter(django_filters.FilterSet):
    updated_since = UpdatedSinceFilter(
        field_name="changed_at",
        lookup_expr="gte",
        label="Changed at or after (ISO 8601 with offset): the product or its price for this channel",
    )
    sku = CharInFilter(field_name="sku", label="One SKU or several, comma-separated")
    ean = django_filters.CharFilter(field_name="ean")
    category = django_filters.CharFilter(field_name="category__code", label="Category code")
    brand = django_filters.CharFilter(field_name="brand__name", lookup_expr="iexact")
    product_model = django_filters.CharFilter(field_name="product_model__code", label="Product model code")
    storage = django_filters.ChoiceFilter(field_name="storage_kind", choices=StorageKind.choices)
    active = StrictBooleanFilter(field_name="is_active")

    class Meta:
        model = Product
        fields = []


class ChangedCursorPagination(UpdatedCursorPagination):
    """Oldest change first, where a change is the later of the row's own and its price's."""

    ordering = ("changed_at", "id")


class ProductListApi(ListAPIView):
    """The catalog for a webshop to sync: oldest change first. `updated_since` returns the
    products changed since then, including those whose price for this channel changed
    (a new price set, or a scheduled price taking effect). Staff keys see the default
    prices, or a channel's with `?channel=CODE`."""

    permission_classes = [ClientKindPermission]
    api_clients = {"channel", "staff"}
    staff_permission = "catalog.view_product"
    serializer_class = ProductOutputSerializer
    filterset_class = ProductFilter
    pagination_class = ChangedCursorPagination

    def _channel_id(self) -> int | None:
        client = client_of(self.request)
        if client is not None and client.is_staff and self.request.query_params.get("channel"):
            channel = channel_get(code=self.request.query_params["channel"])
            if channel is None:
                raise UnknownChannel(_("Unknown sales channel."), attr="channel")
            return channel.pk
        return channel_scope(self.request)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Product.objects.none()
        return product_list_for_sync(channel_id=self._channel_id())

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["vat_rates"] = vat_rates_at()
        return context

    @extend_schema(
        operation_id="products_list",
        tags=["catalog"],
        parameters=[
            OpenApiParameter(
                "channel",
                OpenApiTypes.STR,
                description="Staff keys only: the sales channel whose prices to show (default prices without it).",
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
