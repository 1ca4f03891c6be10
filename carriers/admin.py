"""Staff screens of track & trace: what the carriers said (events), the watch list
(tracking issues), and the inlines on orders' shipment page (the parcel's timeline)."""

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from carriers.models import ShipmentEvent, ShipmentNotification, ShipmentTracking, TrackingIssue
from carriers.registry import CARRIER_NAMES, carrier_choices
from carriers.services.tracking import shipment_tracking_resume
from carriers.services.watch import RESOLVE_PERMISSION, tracking_issue_resolve
from core.admin_utils import (
    AuditedModelAdmin,
    BackofficeModelAdmin,
    ReadOnlyTabularInline,
    reason_action,
    related_link,
    run_for_each,
    run_service,
)


class CarrierFilter(admin.SimpleListFilter):
    title = _("carrier")
    parameter_name = "carrier"

    def lookups(self, request, model_admin):
        return carrier_choices()

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(shipment__carrier=self.value())
        return queryset


class IssueStateFilter(admin.SimpleListFilter):
    """Open issues unless asked otherwise: the watch list is a work list."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", _("Open")), ("resolved", _("Resolved")), ("all", _("All"))]

    def choices(self, changelist):
        current = self.value() or "open"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or "open"
        if value == "open":
            return queryset.filter(resolved_at__isnull=True)
        if value == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


def _carrier_name(code: str) -> str:
    return str(CARRIER_NAMES.get(code, code))


def _pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False, default=str))


# --- on the shipment's page (orders' ShipmentAdmin) -------------------------------------


class ShipmentTrackingInline(ReadOnlyTabularInline):
    model = ShipmentTracking
    verbose_name_plural = _("polling")
    fields = ["started_at", "next_poll_at", "last_polled_at", "last_event_at", "attempts", "stopped_at", "stop_reason"]
    show_change_link = False


class ShipmentEventInline(ReadOnlyTabularInline):
    model = ShipmentEvent
    verbose_name_plural = _("track & trace timeline")
    fields = ["occurred_at", "status", "carrier_status_code", "description", "location", "recorded_at"]
    ordering = ["-occurred_at", "-id"]
    show_change_link = False


class TrackingIssueInline(ReadOnlyTabularInline):
    model = TrackingIssue
    fields = ["opened_at", "kind", "resolved_at", "resolution", "resolved_by", "note"]
    ordering = ["-opened_at", "-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("resolved_by")


class ShipmentNotificationInline(ReadOnlyTabularInline):
    model = ShipmentNotification
    verbose_name_plural = _("mails to the customer")
    fields = ["kind", "sent_at", "recipient", "language"]
    show_change_link = False


SHIPMENT_INLINES = [ShipmentTrackingInline, ShipmentEventInline, TrackingIssueInline, ShipmentNotificationInline]


# --- events -------------------------------------------------------------------------------


@admin.register(ShipmentEvent)
class ShipmentEventAdmin(BackofficeModelAdmin):
    list_display = [
        "occurred_at",
        related_link("shipment", description=_("shipment")),
        "carrier",
        "status",
        "carrier_status_code",
        "description",
        "location",
        "recorded_at",
    ]
    list_filter = [CarrierFilter, "status"]
    search_fields = ["=shipment__tracking_code"]
    search_help_text = _("Tracking code (exact).")
    list_select_related = ["shipment"]
    show_full_result_count = False
    fields = [
        "shipment",
        "status",
        "occurred_at",
        "carrier_status_code",
        "description",
        "location",
        "key",
        "recorded_at",
        "raw_pretty",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("carrier"), ordering="shipment__carrier")
    def carrier(self, obj):
        return _carrier_name(obj.shipment.carrier)

    @admin.display(description=_("as the carrier sent it"))
    def raw_pretty(self, obj):
        return _pretty_json(obj.raw)


# --- the watch list -----------------------------------------------------------------------


@admin.register(TrackingIssue)
class TrackingIssueAdmin(AuditedModelAdmin):
    list_display = [
        "opened_at",
        "kind",
        related_link("shipment", description=_("shipment")),
        related_link("shipment__fulfilment__order", description=_("order")),
        "carrier",
        "shipment_status",
        "resolved_at",
        "resolution",
        "resolved_by",
    ]
    list_filter = [IssueStateFilter, "kind", CarrierFilter]
    search_fields = ["=shipment__tracking_code", "=shipment__fulfilment__order__number"]
    search_help_text = _("Tracking code or order number (exact).")
    list_select_related = ["shipment__fulfilment__order", "resolved_by"]
    show_full_result_count = False
    date_hierarchy = "opened_at"
    fields = [
        "shipment",
        "order_link",
        "kind",
        "opened_at",
        "detail_pretty",
        "resolved_at",
        "resolution",
        "resolved_by",
        "note",
    ]
    readonly_fields = fields
    actions = ["resolve", "track_again"]
    object_actions = ["resolve", "track_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resolve_permission(self, request):
        return request.user.has_perm(RESOLVE_PERMISSION)

    @admin.display(description=_("carrier"), ordering="shipment__carrier")
    def carrier(self, obj):
        return _carrier_name(obj.shipment.carrier)

    @admin.display(description=_("parcel status"), ordering="shipment__status")
    def shipment_status(self, obj):
        return obj.shipment.get_status_display()

    @admin.display(description=_("order"))
    def order_link(self, obj):
        return related_link("shipment__fulfilment__order", description=_("order"))(obj)

    @admin.display(description=_("details"))
    def detail_pretty(self, obj):
        return _pretty_json(obj.detail)

    @reason_action(
        description=_("Resolve the selected issues"),
        permissions=["resolve"],
        label=_("What was done"),
        help_text=_("E.g. claim filed with the carrier, new parcel sent, customer refunded."),
    )
    def resolve(self, request, queryset, reason):
        run_for_each(
            self,
            request,
            queryset.filter(resolved_at__isnull=True),
            tracking_issue_resolve,
            id_kwarg="issue_id",
            success=_("%(count)d issues resolved."),
            actor=request.user,
            note=reason,
        )

    @admin.action(description=_("Track the parcels of the selected issues again"), permissions=["resolve"])
    def track_again(self, request, queryset):
        resumed = 0
        for issue in queryset.select_related("shipment"):
            if run_service(self, request, shipment_tracking_resume, shipment_id=issue.shipment_id, actor=request.user):
                resumed += 1
        if resumed:
            self.message_user(request, _("%(count)d parcels are tracked again.") % {"count": resumed})
