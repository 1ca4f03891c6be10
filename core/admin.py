from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Count, Exists, OuterRef
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.admin_utils import (
    AuditedModelAdmin,
    BackofficeModelAdmin,
    ReadOnlyTabularInline,
    admin_link_to,
    changelist_link,
    related_link,
    run_for_each,
    run_service,
)
from core.approvals import (
    approval_actions,
    approval_carry_out,
    approval_decide,
    approval_requested_by,
    approval_visible_to,
    approval_waiting_for,
    approval_withdraw,
    can_carry_out,
    can_decide,
)
from core.models import ApiKey, ApprovalRequest, BusinessRule, ClosedDay, OutboxMessage, SalesChannel, User
from core.roles import ROLE_NAMES
from core.rules import rule_definitions
from core.services import api_key_revoke, business_rule_create
from core.twofactor import otp_devices_reset

admin.site.site_header = _("Backoffice")
admin.site.site_title = _("Backoffice")
admin.site.index_title = _("Management")


class StaffApiKeyInline(ReadOnlyTabularInline):
    model = ApiKey
    fk_name = "user"
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    verbose_name_plural = _("API keys of this staff user")


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    """Staff users. Only superusers change them; the history tab shows every change of
    roles, permissions and status, with who made it."""

    list_display = [
        "username",
        "email",
        "first_name",
        "last_name",
        "roles",
        "two_factor",
        "is_staff",
        "is_active",
        "is_superuser",
        "last_login",
    ]
    list_filter = ["is_staff", "is_active", "is_superuser", "groups"]
    date_hierarchy = "date_joined"
    inlines = [StaffApiKeyInline]
    actions = ["reset_two_factor"]

    def get_queryset(self, request):
        confirmed = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return super().get_queryset(request).prefetch_related("groups").annotate(has_totp=Exists(confirmed))

    @admin.display(description=_("roles"))
    def roles(self, obj):
        return ", ".join(group.name for group in obj.groups.all()) or "-"

    @admin.display(description=_("two-factor"), boolean=True, ordering="has_totp")
    def two_factor(self, obj):
        return obj.has_totp

    @admin.action(description=_("Reset two-factor authentication (lost phone)"), permissions=["reset_two_factor"])
    def reset_two_factor(self, request, queryset):
        for user in queryset:
            if run_service(self, request, otp_devices_reset, user_id=user.pk, actor=request.user) is not None:
                self.log_change(request, user, _("Two-factor authentication reset."))
                self.message_user(
                    request,
                    _("%(user)s sets up two-factor authentication again at the next login.") % {"user": user},
                    messages.SUCCESS,
                )

    def has_reset_two_factor_permission(self, request):
        return request.user.is_superuser


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AuditedModelAdmin, DjangoGroupAdmin):
    """The four role groups are defined in code (core/roles.py) and set after every
    migrate: read-only here. Other groups are possible; their changes are in the history."""

    list_display = ["name", "is_role", "member_count", "permission_count"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(members=Count("user", distinct=True), perms=Count("permissions", distinct=True))
        )

    @admin.display(description=_("role (from core/roles.py)"), boolean=True)
    def is_role(self, obj):
        return obj.name in ROLE_NAMES

    @admin.display(description=_("members"), ordering="members")
    def member_count(self, obj):
        return changelist_link(User, obj.members, groups__id__exact=obj.pk)

    @admin.display(description=_("permissions"), ordering="perms")
    def permission_count(self, obj):
        return obj.perms

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.name in ROLE_NAMES:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.name in ROLE_NAMES:
            return False
        return super().has_delete_permission(request, obj)


class ChannelApiKeyInline(ReadOnlyTabularInline):
    model = ApiKey
    fk_name = "channel"
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]


@admin.register(SalesChannel)
class SalesChannelAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "kind", "cutoff_time", "partial_shipments", "is_active", "customers"]
    list_filter = ["kind", "is_active", "partial_shipments"]
    search_fields = ["code", "name"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at", "customers"]
    inlines = [ChannelApiKeyInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request, obj=None):
        # The code is the channel's identity for integrators: fixed once made.
        readonly = super().get_readonly_fields(request, obj)
        return [*readonly, "code"] if obj else readonly

    @admin.display(description=_("customers"))
    def customers(self, obj):
        if obj.pk is None:
            return "-"
        return changelist_link(apps.get_model("customers", "Customer"), _("customers"), channel__id__exact=obj.pk)


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedModelAdmin):
    """Keys are made with `manage.py create_api_token` (the key is shown once there);
    here staff see them and revoke them."""

    list_display = [
        "name",
        "prefix",
        "kind",
        related_link("channel", description=_("sales channel")),
        related_link("location", description=_("location")),
        related_link("user", description=_("staff user")),
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["kind", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "channel__code", "location__code", "user__username"]
    date_hierarchy = "created_at"
    list_select_related = ["channel", "location", "user"]
    readonly_fields = [f.name for f in ApiKey._meta.fields if f.name != "key_hash"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset,
            api_key_revoke,
            id_kwarg="api_key_id",
            success=_("%(count)d keys revoked."),
            actor=request.user,
        )


@admin.register(ClosedDay)
class ClosedDayAdmin(AuditedModelAdmin):
    list_display = ["date", "purpose", "closed", "description"]
    list_filter = ["purpose", "closed"]
    search_fields = ["description"]
    date_hierarchy = "date"


@admin.register(OutboxMessage)
class OutboxMessageAdmin(BackofficeModelAdmin):
    list_display = ["id", "task_name", "created_at", "sent_at", "attempts"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), "task_name"]
    search_fields = ["task_name", "last_error"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ApprovalQueueFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("decide", _("Waiting for my decision")), ("mine", _("My requests"))]

    def queryset(self, request, queryset):
        if self.value() == "decide":
            return approval_waiting_for(user=request.user, qs=queryset)
        if self.value() == "mine":
            return approval_requested_by(user=request.user, qs=queryset)
        return queryset


class ApprovalActionFilter(admin.SimpleListFilter):
    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return sorted(((key, action.label) for key, action in approval_actions().items()), key=lambda kv: str(kv[1]))

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(BackofficeModelAdmin):
    """The queue of four-eyes approvals. Every staff member sees the kinds they may
    decide and their own requests; a decision is taken on the request's page and the
    action runs through its service when approved."""

    list_display = [
        "summary",
        "action_label",
        "amount",
        "subject_link",
        "requested_by",
        "requested_at",
        "status",
        "decided_by",
    ]
    list_filter = [ApprovalQueueFilter, "status", ApprovalActionFilter, ("decided_at", admin.DateFieldListFilter)]
    search_fields = ["summary", "reason", "requested_by__username", "decided_by__username"]
    date_hierarchy = "requested_at"
    list_select_related = ["requested_by", "decided_by", "subject_type"]
    readonly_fields = [
        "action_label",
        "summary",
        "reason",
        "amount",
        "subject_link",
        "payload",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "decision_note",
        "executed_at",
        "result",
        "error",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # decisions go through the decision buttons, never through edits

    def has_view_permission(self, request, obj=None):
        # every staff member sees what they may decide and what they asked for (get_queryset)
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def get_queryset(self, request):
        return approval_visible_to(user=request.user, qs=super().get_queryset(request))

    @admin.display(description=_("action"))
    def action_label(self, obj):
        action = approval_actions().get(obj.action)
        return action.label if action else obj.action

    @admin.display(description=_("concerns"))
    def subject_link(self, obj):
        if not obj.subject_type_id:
            return "-"
        model = obj.subject_type.model_class()
        text = f"{obj.subject_type.name} #{obj.subject_id}"
        return admin_link_to(model, obj.subject_id, text) if model else text

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        approval = self.get_object(request, object_id) if object_id else None
        if approval is not None and request.method == "POST":
            return self._decide(request, approval)
        extra_context = extra_context or {}
        if approval is not None:
            mine_and_pending = (
                approval.status == ApprovalRequest.Status.PENDING and approval.requested_by_id == request.user.pk
            )
            extra_context["can_decide"] = can_decide(approval=approval, user=request.user)
            extra_context["can_carry_out"] = can_carry_out(approval=approval, user=request.user)
            extra_context["can_withdraw"] = mine_and_pending
            if mine_and_pending:
                extra_context["decide_blocked_reason"] = _("A second person must decide on your own request.")
            extra_context["show_save"] = False
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _decide(self, request, approval):
        if "_withdraw" in request.POST:
            if run_service(self, request, approval_withdraw, approval_id=approval.pk, actor=request.user):
                self.message_user(request, _("Request withdrawn."), messages.SUCCESS)
        elif "_carry_out" in request.POST:
            result = run_service(self, request, approval_carry_out, approval_id=approval.pk, actor=request.user)
            if result is not None:
                self._report(request, result, approved=True)
        elif "_approve" in request.POST or "_reject" in request.POST:
            approve = "_approve" in request.POST
            result = run_service(
                self,
                request,
                approval_decide,
                approval_id=approval.pk,
                decided_by=request.user,
                approve=approve,
                note=request.POST.get("decision_note", ""),
            )
            if result is not None:
                self._report(request, result, approved=approve)
        return HttpResponseRedirect(request.path)

    def _report(self, request, approval, *, approved: bool):
        if approval.status == ApprovalRequest.Status.FAILED:
            self.message_user(
                request, _("Approved, but the action failed: %(error)s") % {"error": approval.error}, messages.ERROR
            )
        elif approved:
            self.message_user(request, _("Approved and carried out."), messages.SUCCESS)
        else:
            self.message_user(request, _("Request rejected."), messages.SUCCESS)


class BusinessRuleForm(forms.ModelForm):
    key = forms.ChoiceField(label=_("rule"))

    class Meta:
        model = BusinessRule
        fields = ["key", "value", "valid_from", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [
            (key, f"{rule.label} ({key})") for key, rule in sorted(rule_definitions().items())
        ]


@admin.register(BusinessRule)
class BusinessRuleAdmin(BackofficeModelAdmin):
    """Thresholds and amounts staff maintain. A change is a new dated row, so the value
    at any past moment stays known; rows are never edited."""

    form = BusinessRuleForm
    list_display = ["key", "rule_label", "value", "valid_from", "note", "created_by", "created_at"]
    list_filter = ["key"]
    search_fields = ["key", "note"]
    date_hierarchy = "valid_from"
    list_select_related = ["created_by"]

    def get_readonly_fields(self, request, obj=None):
        return ["key", "value", "valid_from", "note", "created_by", "created_at"] if obj else []

    @admin.display(description=_("meaning"))
    def rule_label(self, obj):
        rule = rule_definitions().get(obj.key)
        return rule.label if rule else "-"

    def save_model(self, request, obj, form, change):
        if not change:
            created = business_rule_create(
                key=obj.key, value=obj.value, valid_from=obj.valid_from, note=obj.note, actor=request.user
            )
            obj.pk = created.pk
