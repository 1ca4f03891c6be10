from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.admin_helpers import service_form_view
from catalog.admin_import import TableImportExportMixin
from catalog.exceptions import UnknownProduct
from catalog.models import Brand, Category, Price, PriceList, Product, ProductModel, Promotion, VatRate
from catalog.resources import ProductResource
from catalog.selectors import price_annotation, price_map
from catalog.services.prices import price_set, price_withdraw
from core.admin_utils import (
    AuditedModelAdmin,
    BackofficeModelAdmin,
    ReadOnlyTabularInline,
    admin_link_to,
    changelist_link,
    related_link,
    run_for_each,
)
from inventory.models import Stock
from inventory.selectors import SELLABLE, stock_for_product

# --- VAT ------------------------------------------------------------------------------------


@admin.register(VatRate)
class VatRateAdmin(AuditedModelAdmin):
    """A change of a VAT rate is a new dated row; rows in use are never edited."""

    list_display = ["vat_class", "rate", "valid_from"]
    list_filter = ["vat_class"]

    def get_readonly_fields(self, request, obj=None):
        return ["vat_class", "rate", "valid_from"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False


# --- categories, brands, models ---------------------------------------------------------------


@admin.register(Category)
class CategoryAdmin(BackofficeModelAdmin):
    list_display = [
        "code",
        "name_nl",
        "name_en",
        related_link("parent", description=gettext_lazy("parent")),
        "products",
    ]
    list_select_related = ["parent"]
    search_fields = ["code", "name_nl", "name_en"]
    autocomplete_fields = ["parent"]

    @admin.display(description=gettext_lazy("products"))
    def products(self, obj):
        return changelist_link(Product, _("products"), category__id__exact=obj.pk)


@admin.register(Brand)
class BrandAdmin(BackofficeModelAdmin):
    list_display = ["name", "products"]
    search_fields = ["name"]

    @admin.display(description=gettext_lazy("products"))
    def products(self, obj):
        return changelist_link(Product, _("products"), brand__id__exact=obj.pk)


@admin.register(ProductModel)
class ProductModelAdmin(BackofficeModelAdmin):
    list_display = ["code", "name", "brand", "category", "variants"]
    list_select_related = ["brand", "category"]
    list_filter = ["category", "brand"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["brand", "category"]

    @admin.display(description=gettext_lazy("sizes and colours"))
    def variants(self, obj):
        return changelist_link(Product, _("SKUs"), product_model__id__exact=obj.pk)


# --- products -------------------------------------------------------------------------------


@admin.register(Product)
class ProductAdmin(TableImportExportMixin, AuditedModelAdmin):
    """Products with their default price and stock at a glance; prices are set through
    the price lists, stock through the stock screens."""

    resource_classes = [ProductResource]
    import_permission = "catalog.import_catalog"
    list_display = [
        "sku",
        "name_nl",
        "brand",
        "category",
        "size",
        "colour",
        "vat_class",
        "storage_kind",
        "default_price",
        "available",
        "is_active",
    ]
    list_select_related = ["brand", "category"]
    list_filter = ["is_active", "vat_class", "storage_kind", "category", "brand"]
    search_fields = ["sku", "ean", "name_nl", "name_en", "product_model__code"]
    autocomplete_fields = ["brand", "category", "product_model"]
    readonly_fields = ["prices_overview", "stock_overview", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["sku", "ean", "name_nl", "name_en", "is_active"]}),
        (gettext_lazy("Grouping"), {"fields": ["product_model", "size", "colour", "brand", "category"]}),
        (
            gettext_lazy("Tax, storage and shipping"),
            {"fields": ["vat_class", "storage_kind", "weight_grams", "length_mm", "width_mm", "height_mm"]},
        ),
        (gettext_lazy("Purchase and warranty"), {"fields": ["cost_price", "warranty_months", "warranty_claim"]}),
        (gettext_lazy("Legal guarantee"), {"fields": ["legal_guarantee_note"]}),
        (gettext_lazy("Prices and stock"), {"fields": ["prices_overview", "stock_overview"]}),
        (gettext_lazy("Changes"), {"fields": ["created_at", "updated_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "sku"] if obj else readonly  # the SKU is the product's identity for the shops

    def get_queryset(self, request):
        sellable = (
            Stock.objects.filter(product_id=OuterRef("pk"), location__is_active=True)
            .order_by()
            .values("product_id")
            .annotate(total=Sum(SELLABLE))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                default_price_amount=price_annotation(channel_id=None),
                available_total=Subquery(sellable, output_field=IntegerField()),
            )
        )

    @admin.display(description=gettext_lazy("price (default)"), ordering="default_price_amount")
    def default_price(self, obj):
        price = getattr(obj, "default_price_amount", None)
        return "-" if price is None else price

    @admin.display(description=gettext_lazy("available"), ordering="available_total")
    def available(self, obj):
        return changelist_link(Stock, obj.available_total or 0, product__id__exact=obj.pk)

    @admin.display(description=gettext_lazy("prices now"))
    def prices_overview(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        now = timezone.now()
        rows = []
        for price_list in PriceList.objects.select_related("channel").order_by("code"):
            amount = price_map(product_ids=[obj.pk], channel_id=price_list.channel_id, at=now).get(obj.pk)
            rows.append((price_list.name, "-" if amount is None else amount))
        table = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table>{}</table>{}",
            table,
            changelist_link(Price, _("all prices of this product"), product__id__exact=obj.pk),
        )

    @admin.display(description=gettext_lazy("stock per location"))
    def stock_overview(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        stock = stock_for_product(product_id=obj.pk)
        if not stock:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (admin_link_to(Stock, s.pk, s.location.code), s.on_hand, s.reserved, s.on_hand - s.reserved)
                for s in stock
            ),
        )
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("location"),
            _("on hand"),
            _("reserved"),
            _("available"),
            rows,
        )


# --- prices ---------------------------------------------------------------------------------


class RecentPriceInline(ReadOnlyTabularInline):
    """The newest price rows of a list (the full history is under Prices)."""

    model = Price
    fields = ["product", "gross_amount", "valid_from", "valid_until", "created_by_label", "created_at"]
    ordering = ["-created_at", "-id"]
    verbose_name_plural = gettext_lazy("newest prices")
    show_change_link = False
    limit = 50

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        limit = self.limit

        class Limited(formset):
            def get_queryset(self):
                if not hasattr(self, "_limited"):
                    self._limited = list(super().get_queryset()[:limit])
                return self._limited

        return Limited


@admin.register(PriceList)
class PriceListAdmin(BackofficeModelAdmin):
    list_display = ["code", "name", "channel", "prices"]
    list_select_related = ["channel"]
    search_fields = ["code", "name"]
    inlines = [RecentPriceInline]
    change_form_template = "admin/catalog/pricelist/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return ["code", "channel"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("prices"))
    def prices(self, obj):
        return changelist_link(Price, _("all prices"), price_list__id__exact=obj.pk)


class PriceStateFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("current", _("valid now")),
            ("scheduled", _("scheduled")),
            ("ended", _("ended")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "current":
            return queryset.filter(valid_from__lte=now).exclude(valid_until__lte=now)
        if self.value() == "scheduled":
            return queryset.filter(valid_from__gt=now)
        if self.value() == "ended":
            return queryset.filter(valid_until__lte=now)
        return queryset


class PriceSetForm(forms.Form):
    price_list = forms.ModelChoiceField(PriceList.objects.order_by("code"), label=gettext_lazy("price list"))
    sku = forms.CharField(label=gettext_lazy("SKU"), max_length=64)
    gross_amount = forms.DecimalField(
        label=gettext_lazy("price incl. VAT"), max_digits=12, decimal_places=2, min_value=0
    )
    valid_from = forms.SplitDateTimeField(
        label=gettext_lazy("valid from"),
        required=False,
        widget=admin.widgets.AdminSplitDateTime,
        help_text=gettext_lazy("Empty: now. A price never starts in the past."),
    )
    valid_until = forms.SplitDateTimeField(
        label=gettext_lazy("valid until"),
        required=False,
        widget=admin.widgets.AdminSplitDateTime,
        help_text=gettext_lazy("Empty: until changed. With an end, the price before comes back after it."),
    )


@admin.register(Price)
class PriceAdmin(BackofficeModelAdmin):
    """Every price row ever set, read-only. A new price goes through the form (Add), which
    closes the running row and adds a new one."""

    list_display = [
        related_link("product", description=gettext_lazy("product")),
        "price_list",
        "gross_amount",
        "valid_from",
        "valid_until",
        "state",
        "created_by_label",
    ]
    list_select_related = ["product", "price_list"]
    list_filter = [PriceStateFilter, "price_list"]
    search_fields = ["product__sku", "product__name_nl", "product__ean"]
    date_hierarchy = "valid_from"
    actions = ["withdraw"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_withdraw_permission(self, request):
        return request.user.has_perm("catalog.add_price")

    @admin.display(description=gettext_lazy("state"))
    def state(self, obj):
        now = timezone.now()
        if obj.valid_from > now:
            return _("scheduled")
        if obj.valid_until is not None and obj.valid_until <= now:
            return _("ended")
        return _("valid now")

    @admin.action(description=gettext_lazy("Withdraw the selected scheduled prices"), permissions=["withdraw"])
    def withdraw(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset,
            price_withdraw,
            id_kwarg="price_id",
            success=_("%(count)d scheduled prices withdrawn."),
            actor=request.user,
        )

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial = {"price_list": request.GET.get("price_list"), "sku": request.GET.get("sku", "")}
        form = PriceSetForm(request.POST or None, initial=initial)

        def run(data):
            product = Product.objects.filter(sku=data["sku"].strip()).first()
            if product is None:
                raise UnknownProduct(_("Unknown SKU."), attr="sku")
            row = price_set(
                price_list_id=data["price_list"].pk,
                product_id=product.pk,
                gross_amount=data["gross_amount"],
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
                actor=request.user,
            )
            if row is None:
                return _("%(sku)s already has this price.") % {"sku": product.sku}
            return _("New price for %(sku)s in %(list)s: %(amount)s.") % {
                "sku": product.sku,
                "list": data["price_list"].name,
                "amount": row.gross_amount,
            }

        return service_form_view(
            self,
            request,
            form=form,
            title=_("Set a price"),
            run=run,
            success_url=reverse("admin:catalog_price_changelist"),
            intro=_("The running price is closed and kept; the new one applies from the moment given."),
            submit_label=_("Set price"),
        )


# --- promotions -----------------------------------------------------------------------------


@admin.register(Promotion)
class PromotionAdmin(AuditedModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "value",
        "scope",
        "channel",
        "valid_from",
        "valid_until",
        "is_active",
        "running",
    ]
    list_select_related = ["channel"]
    list_filter = ["is_active", "kind", "scope", "channel"]
    search_fields = ["code", "name", "products__sku"]
    autocomplete_fields = ["products", "categories"]
    date_hierarchy = "valid_from"
    fieldsets = [
        (None, {"fields": ["code", "name", "is_active", "channel"]}),
        (
            gettext_lazy("Discount"),
            {
                "fields": [
                    "kind",
                    "percentage",
                    "discount_amount",
                    "scope",
                    "products",
                    "categories",
                    "min_order_amount",
                ]
            },
        ),
        (gettext_lazy("Period"), {"fields": ["valid_from", "valid_until"]}),
    ]

    def get_protected_fields(self, request=None, obj=None):
        # A promotion's amounts are terms set in advance, not a financial record: an order
        # line stores the discount it was given, so editing a promotion never changes what
        # was charged or what a refund credits.
        return []

    @admin.display(description=gettext_lazy("discount"))
    def value(self, obj):
        if obj.kind == Promotion.Kind.PERCENTAGE:
            return f"{obj.percentage.normalize()} %"
        return f"€ {obj.discount_amount}"

    @admin.display(description=gettext_lazy("running now"), boolean=True)
    def running(self, obj):
        now = timezone.now()
        return obj.is_active and obj.valid_from <= now and (obj.valid_until is None or obj.valid_until > now)
