import dataclasses

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from core.admin_utils import (
    AuditedModelAdmin,
    BackofficeTabularInline,
    admin_link,
    admin_links,
    reason_action,
    related_link,
    run_for_each,
)
from core.approvals import approval_pending_for
from customers.addresses import AddressInvalid, address_normalise
from customers.models import Address, Customer
from customers.selectors import customer_history
from customers.services import (
    ADDRESS_FIELDS,
    BLOCK_PERMISSION,
    CUSTOMER_EDITABLE_FIELDS,
    UNBLOCK_REQUEST_PERMISSIONS,
    address_create,
    address_delete,
    address_update,
    customer_block,
    customer_unblock,
    customer_update,
)

TIMELINE_ROWS = 50


class AddressForm(forms.ModelForm):
    """Checks and normalises like the address services do, so a mistake shows at its field."""

    class Meta:
        model = Address
        fields = ["customer", *ADDRESS_FIELDS]

    def clean(self):
        cleaned = super().clean()
        if any(name in self.errors for name in ADDRESS_FIELDS):
            return cleaned
        try:
            normalised = address_normalise(**{name: cleaned.get(name) or "" for name in ADDRESS_FIELDS})
        except AddressInvalid as exc:
            self.add_error(exc.attr if exc.attr in self.fields else None, str(exc))
            return cleaned
        cleaned.update(dataclasses.asdict(normalised))
        return cleaned


def _address_values(obj: Address, names) -> dict:
    return {name: getattr(obj, name) for name in names if name in ADDRESS_FIELDS}


class AddressInline(BackofficeTabularInline):
    model = Address
    form = AddressForm
    extra = 0
    fields = list(ADDRESS_FIELDS)
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(AuditedModelAdmin):
    list_display = [
        "email",
        "full_name",
        "company_name",
        related_link("channel", description=_("sales channel")),
        "type",
        "is_blocked",
        "created_at",
    ]
    list_filter = ["is_blocked", "type", "channel", "language"]
    search_fields = ["email", "first_name", "last_name", "company_name", "phone", "addresses__postal_code"]
    date_hierarchy = "created_at"
    list_select_related = ["channel"]
    protected_fields = ["is_blocked", "blocked_reason", "blocked_at"]
    readonly_fields = ["channel", "email", "created_at", "updated_at", "pending_approvals", "timeline"]
    fieldsets = [
        (None, {"fields": ["channel", "email", "type", "first_name", "last_name", "company_name", "vat_number"]}),
        (_("Contact"), {"fields": ["phone", "language"]}),
        (_("Block"), {"fields": ["is_blocked", "blocked_reason", "blocked_at", "pending_approvals"]}),
        (_("History"), {"fields": ["timeline", "created_at", "updated_at"]}),
    ]
    inlines = [AddressInline]
    show_full_result_count = False
    actions = ["block_customers", "request_unblock"]
    object_actions = ["block_customers", "request_unblock"]

    def has_add_permission(self, request):
        return False  # customers come in with their orders, matched by e-mail per channel

    def get_object_actions(self, request, obj):
        return ["request_unblock"] if obj.is_blocked else ["block_customers"]

    def has_block_permission(self, request):
        return request.user.has_perm(BLOCK_PERMISSION)

    def has_request_unblock_permission(self, request):
        return any(request.user.has_perm(p) for p in UNBLOCK_REQUEST_PERMISSIONS)

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, obj):
        return obj.full_name or "-"

    @admin.display(description=_("waiting for approval"))
    def pending_approvals(self, obj):
        return admin_links(approval_pending_for(obj))

    @admin.display(description=_("changes"))
    def timeline(self, obj):
        entries = customer_history(customer_id=obj.pk, limit=TIMELINE_ROWS)
        if not entries:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}: {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M"),
                    entry.model_label,
                    format_html('<a href="{}">{}</a>', entry.url, entry.object_repr)
                    if entry.url
                    else entry.object_repr,
                    entry.kind_label,
                    entry.actor,
                    format_html_join(
                        mark_safe("<br>"), "{}: {} → {}", ((c.field, c.old, c.new) for c in entry.changes)
                    ),
                )
                for entry in entries
            ),
        )
        return format_html(
            '<table class="timeline"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            _("when"),
            _("what"),
            _("action"),
            _("by"),
            _("before → after"),
            rows,
        )

    @reason_action(
        description=_("Block the selected customers"),
        permissions=["block"],
        label=_("Reason for the block"),
        help_text=_("Their new orders wait for review until a second person approves an unblock."),
    )
    def block_customers(self, request, queryset, reason):
        run_for_each(
            self,
            request,
            queryset,
            customer_block,
            id_kwarg="customer_id",
            success=_("%(count)d customers blocked."),
            reason=reason,
            actor=request.user,
        )

    @reason_action(
        description=_("Ask for an unblock (four eyes)"),
        permissions=["request_unblock"],
        label=_("Why should the block be lifted?"),
        help_text=_("A second person with the block permission decides in Approval requests."),
    )
    def request_unblock(self, request, queryset, reason):
        run_for_each(
            self,
            request,
            queryset,
            customer_unblock,
            id_kwarg="customer_id",
            success=_("%(count)d unblock requests are waiting for a second person."),
            reason=reason,
            actor=request.user,
        )

    def save_model(self, request, obj, form, change):
        changed = {name: form.cleaned_data[name] for name in form.changed_data if name in CUSTOMER_EDITABLE_FIELDS}
        if changed:
            customer_update(customer_id=obj.pk, actor=request.user, **changed)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Address:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for address in formset.deleted_objects:
            address_delete(address_id=address.pk, actor=request.user)
        for address, _changed in formset.changed_objects:
            # the form normalised the fields together ("7b" is number 7, addition B): send them all
            address_update(address_id=address.pk, actor=request.user, **_address_values(address, ADDRESS_FIELDS))
        for address in formset.new_objects:
            address_create(customer_id=form.instance.pk, actor=request.user, **_address_values(address, ADDRESS_FIELDS))
        return None


@admin.register(Address)
class AddressAdmin(AuditedModelAdmin):
    form = AddressForm
    list_display = ["__str__", related_link("customer", description=_("customer")), "postal_code", "city", "country"]
    list_filter = ["country"]
    search_fields = ["street", "postal_code", "city", "customer__email", "customer__last_name"]
    date_hierarchy = "created_at"
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["customer_link", "created_at", "updated_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["customer", *ADDRESS_FIELDS]
        return ["customer_link", *ADDRESS_FIELDS, "created_at", "updated_at"]

    @admin.display(description=_("customer"))
    def customer_link(self, obj):
        return admin_link(obj.customer)

    def save_model(self, request, obj, form, change):
        if change:
            address_update(address_id=obj.pk, actor=request.user, **_address_values(obj, ADDRESS_FIELDS))
        else:
            created = address_create(
                customer_id=obj.customer_id, actor=request.user, **_address_values(obj, ADDRESS_FIELDS)
            )
            obj.pk = created.pk

    def delete_model(self, request, obj):
        address_delete(address_id=obj.pk, actor=request.user)

    def delete_queryset(self, request, queryset):
        for address in queryset:
            address_delete(address_id=address.pk, actor=request.user)
