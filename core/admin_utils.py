"""The admin conventions every app follows.

    from core.admin_utils import AuditedModelAdmin, related_link, changelist_link, reason_action, run_for_each

    @admin.register(Payment)
    class PaymentAdmin(AuditedModelAdmin):          # history tab; money/status read-only
        list_display = ["reference", related_link("order", description=_("order")), "amount", "status"]
        list_select_related = ["order"]
        object_actions = ["mark_received"]          # also a button on the payment's page

        @reason_action(description=_("Mark as received by hand"), permissions=["change"])
        def mark_received(self, request, queryset, reason):
            run_for_each(self, request, queryset, payment_mark_received, id_kwarg="payment_id",
                         success=_("%(count)d payments marked."), reason=reason, actor=request.user)

- `BackofficeModelAdmin` / `AuditedModelAdmin` (with the history tab) and the inlines
  `BackofficeTabularInline`, `BackofficeStackedInline`, `ReadOnlyTabularInline`: money
  fields (`amount`, `*_amount`) and status fields (`status`, `*_status`) plus the
  admin's `protected_fields` are read-only in every form, also when adding; a system
  check refuses them in `list_editable`.
- `admin_link(obj)`, `related_link("order")`, `changelist_link(Model, text, **filters)`:
  links across (order ↔ payments ↔ invoices ↔ returns ↔ contacts). A link is shown only
  to a user who may view the target; others see the plain name.
- `run_service(...)`, `run_for_each(...)`: call a service from an action or view; an
  `ApplicationError` becomes an error message, nothing is half-done.
- `reason_action(...)`: an action that first asks why (an intermediate page), for
  blocks, write-offs, refunds. `object_actions` puts actions on the change page.
"""

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core import checks
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from core.audit import display_value
from core.exceptions import ApplicationError

# --- read-only money and status ---------------------------------------------------------


def is_protected_field(model_field) -> bool:
    """Money and status: written only by services, never typed into a form."""
    name = model_field.name
    if name == "status" or name.endswith("_status"):
        return True
    return isinstance(model_field, models.DecimalField) and (name == "amount" or name.endswith("_amount"))


class ProtectedFieldsMixin:
    """Makes money and status fields, and the admin's `protected_fields`, read-only."""

    protected_fields: Iterable[str] = ()

    def get_protected_fields(self, request=None, obj=None) -> list[str]:
        found = [f.name for f in self.model._meta.fields if is_protected_field(f)]
        return [*found, *(name for name in self.protected_fields if name not in found)]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly + [name for name in self.get_protected_fields(request, obj) if name not in readonly]

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        editable = set(getattr(self, "list_editable", ()) or ())
        wrong = sorted(editable & set(self.get_protected_fields()))
        if wrong:
            errors.append(
                checks.Error(
                    f"{', '.join(wrong)}: money and status fields may not be in list_editable.",
                    obj=self.__class__,
                    id="core.E001",
                )
            )
        return errors


# --- the request, for permission-aware links --------------------------------------------

_request_var: contextvars.ContextVar = contextvars.ContextVar("admin_request", default=None)


@contextlib.contextmanager
def _rendering_for(request):
    token = _request_var.set(request)
    try:
        yield
    finally:
        _request_var.reset(token)


def _render_now(request, view, *args, **kwargs):
    """Run an admin view and render its template while the request is known, so the
    link helpers can ask what the user may see."""
    with _rendering_for(request):
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
    return response


class BackofficeAdminMixin(ProtectedFieldsMixin):
    """The base of every staff screen: protected fields, permission-aware links, and
    `object_actions` (names of this admin's actions) as buttons on the change page."""

    object_actions: Iterable[str] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.object_actions and not self.change_form_template:
            self.change_form_template = "admin/core/object_actions_change_form.html"

    def changelist_view(self, request, extra_context=None):
        return _render_now(request, super().changelist_view, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return _render_now(request, super().changeform_view, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        return _render_now(request, super().history_view, object_id, extra_context)

    def get_object_actions(self, request, obj) -> list[str]:
        """The action buttons for this object's page (override to hide what does not
        apply to the object's state); the user's permissions filter them further."""
        return list(self.object_actions)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.object_actions:
            available = self.get_actions(request)
            context["object_actions"] = [
                (name, available[name][2]) for name in self.get_object_actions(request, obj) if name in available
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)


class BackofficeModelAdmin(BackofficeAdminMixin, admin.ModelAdmin):
    pass


class _AuditRecordHelper(HistoricalRecordContextHelper):
    """Before/after values on the history tab as people read them (Ja/Nee, choice labels,
    local times) instead of raw database values."""

    def prepare_delta_change_value(self, change, value):
        model_field = self.model._meta.get_field(change.field)
        if model_field.many_to_many:
            return super().prepare_delta_change_value(change, value)
        if isinstance(model_field, models.ForeignKey):
            return "—" if value is None else str(value)
        return display_value(model_field, value)


class AuditedModelAdmin(BackofficeAdminMixin, SimpleHistoryAdmin):
    """With the history tab: every change with its before/after and who made it (a user
    or a label such as `channel:webshop-nl`). Reverting is switched off in settings: a
    change goes through a service, never back through history."""

    object_history_template = "admin/core/object_history.html"
    object_history_list_template = "admin/core/history_list.html"
    object_history_form_template = "admin/core/object_history_form.html"
    history_list_per_page = 50

    def get_historical_record_context_helper(self, request, historical_record):
        return _AuditRecordHelper(self.model, historical_record)

    def history_view_title(self, request, obj):
        return _("History of %(object)s") % {"object": obj}

    def history_form_view_title(self, request, obj):
        return _("%(object)s as it was") % {"object": obj}

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":  # an old version is for reading; reverting is off
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class BackofficeTabularInline(ProtectedFieldsMixin, admin.TabularInline):
    pass


class BackofficeStackedInline(ProtectedFieldsMixin, admin.StackedInline):
    pass


class ReadOnlyTabularInline(admin.TabularInline):
    """Related rows shown on a page, each linking to its own page; nothing editable."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return [*self.get_fields(request, obj)]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- links across -------------------------------------------------------------------------


def _model_admin(model):
    return admin.site._registry.get(model)


def admin_url(obj) -> str:
    """The admin change page of `obj` ("" when the model has no admin)."""
    opts = obj._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""


def _may_view(model, obj=None) -> bool:
    request = _request_var.get()
    if request is None:
        return True
    model_admin = _model_admin(model)
    return model_admin is not None and model_admin.has_view_or_change_permission(request, obj)


def admin_link(obj, text=None):
    """A link to `obj`'s admin page, or its plain name for a user who may not see it."""
    if obj is None:
        return "-"
    label = str(obj) if text is None else text
    url = admin_url(obj)
    if not url or not _may_view(type(obj), obj):
        return label
    return format_html('<a href="{}">{}</a>', url, label)


def admin_link_to(model, pk, text):
    """A link to the admin page of `model` #`pk` without loading it (for list columns)."""
    opts = model._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
    except NoReverseMatch:
        return text
    if not _may_view(model):
        return text
    return format_html('<a href="{}">{}</a>', url, text)


def admin_links(objs: Iterable, sep: str = ", "):
    return format_html_join(sep, "{}", ((admin_link(obj),) for obj in objs)) or "-"


def related_link(path: str, *, description, ordering: str | None = None) -> Callable:
    """A list or page column that links to the related object at `path`
    (`"order"`, `"order__customer"`); put the path in `list_select_related`."""

    def display(obj):
        target = obj
        for part in path.split("__"):
            target = getattr(target, part, None)
            if target is None:
                return "-"
        return admin_link(target)

    display.short_description = description
    display.admin_order_field = ordering or path
    display.__name__ = f"link_{path}"
    return display


def changelist_link(model, text, **filters):
    """A link to `model`'s list filtered by `filters` (`order__id__exact=5`)."""
    opts = model._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    except NoReverseMatch:
        return text
    if not _may_view(model):
        return text
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(filters), text)


# --- services from admin actions ----------------------------------------------------------


def run_service(model_admin, request, service: Callable, /, *, success: str | None = None, **kwargs):
    """Call a service; an ApplicationError becomes an error message. Returns the
    service's result, or None when it refused."""
    try:
        result = service(**kwargs)
    except ApplicationError as exc:
        model_admin.message_user(request, str(exc), messages.ERROR)
        return None
    if success:
        model_admin.message_user(request, success, messages.SUCCESS)
    return result


def run_for_each(model_admin, request, queryset, service: Callable, /, *, id_kwarg: str, success: str, **kwargs) -> int:
    """Call `service(<id_kwarg>=obj.pk, **kwargs)` for each selected object, each in its
    own transaction (the service's). Reports how many succeeded (`success` takes
    `%(count)d`) and each refusal with the object's name. Returns the successes."""
    done = 0
    for obj in queryset:
        try:
            service(**{id_kwarg: obj.pk}, **kwargs)
        except ApplicationError as exc:
            model_admin.message_user(request, format_html("{}: {}", obj, exc), messages.ERROR)
        else:
            done += 1
    if done:
        model_admin.message_user(request, success % {"count": done}, messages.SUCCESS)
    return done


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=255)

    def __init__(self, *args, label=None, help_text=None, **kwargs):
        super().__init__(*args, **kwargs)
        if label:
            self.fields["reason"].label = label
        if help_text:
            self.fields["reason"].help_text = help_text


def _next_url(request) -> str | None:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return None


def reason_action(*, description, permissions: list[str] | None = None, label=None, help_text=None):
    """An admin action that asks for a reason first. The decorated function is called
    as `func(model_admin, request, queryset, reason)` once the user confirmed."""

    def decorator(func):
        @admin.action(description=description, permissions=permissions)
        @functools.wraps(func)
        def action(model_admin, request, queryset):
            confirmed = "_confirm" in request.POST
            form = ReasonForm(request.POST if confirmed else None, label=label, help_text=help_text)
            if confirmed and form.is_valid():
                func(model_admin, request, queryset, form.cleaned_data["reason"])
                target = _next_url(request)
                return HttpResponseRedirect(target) if target else None
            opts = model_admin.model._meta
            context = {
                **model_admin.admin_site.each_context(request),
                "title": description,
                "subtitle": None,
                "objects": list(queryset),
                "form": form,
                "action_name": func.__name__,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": opts,
                "app_label": opts.app_label,
                "next": _next_url(request) or "",
                "media": model_admin.media,
            }
            return TemplateResponse(request, "admin/core/reason_action.html", context)

        return action

    return decorator
