"""Staff screens for locations, stock, its ledger and inbound deliveries.

Counters are never typed in: stock changes only through the forms here (receive, adjust,
transfer, write off, receive a delivery), which call the inventory services and show a
refusal as a form error. The ledger is read-only.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import F, Sum
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.admin_helpers import service_form_view
from catalog.admin_import import TableImportExportMixin
from catalog.models import Product
from core.admin_utils import (
    BackofficeModelAdmin,
    ReadOnlyTabularInline,
    admin_link_to,
    changelist_link,
    related_link,
    run_for_each,
)
from inventory.exceptions import UnknownProduct
from inventory.models import InboundDelivery, InboundLine, Location, LowStockReport, Stock, StockMovement, StorageKind
from inventory.resources import LocationResource, StockResource
from inventory.selectors import LOW_STOCK, stock_with_available
from inventory.services.inbound import (
    inbound_delivery_close,
    inbound_delivery_create,
    inbound_delivery_receive,
    inbound_delivery_reschedule,
)
from inventory.services.stock import (
    stock_adjust,
    stock_receive,
    stock_thresholds_set,
    stock_transfer,
    stock_write_off,
)

ADJUST_PERMISSION = "inventory.adjust_stock"
WRITE_OFF_PERMISSION = "inventory.write_off_stock"
RECEIVE_PERMISSION = "inventory.receive_inbounddelivery"


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _product_by_sku(sku: str, attr: str = "sku") -> Product:
    product = Product.objects.filter(sku=sku.strip()).first()
    if product is None:
        raise UnknownProduct(_("Unknown SKU %(sku)s.") % {"sku": sku.strip()}, attr=attr)
    return product


# --- locations ------------------------------------------------------------------------------


class LocationForm(forms.ModelForm):
    storage_kinds = forms.MultipleChoiceField(
        label=gettext_lazy("storage kinds"), choices=StorageKind.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Location
        fields = [
            "code",
            "name",
            "kind",
            "is_active",
            "storage_kinds",
            "cutoff_time",
            "priority",
            "street",
            "house_number",
            "postal_code",
            "city",
            "country",
            "email",
        ]


@admin.register(Location)
class LocationAdmin(TableImportExportMixin, BackofficeModelAdmin):
    form = LocationForm
    resource_classes = [LocationResource]
    import_permission = "inventory.change_location"
    list_display = ["code", "name", "kind", "storage", "cutoff_time", "priority", "is_active", "stock"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name", "city"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "is_active"]}),
        (gettext_lazy("Shipping"), {"fields": ["storage_kinds", "cutoff_time", "priority"]}),
        (gettext_lazy("Address"), {"fields": ["street", "house_number", "postal_code", "city", "country", "email"]}),
        (gettext_lazy("Changes"), {"fields": ["created_at", "updated_at"]}),
    ]

    def has_import_permission(self, request):
        return request.user.has_perm("inventory.add_location") and request.user.has_perm("inventory.change_location")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "code"] if obj else readonly  # the code is the location's identity for API keys

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("storage kinds"))
    def storage(self, obj):
        labels = dict(StorageKind.choices)
        return ", ".join(str(labels.get(k, k)) for k in obj.storage_kinds)

    @admin.display(description=gettext_lazy("stock"))
    def stock(self, obj):
        return changelist_link(Stock, _("stock"), location__id__exact=obj.pk)


# --- stock ----------------------------------------------------------------------------------


class LowStockFilter(admin.SimpleListFilter):
    title = gettext_lazy("reorder point")
    parameter_name = "low"

    def lookups(self, request, model_admin):
        return [("yes", _("Below reorder point"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(LOW_STOCK, location__is_active=True, product__is_active=True)
        return queryset


class StockMovementInline(ReadOnlyTabularInline):
    """The newest movements of this stock row (all of them under Stock movements)."""

    model = StockMovement
    fields = ["created_at", "kind", "on_hand_delta", "reserved_delta", "on_hand_after", "reserved_after"]
    fields += ["reference", "reason", "actor_label"]
    ordering = ["-created_at", "-id"]
    show_change_link = False
    verbose_name_plural = gettext_lazy("newest stock movements")
    limit = 50

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        limit = self.limit

        class Limited(formset):
            def get_queryset(self):
                if not hasattr(self, "_limited"):
                    self._limited = list(super().get_queryset()[:limit])
                return self._limited

        return Limited


class AdjustForm(forms.Form):
    counted = forms.IntegerField(
        label=gettext_lazy("counted quantity"),
        required=False,
        min_value=0,
        help_text=gettext_lazy("What is on the shelf; the difference is booked."),
    )
    delta = forms.IntegerField(
        label=gettext_lazy("or the difference"),
        required=False,
        help_text=gettext_lazy("+3 found, −2 missing."),
    )
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=255)

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("counted") is None) == (cleaned.get("delta") is None) and not self.errors:
            raise forms.ValidationError(_("Give either the counted quantity or the difference."))
        return cleaned


class TransferForm(forms.Form):
    to_location = forms.ModelChoiceField(Location.objects.none(), label=gettext_lazy("to location"))
    quantity = forms.IntegerField(label=gettext_lazy("quantity"), min_value=1)
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=255, required=False)

    def __init__(self, *args, exclude_location_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_location"].queryset = Location.objects.filter(is_active=True).exclude(pk=exclude_location_id)


class WriteOffForm(forms.Form):
    quantity = forms.IntegerField(label=gettext_lazy("quantity"), min_value=1)
    reason = forms.CharField(
        label=gettext_lazy("reason"), max_length=255, help_text=gettext_lazy("Damaged, expired, lost, stolen …")
    )


class ThresholdsForm(forms.Form):
    reorder_point = forms.IntegerField(label=gettext_lazy("reorder point"), min_value=0)
    safety_stock = forms.IntegerField(label=gettext_lazy("safety stock"), min_value=0)


class ReceiveForm(forms.Form):
    sku = forms.CharField(label=gettext_lazy("SKU"), max_length=64)
    location = forms.ModelChoiceField(Location.objects.filter(is_active=True), label=gettext_lazy("location"))
    quantity = forms.IntegerField(label=gettext_lazy("quantity"), min_value=1)
    reference = forms.CharField(
        label=gettext_lazy("reference"), max_length=120, help_text=gettext_lazy("Packing slip or supplier reference.")
    )


@admin.register(Stock)
class StockAdmin(TableImportExportMixin, BackofficeModelAdmin):
    """Stock per SKU and location. Counters are read-only: every change is a movement
    booked through the forms (receive, adjust, transfer, write off)."""

    resource_classes = [StockResource]
    import_permission = "inventory.import_stock"
    change_form_template = "admin/inventory/stock/change_form.html"
    change_list_template = "admin/inventory/stock/change_list.html"
    list_display = [
        related_link("product", description=gettext_lazy("SKU"), ordering="product__sku"),
        "product_name",
        related_link("location", description=gettext_lazy("location"), ordering="location__code"),
        "on_hand",
        "reserved",
        "available",
        "safety_stock",
        "reorder_point",
        "low",
        "updated_at",
    ]
    list_select_related = ["product", "location"]
    list_filter = [LowStockFilter, "location", "product__storage_kind", "product__is_active"]
    search_fields = ["product__sku", "product__ean", "product__name_nl"]
    protected_fields = ["product", "location", "on_hand", "reserved"]
    readonly_fields = ["available", "updated_at", "ledger"]
    fields = ["product", "location", "on_hand", "reserved", "available", "safety_stock", "reorder_point"]
    fields += ["updated_at", "ledger"]
    inlines = [StockMovementInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return stock_with_available().select_related("product", "location")

    def has_add_permission(self, request):
        return False  # a stock row appears with its first movement

    def has_delete_permission(self, request, obj=None):
        return False

    def has_import_permission(self, request):
        return request.user.has_perm("inventory.import_stock") and request.user.has_perm(ADJUST_PERMISSION)

    def has_change_permission(self, request, obj=None):
        return False  # counters move only through the forms below; thresholds have their own form

    @admin.display(description=gettext_lazy("name"), ordering="product__name_nl")
    def product_name(self, obj):
        return obj.product.name_nl

    @admin.display(description=gettext_lazy("available"), ordering="available_qty")
    def available(self, obj):
        return obj.on_hand - obj.reserved

    @admin.display(description=gettext_lazy("below reorder point"), boolean=True)
    def low(self, obj):
        return obj.reorder_point > 0 and obj.on_hand - obj.reserved < obj.reorder_point

    @admin.display(description=gettext_lazy("ledger"))
    def ledger(self, obj):
        return changelist_link(StockMovement, _("all movements"), stock__id__exact=obj.pk)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("receive/", view(self.receive_view), name="inventory_stock_receive"),
            path("<int:stock_id>/adjust/", view(self.adjust_view), name="inventory_stock_adjust"),
            path("<int:stock_id>/transfer/", view(self.transfer_view), name="inventory_stock_transfer"),
            path("<int:stock_id>/write-off/", view(self.write_off_view), name="inventory_stock_write_off"),
            path("<int:stock_id>/thresholds/", view(self.thresholds_view), name="inventory_stock_thresholds"),
            *super().get_urls(),
        ]

    def _stock(self, request, stock_id: int) -> Stock:
        stock = get_object_or_404(Stock.objects.select_related("product", "location"), pk=stock_id)
        if not self.has_view_permission(request, stock):
            raise PermissionDenied
        return stock

    def _details(self, stock: Stock) -> list:
        return [
            (_("product"), f"{stock.product.sku} {stock.product.name_nl}"),
            (_("location"), stock.location),
            (_("on hand"), stock.on_hand),
            (_("reserved"), stock.reserved),
            (_("available"), stock.available),
        ]

    def _change_url(self, stock: Stock) -> str:
        return reverse("admin:inventory_stock_change", args=[stock.pk])

    def adjust_view(self, request, stock_id: int):
        _require(request, ADJUST_PERMISSION)
        stock = self._stock(request, stock_id)
        form = AdjustForm(request.POST or None)

        def run(data):
            movement = stock_adjust(
                product_id=stock.product_id,
                location_id=stock.location_id,
                counted=data["counted"],
                delta=data["delta"],
                reason=data["reason"],
                actor=request.user,
            )
            if movement is None:
                return _("The count matches the books: nothing booked.")
            return _("Adjustment of %(delta)+d booked; on hand is now %(on_hand)d.") % {
                "delta": movement.on_hand_delta,
                "on_hand": movement.on_hand_after,
            }

        return service_form_view(
            self,
            request,
            form=form,
            title=_("Adjust stock"),
            run=run,
            success_url=self._change_url(stock),
            obj=stock,
            details=self._details(stock),
            submit_label=_("Book adjustment"),
        )

    def transfer_view(self, request, stock_id: int):
        _require(request, ADJUST_PERMISSION)
        stock = self._stock(request, stock_id)
        form = TransferForm(request.POST or None, exclude_location_id=stock.location_id)

        def run(data):
            stock_transfer(
                product_id=stock.product_id,
                from_location_id=stock.location_id,
                to_location_id=data["to_location"].pk,
                quantity=data["quantity"],
                reason=data["reason"],
                actor=request.user,
            )
            return _("%(quantity)d × %(sku)s moved from %(from)s to %(to)s.") % {
                "quantity": data["quantity"],
                "sku": stock.product.sku,
                "from": stock.location.code,
                "to": data["to_location"].code,
            }

        return service_form_view(
            self,
            request,
            form=form,
            title=_("Transfer stock"),
            run=run,
            success_url=self._change_url(stock),
            obj=stock,
            details=self._details(stock),
            submit_label=_("Transfer"),
        )

    def write_off_view(self, request, stock_id: int):
        _require(request, WRITE_OFF_PERMISSION)
        stock = self._stock(request, stock_id)
        form = WriteOffForm(request.POST or None)

        def run(data):
            outcome = stock_write_off(
                product_id=stock.product_id,
                location_id=stock.location_id,
                quantity=data["quantity"],
                reason=data["reason"],
                actor=request.user,
            )
            if outcome.approval is not None:
                return _("Worth € %(value)s: the write-off waits for a second person's approval.") % {
                    "value": outcome.value
                }
            return _("Written off: %(quantity)d × %(sku)s (€ %(value)s).") % {
                "quantity": data["quantity"],
                "sku": stock.product.sku,
                "value": outcome.value,
            }

        return service_form_view(
            self,
            request,
            form=form,
            title=_("Write off stock"),
            run=run,
            success_url=self._change_url(stock),
            obj=stock,
            details=[*self._details(stock), (_("cost price"), stock.product.cost_price)],
            intro=_("Above the limit at cost price a second person must approve the write-off."),
            submit_label=_("Write off"),
        )

    def thresholds_view(self, request, stock_id: int):
        _require(request, "inventory.change_stock")
        stock = self._stock(request, stock_id)
        form = ThresholdsForm(
            request.POST or None, initial={"safety_stock": stock.safety_stock, "reorder_point": stock.reorder_point}
        )

        def run(data):
            stock_thresholds_set(
                stock_id=stock.pk,
                safety_stock=data["safety_stock"],
                reorder_point=data["reorder_point"],
                actor=request.user,
            )
            return _("Reorder point %(reorder_point)d, safety stock %(safety_stock)d.") % data

        return service_form_view(
            self,
            request,
            form=form,
            title=_("Reorder point and safety stock"),
            run=run,
            success_url=self._change_url(stock),
            obj=stock,
            details=self._details(stock),
            intro=_("Below its reorder point a stock row is on the buyer's daily low-stock list."),
        )

    def receive_view(self, request):
        _require(request, ADJUST_PERMISSION)
        form = ReceiveForm(request.POST or None, initial={"sku": request.GET.get("sku", "")})

        def run(data):
            product = _product_by_sku(data["sku"])
            movement = stock_receive(
                product_id=product.pk,
                location_id=data["location"].pk,
                quantity=data["quantity"],
                reference=data["reference"],
                actor=request.user,
            )
            return _("Received %(quantity)d × %(sku)s at %(location)s; on hand is now %(on_hand)d.") % {
                "quantity": data["quantity"],
                "sku": product.sku,
                "location": data["location"].code,
                "on_hand": movement.on_hand_after,
            }

        return service_form_view(
            self,
            request,
            form=form,
            title=_("Receive goods"),
            run=run,
            success_url=reverse("admin:inventory_stock_changelist"),
            intro=_("For goods that came without an announced delivery; otherwise receive the inbound delivery."),
            submit_label=_("Book receipt"),
        )


@admin.register(StockMovement)
class StockMovementAdmin(BackofficeModelAdmin):
    """The stock ledger: every change of every counter, read-only."""

    list_display = [
        "created_at",
        "kind",
        "sku",
        "location",
        "on_hand_delta",
        "reserved_delta",
        "on_hand_after",
        "reserved_after",
        "reference",
        "reason",
        "actor_label",
    ]
    list_select_related = ["stock__product", "stock__location"]
    list_filter = ["kind", "stock__location"]
    search_fields = ["reference", "stock__product__sku", "reason", "actor_label"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("SKU"), ordering="stock__product__sku")
    def sku(self, obj):
        return admin_link_to(Stock, obj.stock_id, obj.stock.product.sku)

    @admin.display(description=gettext_lazy("location"), ordering="stock__location__code")
    def location(self, obj):
        return obj.stock.location.code


# --- inbound deliveries ---------------------------------------------------------------------


class InboundLineInline(ReadOnlyTabularInline):
    model = InboundLine
    fields = ["product", "quantity_expected", "quantity_received", "outstanding"]
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    @admin.display(description=gettext_lazy("outstanding"))
    def outstanding(self, obj):
        return obj.quantity_expected - obj.quantity_received


class InboundCreateForm(forms.Form):
    reference = forms.CharField(label=gettext_lazy("reference"), max_length=64)
    supplier = forms.CharField(label=gettext_lazy("supplier"), max_length=120, required=False)
    location = forms.ModelChoiceField(Location.objects.filter(is_active=True), label=gettext_lazy("location"))
    expected_on = forms.DateField(label=gettext_lazy("expected on"), widget=admin.widgets.AdminDateWidget)
    lines = forms.CharField(
        label=gettext_lazy("lines"),
        widget=forms.Textarea(attrs={"rows": 8, "cols": 40}),
        help_text=gettext_lazy("One line per SKU: SKU;quantity (a comma or a tab works too)."),
    )

    def clean_lines(self):
        parsed = []
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            text = raw.strip()
            if not text:
                continue
            parts = [p.strip() for p in text.replace("\t", ";").replace(",", ";").split(";") if p.strip()]
            if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) < 1:
                raise forms.ValidationError(
                    _("Line %(number)d: write SKU;quantity with a quantity of at least 1.") % {"number": number}
                )
            parsed.append((parts[0], int(parts[1])))
        if not parsed:
            raise forms.ValidationError(_("Give at least one line."))
        return parsed


class RescheduleForm(forms.Form):
    expected_on = forms.DateField(label=gettext_lazy("expected on"), widget=admin.widgets.AdminDateWidget)
    supplier = forms.CharField(label=gettext_lazy("supplier"), max_length=120, required=False)


@admin.register(InboundDelivery)
class InboundDeliveryAdmin(BackofficeModelAdmin):
    """Deliveries on their way. Announce one with Add; receive it (in parts) with the
    Receive button; the expected date and supplier may be changed while it is expected."""

    change_form_template = "admin/inventory/inbounddelivery/change_form.html"
    list_display = ["reference", "supplier", "location", "expected_on", "status", "received", "received_at"]
    list_select_related = ["location"]
    list_filter = ["status", "location"]
    search_fields = ["reference", "supplier", "lines__product__sku"]
    date_hierarchy = "expected_on"
    inlines = [InboundLineInline]
    readonly_fields = ["reference", "location", "status", "received_at", "created_at", "updated_at"]
    fields = ["reference", "supplier", "location", "expected_on", "status", "received_at", "created_at", "updated_at"]
    actions = ["receive_all", "close"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(expected_total=Sum("lines__quantity_expected"), received_total=Sum("lines__quantity_received"))
        )

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # rescheduling and receiving go through their own forms

    def has_receive_permission(self, request):
        return request.user.has_perm(RECEIVE_PERMISSION)

    @admin.display(description=gettext_lazy("received"))
    def received(self, obj):
        return f"{obj.received_total or 0} / {obj.expected_total or 0}"

    @admin.action(description=gettext_lazy("Receive everything still expected"), permissions=["receive"])
    def receive_all(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset,
            inbound_delivery_receive,
            id_kwarg="delivery_id",
            success=_("%(count)d deliveries received."),
            actor=request.user,
        )

    @admin.action(description=gettext_lazy("Expect nothing more (close)"), permissions=["receive"])
    def close(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset,
            inbound_delivery_close,
            id_kwarg="delivery_id",
            success=_("%(count)d deliveries closed."),
            actor=request.user,
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:delivery_id>/receive/", view(self.receive_view), name="inventory_inbounddelivery_receive"),
            path(
                "<int:delivery_id>/reschedule/", view(self.reschedule_view), name="inventory_inbounddelivery_reschedule"
            ),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = InboundCreateForm(request.POST or None)

        def run(data):
            products = {sku: _product_by_sku(sku, attr="lines") for sku, _q in data["lines"]}
            delivery = inbound_delivery_create(
                reference=data["reference"],
                supplier=data["supplier"],
                location_id=data["location"].pk,
                expected_on=data["expected_on"],
                lines=[(products[sku].pk, quantity) for sku, quantity in data["lines"]],
                actor=request.user,
            )
            return _("Delivery %(reference)s announced for %(date)s.") % {
                "reference": delivery.reference,
                "date": delivery.expected_on,
            }

        return service_form_view(
            self,
            request,
            form=form,
            title=_("Announce an inbound delivery"),
            run=run,
            success_url=reverse("admin:inventory_inbounddelivery_changelist"),
            submit_label=_("Announce"),
        )

    def reschedule_view(self, request, delivery_id: int):
        _require(request, "inventory.change_inbounddelivery")
        delivery = get_object_or_404(InboundDelivery.objects.select_related("location"), pk=delivery_id)
        form = RescheduleForm(
            request.POST or None, initial={"expected_on": delivery.expected_on, "supplier": delivery.supplier}
        )

        def run(data):
            inbound_delivery_reschedule(
                delivery_id=delivery.pk, expected_on=data["expected_on"], supplier=data["supplier"], actor=request.user
            )
            return _("Delivery %(reference)s is now expected on %(date)s.") % {
                "reference": delivery.reference,
                "date": data["expected_on"],
            }

        return service_form_view(
            self,
            request,
            form=form,
            title=_("Reschedule delivery %(reference)s") % {"reference": delivery.reference},
            run=run,
            success_url=reverse("admin:inventory_inbounddelivery_change", args=[delivery.pk]),
            obj=delivery,
        )

    def receive_view(self, request, delivery_id: int):
        _require(request, RECEIVE_PERMISSION)
        delivery = get_object_or_404(InboundDelivery.objects.select_related("location"), pk=delivery_id)
        lines = list(
            delivery.lines.select_related("product")
            .filter(quantity_received__lt=F("quantity_expected"))
            .order_by("product__sku")
        )
        form = forms.Form(request.POST or None)
        for line in lines:
            outstanding = line.quantity_expected - line.quantity_received
            form.fields[f"line_{line.product_id}"] = forms.IntegerField(
                label=f"{line.product.sku} {line.product.name_nl}",
                min_value=0,
                max_value=outstanding,
                initial=outstanding,
                help_text=_("%(outstanding)d still expected") % {"outstanding": outstanding},
            )

        def run(data):
            quantities = {line.product_id: data[f"line_{line.product_id}"] for line in lines}
            result = inbound_delivery_receive(delivery_id=delivery.pk, quantities=quantities, actor=request.user)
            if result.status == InboundDelivery.Status.RECEIVED:
                return _("Delivery %(reference)s fully received.") % {"reference": result.reference}
            return _("Part of delivery %(reference)s received; the rest is still expected.") % {
                "reference": result.reference
            }

        return service_form_view(
            self,
            request,
            form=form,
            title=_("Receive delivery %(reference)s") % {"reference": delivery.reference},
            run=run,
            success_url=reverse("admin:inventory_inbounddelivery_change", args=[delivery.pk]),
            obj=delivery,
            details=[(_("location"), delivery.location), (_("expected on"), delivery.expected_on)],
            intro=_("Enter what arrived; leave 0 for what did not come."),
            submit_label=_("Book receipt"),
        )


@admin.register(LowStockReport)
class LowStockReportAdmin(BackofficeModelAdmin):
    list_display = ["report_date", "item_count", "recipient", "sent_at"]
    date_hierarchy = "report_date"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
