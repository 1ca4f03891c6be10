import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView

from catalog.api.filters import CharInFilter, StrictBooleanFilter
from catalog.api.views import ChangedCursorPagination
from catalog.models import Product
from core.api.filters import UpdatedSinceFilter
from core.api.permissions import ClientKindPermission
from inventory.api.serializers import StockLevelOutputSerializer
from inventory.selectors import stock_changed_since, stock_list_for_sync


class StockLevelFilter(django_filters.FilterSet):
    """Works out the stock levels (`stock_list_for_sync`) of the products it lists: with
    `updated_since`, only of those that can have changed since then."""

    updated_since = UpdatedSinceFilter(
        field_name="changed_at",
        method="filter_updated_since",
        label="Stock changed at or after (ISO 8601 with offset)",
    )
    sku = CharInFilter(field_name="sku", label="One SKU or several, comma-separated")
    category = django_filters.CharFilter(field_name="category__code", label="Category code")
    active = StrictBooleanFilter(field_name="is_active")
    available = StrictBooleanFilter(method="filter_available", label="true: only SKUs with stock to sell")

    class Meta:
        model = Product
        fields = []

    def filter_queryset(self, queryset):
        since = self.form.cleaned_data.get("updated_since")
        if since is None:
            queryset = stock_list_for_sync(products=queryset)
        else:
            queryset = stock_changed_since(products=queryset, since=since)
        return super().filter_queryset(queryset)

    def filter_updated_since(self, queryset, name, value):
        return queryset  # applied with the levels, in filter_queryset

    def filter_available(self, queryset, name, value):
        return queryset.filter(available__gt=0) if value else queryset.filter(available__lte=0)


class StockLevelListApi(ListAPIView):
    """Stock levels for a webshop to sync: per SKU the quantity available to sell over all
    active locations, oldest change first; `updated_since` returns the SKUs whose stock
    (or expected delivery) changed since then."""

    permission_classes = [ClientKindPermission]
    api_clients = {"channel", "staff"}
    staff_permission = "inventory.view_stock"
    serializer_class = StockLevelOutputSerializer
    filterset_class = StockLevelFilter
    pagination_class = ChangedCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Product.objects.none()
        return Product.objects.all()  # the levels are added by StockLevelFilter

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["today"] = timezone.localdate()
        return context

    @extend_schema(operation_id="stock_list", tags=["stock"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
