import json
import re

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from carriers.admin import SHIPMENT_INLINES
from core.admin_large import LargeTableAdminMixin
from core.admin_utils import (
    AuditedModelAdmin,
    BackofficeModelAdmin,
    ReadOnlyTabularInline,
    admin_link,
    changelist_link,
    reason_action,
    related_link,
    run_for_each,
)
from core.exceptions import ApplicationError
from orders.models import (
    FraudBlock,
    Fulfilment,
    FulfilmentLine,
    Order,
    OrderAddress,
    OrderEvent,
    OrderInbox,
    OrderLine,
    Shipment,
    ShipmentLine,
    WebhookDelivery,
)
from orders.services.cancellation import order_cancel
from orders.services.fraud import address_key
from orders.services.holds import REVIEWABLE_HOLDS, order_hold_add, order_hold_release
from orders.services.webhooks import webhook_redeliver
from orders.states import HoldReason

_POSTCODE_NUMBER = re.compile(r"^\s*([1-9][0-9]{3})\s?([A-Za-z]{2})\s+([0-9]+)\s*[-]?\s*([A-Za-z0-9]*)\s*$")
_ORDER_NUMBER = re.compile(r"^[A-Z]{1,8}-\d{4}-\d{3,}$")


def targeted_order_search(queryset, term: str):
    """Admin search that uses the indexes instead of scanning: an order number, an
    e-mail address, a Dutch postcode + house number ('3511 AB 12'), a tracking code or
    an external reference. Returns None when the term is none of these."""
    term = term.strip()
    if not term:
        return None
    if _ORDER_NUMBER.match(term.upper()):
        return queryset.filter(number=term.upper())
    if "@" in term:
        return queryset.filter(email=term.lower())
    match = _POSTCODE_NUMBER.match(term)
    if match:
        postcode = f"{match.group(1)} {match.group(2).upper()}"
        order_ids = OrderAddress.objects.filter(postal_code=postcode, house_number=match.group(3))
        if match.group(4):
            order_ids = order_ids.filter(house_number_addition=match.group(4).upper())
        return queryset.filter(pk__in=order_ids.values("order_id"))
    # look the ids up first: an OR over a subquery would make PostgreSQL walk every order
    compact = term.replace(" ", "").upper()
    order_ids = set(Shipment.objects.filter(tracking_code=compact).values_list("fulfilment__order_id", flat=True))
    order_ids.update(Order.objects.filter(external_reference=term).values_list("pk", flat=True))
    return queryset.filter(pk__in=order_ids)


class OrderAddressInline(ReadOnlyTabularInline):
    model = OrderAddress
    fields = [
        "kind",
        "is_current",
        "name",
        "street",
        "house_number",
        "house_number_addition",
        "postal_code",
        "city",
        "country",
    ]


class OrderLineInline(ReadOnlyTabularInline):
    model = OrderLine
    fields = [
        "line_number",
        "sku",
        "name",
        "quantity",
        "unit_price",
        "discount_amount",
        "vat_rate",
        "total_amount",
        "quantity_shipped",
        "quantity_backordered",
        "quantity_cancelled",
    ]


class FulfilmentInline(ReadOnlyTabularInline):
    model = Fulfilment
    fields = ["fulfilment_link", "location", "status", "promised_ship_date", "sla_status", "released_at", "shipped_at"]

    @admin.display(description=_("fulfilment"))
    def fulfilment_link(self, obj):
        return admin_link(obj)


class OrderEventInline(ReadOnlyTabularInline):
    model = OrderEvent
    fields = ["created_at", "kind", "from_status", "to_status", "actor_label", "data"]
    ordering = ["-created_at", "-id"]


class HoldReasonFilter(admin.SimpleListFilter):
    title = _("hold reason")
    parameter_name = "hold"

    def lookups(self, request, model_admin):
        return HoldReason.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(hold_reasons__contains=[self.value()])
        return queryset


# Inlines other apps add to the order page (payments: payments, invoices, credit notes,
# refunds), so orders does not import them.
ORDER_ADMIN_EXTRA_INLINES: list = []


@admin.register(Order)
class OrderAdmin(LargeTableAdminMixin, AuditedModelAdmin):
    list_display = [
        "number",
        "placed_at",
        "channel",
        "email",
        "status",
        "hold_list",
        "total_amount",
        "payment_method",
        "promised_ship_date",
    ]
    list_filter = ["status", HoldReasonFilter, "channel", "payment_method"]
    search_fields = ["number", "external_reference", "email", "last_name"]
    search_help_text = _("Order number, e-mail, postcode + house number (3511 AB 12), tracking code or reference.")
    date_hierarchy = "placed_at"
    list_select_related = ["channel"]
    show_full_result_count = False
    readonly_fields = [
        "number",
        "channel",
        "external_reference",
        "customer_link",
        "email",
        "first_name",
        "last_name",
        "phone",
        "customer_type",
        "company_name",
        "vat_number",
        "placed_at",
        "promised_ship_date",
        "status",
        "hold_reasons",
        "fraud_signals",
        "goods_amount",
        "discount_amount",
        "shipping_amount",
        "vat_amount",
        "total_amount",
        "payment_method",
        "payment_provider",
        "payment_provider_reference",
        "payment_reference",
        "cleared_at",
        "cancelled_at",
        "cancel_reason",
        "inbox_link",
        "created_at",
        "updated_at",
    ]
    exclude = ["customer", "request_fingerprint"]
    inlines = [OrderAddressInline, OrderLineInline, FulfilmentInline, OrderEventInline]
    actions = ["cancel_orders", "release_holds", "hold_orders"]

    def has_add_permission(self, request):
        return False  # orders come from the channels (API) only

    def get_inlines(self, request, obj):
        return [*super().get_inlines(request, obj), *ORDER_ADMIN_EXTRA_INLINES]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        targeted = targeted_order_search(queryset, search_term) if search_term else None
        if targeted is not None and (targeted.exists() or _ORDER_NUMBER.match(search_term.strip().upper())):
            return targeted, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("holds"))
    def hold_list(self, obj):
        return ", ".join(str(HoldReason(h).label) if h in HoldReason.values else h for h in obj.hold_reasons) or "-"

    @admin.display(description=_("customer"))
    def customer_link(self, obj):
        return admin_link(obj.customer)

    @admin.display(description=_("order inbox"))
    def inbox_link(self, obj):
        return changelist_link(OrderInbox, _("posts for this order"), order__id__exact=obj.pk)

    @reason_action(description=_("Cancel the selected orders"), permissions=["cancel"])
    def cancel_orders(self, request, queryset, reason):
        run_for_each(
            self,
            request,
            queryset,
            order_cancel,
            id_kwarg="order_id",
            success=_("%(count)d orders cancelled."),
            actor=request.user,
            reason=reason,
        )

    def has_cancel_permission(self, request):
        return request.user.has_perm("orders.cancel_order")

    @reason_action(description=_("Release the fraud / block holds of the selected orders"), permissions=["review"])
    def release_holds(self, request, queryset, reason):
        released = 0
        for order in queryset:
            holds = [h for h in order.hold_reasons if h in REVIEWABLE_HOLDS]
            if not holds:
                continue
            try:
                result = order_hold_release(order_id=order.pk, reasons=holds, actor=request.user, note=reason)
            except ApplicationError as exc:
                self.message_user(request, format_html("{}: {}", order, exc), messages.ERROR)
                continue
            if isinstance(result, Order):
                released += 1
            else:
                self.message_user(
                    request,
                    format_html("{}: {}", order, _("above the limit — a second person must approve")),
                    messages.WARNING,
                )
        if released:
            self.message_user(request, _("%(count)d orders released.") % {"count": released}, messages.SUCCESS)

    def has_review_permission(self, request):
        return request.user.has_perm("orders.review_fraud")

    @reason_action(description=_("Hold the selected orders"), permissions=["review"])
    def hold_orders(self, request, queryset, reason):
        run_for_each(
            self,
            request,
            queryset,
            order_hold_add,
            id_kwarg="order_id",
            success=_("%(count)d orders held."),
            reason=HoldReason.MANUAL,
            actor=request.user,
            note=reason,
        )


class FulfilmentLineInline(ReadOnlyTabularInline):
    model = FulfilmentLine
    fields = ["order_line", "quantity", "quantity_shipped"]


class ShipmentInline(ReadOnlyTabularInline):
    model = Shipment
    fields = [
        "carrier",
        "tracking_code",
        "status",
        "shipped_at",
        "delivered_at",
        "weight_grams",
        "expected_weight_grams",
        "weight_flagged",
    ]


@admin.register(Fulfilment)
class FulfilmentAdmin(LargeTableAdminMixin, BackofficeModelAdmin):
    list_display = [
        "code",
        related_link("order", description=_("order")),
        "location",
        "status",
        "promised_ship_date",
        "sla_status",
        "released_at",
        "shipped_at",
    ]
    list_filter = ["status", "sla_status", "location"]
    search_fields = ["code", "order__number"]
    date_hierarchy = "created_at"
    list_select_related = ["order", "location"]
    show_full_result_count = False
    readonly_fields = [
        "code",
        "order",
        "location",
        "status",
        "promised_ship_date",
        "sla_status",
        "released_at",
        "picked_at",
        "packed_at",
        "shipped_at",
        "cancelled_at",
        "documents",
    ]
    inlines = [FulfilmentLineInline, ShipmentInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "<int:fulfilment_id>/document/<str:document>/",
                self.admin_site.admin_view(self.document_view),
                name="orders_fulfilment_document",
            ),
            *super().get_urls(),
        ]

    def document_view(self, request, fulfilment_id: int, document: str):
        from orders.documents import packing_slip_pdf, pick_list_pdf

        if not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        render = {"pick-list": pick_list_pdf, "packing-slip": packing_slip_pdf}.get(document)
        if render is None:
            return HttpResponse(status=404)
        return HttpResponse(render(fulfilment_id=fulfilment_id), content_type="application/pdf")

    @admin.display(description=_("documents"))
    def documents(self, obj):
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:orders_fulfilment_document", args=[obj.pk, "pick-list"]),
            _("pick list (PDF)"),
            reverse("admin:orders_fulfilment_document", args=[obj.pk, "packing-slip"]),
            _("packing slip (PDF)"),
        )


class ShipmentLineInline(ReadOnlyTabularInline):
    model = ShipmentLine
    fields = ["fulfilment_line", "quantity"]


@admin.register(Shipment)
class ShipmentAdmin(LargeTableAdminMixin, BackofficeModelAdmin):
    list_display = [
        "tracking_code",
        "carrier",
        related_link("fulfilment", description=_("fulfilment")),
        "status",
        "shipped_at",
        "delivered_at",
        "weight_grams",
        "expected_weight_grams",
        "weight_flagged",
    ]
    list_filter = ["carrier", "status", "weight_flagged"]
    search_fields = ["=tracking_code", "fulfilment__order__number"]
    date_hierarchy = "shipped_at"
    list_select_related = ["fulfilment"]
    show_full_result_count = False
    readonly_fields = [
        "fulfilment",
        "carrier",
        "tracking_code",
        "tracking_link",
        "status",
        "shipped_at",
        "delivered_at",
        "packed_by",
        "packed_by_label",
        "weight_grams",
        "expected_weight_grams",
        "weight_flagged",
        "postal_code",
        "country",
    ]
    exclude = ["tracking_url"]
    inlines = [ShipmentLineInline, *SHIPMENT_INLINES]  # the parcel's track & trace timeline and issues

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("tracking"))
    def tracking_link(self, obj):
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', obj.tracking_url, obj.tracking_url)


@admin.register(OrderInbox)
class OrderInboxAdmin(LargeTableAdminMixin, BackofficeModelAdmin):
    """Every post as it arrived. Rejected or failed posts can be processed again (after
    the cause was fixed, e.g. a missing product was added)."""

    list_display = [
        "received_at",
        "channel",
        "external_reference",
        "result",
        related_link("order", description=_("order")),
        "attempts",
        "processed_at",
    ]
    list_filter = ["result", "channel"]
    search_fields = ["external_reference", "request_id"]
    date_hierarchy = "received_at"
    list_select_related = ["channel", "order"]
    show_full_result_count = False
    readonly_fields = [
        "channel",
        "external_reference",
        "request_id",
        "result",
        "errors_pretty",
        "order",
        "attempts",
        "received_at",
        "processed_at",
        "body_pretty",
    ]
    exclude = ["body", "errors"]
    actions = ["reprocess"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("errors"))
    def errors_pretty(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.errors, indent=2, ensure_ascii=False))

    @admin.display(description=_("raw body"))
    def body_pretty(self, obj):
        try:
            text = json.dumps(json.loads(obj.body), indent=2, ensure_ascii=False)
        except ValueError:
            text = obj.body
        return format_html("<pre>{}</pre>", text)

    @admin.action(description=_("Process the selected posts again"), permissions=["reprocess"])
    def reprocess(self, request, queryset):
        from orders.api.intake import order_inbox_reprocess

        run_for_each(
            self,
            request,
            queryset,
            order_inbox_reprocess,
            id_kwarg="inbox_id",
            success=_("%(count)d posts processed; see their result."),
            actor=request.user,
        )

    def has_reprocess_permission(self, request):
        return request.user.has_perm("orders.reprocess_orderinbox")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(LargeTableAdminMixin, BackofficeModelAdmin):
    list_display = [
        "created_at",
        "channel",
        "event",
        related_link("order", description=_("order")),
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event", "channel"]
    search_fields = ["order__number"]
    date_hierarchy = "created_at"
    list_select_related = ["channel", "order"]
    show_full_result_count = False
    readonly_fields = [
        "channel",
        "order",
        "event",
        "payload",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    ]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Deliver the selected events again"), permissions=["change"])
    def redeliver(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset,
            webhook_redeliver,
            id_kwarg="delivery_id",
            success=_("%(count)d deliveries queued."),
            actor=request.user,
        )


class FraudBlockForm(forms.ModelForm):
    class Meta:
        model = FraudBlock
        fields = ["kind", "value", "reason"]

    def clean(self):
        data = super().clean()
        kind, value = data.get("kind"), (data.get("value") or "").strip()
        if kind == FraudBlock.Kind.EMAIL:
            data["value"] = value.lower()
        elif kind == FraudBlock.Kind.IBAN:
            data["value"] = value.replace(" ", "").upper()
        elif kind == FraudBlock.Kind.ADDRESS:
            parts = [p.strip() for p in value.split("|")]
            if len(parts) not in (3, 4):
                raise forms.ValidationError({"value": _("Write an address as COUNTRY|POSTCODE|NUMBER|ADDITION.")})
            data["value"] = address_key(
                country=parts[0],
                postal_code=parts[1],
                house_number=parts[2],
                house_number_addition=parts[3] if len(parts) == 4 else "",
            )
        return data


@admin.register(FraudBlock)
class FraudBlockAdmin(AuditedModelAdmin):
    form = FraudBlockForm
    list_display = ["kind", "value", "reason", "created_by", "created_at"]
    list_filter = ["kind"]
    search_fields = ["value", "reason"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
