"""Staff screens of the payments app. Every action calls a service; money and status
fields are read-only; documents can only be looked at and downloaded.

- Payments (events inline; links to the order, its invoices, credit notes, refunds):
  ask the provider, send a payment link for the rest, refund, record money received
  by hand (four eyes).
- Invoices and credit notes: read-only, PDF download, a goodwill credit note.
- Refunds: proposals accepted, turned into store credit or dismissed; SEPA files.
- Bank statements: upload; the finance queue of lines left unmatched with
  suggestions and one-click matching.
- Clearing policies; finance reports and the journal export; the customer ledger on
  the customer page.
"""

import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin_utils import (
    AuditedModelAdmin,
    BackofficeModelAdmin,
    ReadOnlyTabularInline,
    admin_link,
    admin_link_to,
    changelist_link,
    reason_action,
    related_link,
    run_for_each,
    run_service,
)
from core.approvals import approval_pending_for
from core.exceptions import ApplicationError
from core.money import format_eur
from customers.models import Customer
from orders.models import Order
from payments.forms import (
    DaysForm,
    GoodwillForm,
    ManualMatchForm,
    ManualPaymentForm,
    PaymentLinkForm,
    PeriodForm,
    RefundForm,
    StatementUploadForm,
)
from payments.models import (
    BankMatch,
    BankStatementImport,
    BankStatementLine,
    ClearingPolicy,
    CreditNote,
    CreditNoteLine,
    FinanceReport,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentEvent,
    Refund,
    SepaBatch,
)
from payments.selectors.journal import journal_csv, journal_rows
from payments.selectors.ledger import customer_ledger
from payments.selectors.reports import PAID_NOT_SHIPPED_DAYS, paid_not_shipped, shipped_not_paid
from payments.services.clearing import clearing_policy_update
from payments.services.documents import credit_note_pdf, invoice_pdf
from payments.services.invoicing import credit_note_goodwill
from payments.services.payments import payment_link_create, payment_manual_request, payment_sync
from payments.services.refunds import (
    refund_cancel,
    refund_proposal_accept,
    refund_request,
    refund_retry,
    sepa_batch_create,
    sepa_batch_mark_sent,
)
from payments.services.statements import bank_line_dismiss, bank_line_match_manual, bank_statement_import
from payments.states import BANK_LINE_QUEUE_STATUSES, RefundMethod, RefundStatus


def _euro(amount) -> str:
    return format_eur(amount) if amount is not None else "-"


def _form_page(request, model_admin, *, title, form, original=None, intro="", submit_label=None, multipart=False):
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        "form": form,
        "original": original,
        "intro": intro,
        "submit_label": submit_label,
        "multipart": multipart,
    }
    return TemplateResponse(request, "admin/payments/form_page.html", context)


def _change_url(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


# --- clearing policies ------------------------------------------------------------------


@admin.register(ClearingPolicy)
class ClearingPolicyAdmin(AuditedModelAdmin):
    list_display = ["method", "rule", "note", "updated_at"]
    fields = ["method", "rule", "note", "updated_at"]
    readonly_fields = ["method", "updated_at"]

    def has_add_permission(self, request):
        return False  # one row per payment method, made by the migration

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        run_service(
            self,
            request,
            clearing_policy_update,
            method=obj.method,
            rule=form.cleaned_data["rule"],
            note=form.cleaned_data.get("note", ""),
            actor=request.user,
        )


# --- payments ---------------------------------------------------------------------------


class PaymentEventInline(ReadOnlyTabularInline):
    model = PaymentEvent
    fields = ["created_at", "kind", "from_status", "to_status", "amount", "actor_label", "data"]
    ordering = ["-created_at", "-id"]
    show_change_link = False


class PaymentRefundInline(ReadOnlyTabularInline):
    model = Refund
    fk_name = "payment"
    fields = ["created_at", "amount", "reason", "method", "status", "refunded_at"]


class BankMatchInline(ReadOnlyTabularInline):
    model = BankMatch
    fk_name = "payment"
    fields = ["line", "amount", "method", "actor_label", "created_at"]
    show_change_link = False


@admin.register(Payment)
class PaymentAdmin(AuditedModelAdmin):
    list_display = [
        "order_number",
        "kind",
        "method",
        "provider",
        "provider_id",
        "status",
        "amount",
        "paid_amount",
        "refunded_amount",
        "charged_back_amount",
        "created_at",
    ]
    list_filter = ["status", "kind", "method", "provider"]
    search_fields = ["order__number", "provider_id", "reference"]
    list_select_related = ["order"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [
        "order_link",
        "documents",
        "kind",
        "method",
        "provider",
        "provider_id",
        "provider_status",
        "reference",
        "currency",
        "checkout_url",
        "authorized_at",
        "paid_at",
        "expires_at",
        "last_synced_at",
        "pending_approvals",
        "created_at",
        "updated_at",
    ]
    fields = [
        "order_link",
        "documents",
        "kind",
        "method",
        "provider",
        "provider_id",
        "provider_status",
        "reference",
        "status",
        "currency",
        "amount",
        "authorized_amount",
        "paid_amount",
        "refunded_amount",
        "charged_back_amount",
        "checkout_url",
        "authorized_at",
        "paid_at",
        "expires_at",
        "last_synced_at",
        "pending_approvals",
        "created_at",
        "updated_at",
    ]
    inlines = [PaymentEventInline, PaymentRefundInline, BankMatchInline]
    actions = ["sync_with_provider", "send_payment_link"]
    object_actions = ["sync_with_provider", "send_payment_link"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # amounts and statuses change only through the services

    def has_sync_permission(self, request):
        return request.user.has_perm("payments.sync_payment")

    def has_send_link_permission(self, request):
        return request.user.has_perm("payments.send_payment_link")

    @admin.display(description=_("order"), ordering="order__number")
    def order_number(self, obj):
        return admin_link_to(Order, obj.order_id, obj.order.number)

    @admin.display(description=_("order"))
    def order_link(self, obj):
        return admin_link(obj.order)

    @admin.display(description=_("documents"))
    def documents(self, obj):
        links = [
            changelist_link(Invoice, gettext("invoices"), order__id__exact=obj.order_id),
            changelist_link(CreditNote, gettext("credit notes"), order__id__exact=obj.order_id),
            changelist_link(Refund, gettext("refunds"), order__id__exact=obj.order_id),
        ]
        for name, label in (
            ("payments_payment_refund", gettext("Refund…")),
            ("payments_payment_link", gettext("Payment link for the rest…")),
            ("payments_payment_manual", gettext("Money received by hand…")),
        ):
            links.append(
                format_html('<a class="button" href="{}">{}</a>', reverse(f"admin:{name}", args=[obj.pk]), label)
            )
        return format_html_join(" · ", "{}", ((link,) for link in links))

    @admin.display(description=_("waiting for approval"))
    def pending_approvals(self, obj):
        from core.admin_utils import admin_links

        return admin_links([*approval_pending_for(obj), *approval_pending_for(obj.order)])

    @admin.action(description=_("Ask the provider for the status"), permissions=["sync"])
    def sync_with_provider(self, request, queryset):
        done = 0
        for payment in queryset.exclude(provider="").exclude(provider_id=""):
            if (
                run_service(
                    self,
                    request,
                    payment_sync,
                    provider=payment.provider,
                    provider_id=payment.provider_id,
                    actor=request.user,
                )
                is not None
            ):
                done += 1
        self.message_user(request, gettext("%(count)d payments asked at their provider.") % {"count": done})

    @admin.action(description=_("Send a payment link for what is still due"), permissions=["send_link"])
    def send_payment_link(self, request, queryset):
        for order_id in sorted(set(queryset.values_list("order_id", flat=True))):
            payment = run_service(self, request, payment_link_create, order_id=order_id, actor=request.user)
            if payment is not None:
                self.message_user(
                    request,
                    format_html(
                        "{}: {} {}", payment.order.number, gettext("payment link sent"), payment.checkout_url or ""
                    ),
                    messages.SUCCESS,
                )

    def get_urls(self):
        return [
            path("<int:pk>/refund/", self.admin_site.admin_view(self.refund_view), name="payments_payment_refund"),
            path("<int:pk>/manual/", self.admin_site.admin_view(self.manual_view), name="payments_payment_manual"),
            path("<int:pk>/link/", self.admin_site.admin_view(self.link_view), name="payments_payment_link"),
            *super().get_urls(),
        ]

    def refund_view(self, request, pk: int):
        payment = get_object_or_404(Payment.objects.select_related("order"), pk=pk)
        if not request.user.has_perm("payments.request_refund"):
            raise PermissionDenied
        form = RefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result = refund_request(
                    payment_id=payment.pk,
                    amount=data["amount"],
                    reason=data["reason"],
                    method=data["method"] or None,
                    iban=data["iban"],
                    account_name=data["account_name"],
                    note=data["note"],
                    actor=request.user,
                )
            except ApplicationError as exc:
                form.add_error(None, str(exc))
            else:
                if isinstance(result, Refund):
                    self.message_user(request, gettext("The refund is on its way."), messages.SUCCESS)
                else:
                    self.message_user(
                        request, gettext("Above the limit: a second person must approve the refund."), messages.WARNING
                    )
                return HttpResponseRedirect(_change_url(payment))
        return _form_page(
            request,
            self,
            title=gettext("Refund from payment %(payment)s") % {"payment": payment},
            form=form,
            original=payment,
            intro=gettext("Paid %(paid)s, refunded %(refunded)s, charged back %(charged)s.")
            % {
                "paid": _euro(payment.paid_amount),
                "refunded": _euro(payment.refunded_amount),
                "charged": _euro(payment.charged_back_amount),
            },
        )

    def manual_view(self, request, pk: int):
        payment = get_object_or_404(Payment.objects.select_related("order"), pk=pk)
        if not request.user.has_perm("payments.request_manual_payment"):
            raise PermissionDenied
        form = ManualPaymentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                payment_manual_request(
                    order_id=payment.order_id,
                    amount=form.cleaned_data["amount"],
                    note=form.cleaned_data["note"],
                    actor=request.user,
                )
            except ApplicationError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(
                    request, gettext("A second person must approve before the money counts."), messages.WARNING
                )
                return HttpResponseRedirect(_change_url(payment))
        return _form_page(
            request,
            self,
            title=gettext("Money received by hand for order %(number)s") % {"number": payment.order.number},
            form=form,
            original=payment,
            intro=gettext("Without a bank line: a second person approves before it counts."),
        )

    def link_view(self, request, pk: int):
        payment = get_object_or_404(Payment.objects.select_related("order"), pk=pk)
        if not request.user.has_perm("payments.send_payment_link"):
            raise PermissionDenied
        form = PaymentLinkForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                link = payment_link_create(
                    order_id=payment.order_id, amount=form.cleaned_data["amount"], actor=request.user
                )
            except ApplicationError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, gettext("Payment link sent: %(url)s") % {"url": link.checkout_url})
                return HttpResponseRedirect(_change_url(link))
        return _form_page(request, self, title=gettext("Send a payment link"), form=form, original=payment)


# --- invoices and credit notes ----------------------------------------------------------


class InvoiceLineInline(ReadOnlyTabularInline):
    model = InvoiceLine
    fields = [
        "position",
        "sku",
        "description",
        "quantity",
        "unit_price_excl",
        "vat_rate",
        "net_amount",
        "vat_amount",
        "total_amount",
    ]
    show_change_link = False


class CreditNoteInline(ReadOnlyTabularInline):
    model = CreditNote
    fk_name = "invoice"
    fields = ["number", "issue_date", "reason", "total_amount"]


class _DocumentAdmin(AuditedModelAdmin):
    list_select_related = ["order", "customer"]
    date_hierarchy = "issue_date"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # issued documents are never edited

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("order"), ordering="order__number")
    def order_link(self, obj):
        return admin_link_to(Order, obj.order_id, obj.order_number)

    @admin.display(description=_("customer"))
    def customer_link(self, obj):
        return admin_link_to(Customer, obj.customer_id, obj.customer_name)


@admin.register(Invoice)
class InvoiceAdmin(_DocumentAdmin):
    list_display = ["number", "issue_date", "order_link", "customer_link", "total_amount", "due_date", "pdf_link"]
    list_filter = ["issue_date", "reverse_charge", "channel"]
    search_fields = ["number", "order_number", "customer_name", "customer_email", "payment_reference"]
    inlines = [InvoiceLineInline, CreditNoteInline]
    readonly_fields = [
        "number",
        "issue_date",
        "supply_date",
        "due_date",
        "order_link",
        "customer_link",
        "shipment",
        "customer_name",
        "customer_company",
        "customer_address",
        "customer_vat_number",
        "reverse_charge",
        "payment_reference",
        "vat_table",
        "net_amount",
        "vat_amount",
        "total_amount",
        "pdf_link",
        "goodwill_link",
    ]
    fields = readonly_fields

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:payments_invoice_pdf", args=[obj.pk]), gettext("PDF"))

    @admin.display(description=_("VAT per rate"))
    def vat_table(self, obj):
        return format_html_join(
            "", "<div>{}%: {} + {} = {}</div>", ((r["rate"], r["net"], r["vat"], r["total"]) for r in obj.vat_breakdown)
        )

    @admin.display(description=_("credit"))
    def goodwill_link(self, obj):
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:payments_invoice_goodwill", args=[obj.pk]),
            gettext("Goodwill credit note…"),
        )

    def get_urls(self):
        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="payments_invoice_pdf"),
            path(
                "<int:pk>/goodwill/", self.admin_site.admin_view(self.goodwill_view), name="payments_invoice_goodwill"
            ),
            *super().get_urls(),
        ]

    def pdf_view(self, request, pk: int):
        invoice = get_object_or_404(Invoice, pk=pk)
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
        return response

    def goodwill_view(self, request, pk: int):
        invoice = get_object_or_404(Invoice, pk=pk)
        if not request.user.has_perm("payments.issue_credit_note"):
            raise PermissionDenied
        form = GoodwillForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                credit_note = credit_note_goodwill(
                    invoice_id=invoice.pk, amount=data["amount"], note=data["note"], actor=request.user
                )
            except ApplicationError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(
                    request,
                    gettext("Credit note %(number)s issued.") % {"number": credit_note.number},
                    messages.SUCCESS,
                )
                if data["refund"]:
                    self._refund_goodwill(request, credit_note)
                return HttpResponseRedirect(_change_url(credit_note))
        return _form_page(
            request,
            self,
            title=gettext("Goodwill credit on invoice %(number)s") % {"number": invoice.number},
            form=form,
            original=invoice,
        )

    def _refund_goodwill(self, request, credit_note: CreditNote) -> None:
        payment = (
            Payment.objects.filter(order_id=credit_note.order_id, paid_amount__gt=0).order_by("-paid_amount").first()
        )
        if payment is None:
            self.message_user(request, gettext("Nothing was paid: the credit lowers what is owed."), messages.INFO)
            return
        proposal = Refund.objects.filter(order_id=credit_note.order_id, status=RefundStatus.PROPOSED).first()
        if proposal is None:
            return
        result = run_service(self, request, refund_proposal_accept, refund_id=proposal.pk, actor=request.user)
        if result is not None:
            self.message_user(request, gettext("Refund requested for the credit note."), messages.SUCCESS)


class CreditNoteLineInline(ReadOnlyTabularInline):
    model = CreditNoteLine
    fields = [
        "position",
        "sku",
        "description",
        "quantity",
        "unit_price_excl",
        "vat_rate",
        "net_amount",
        "vat_amount",
        "total_amount",
    ]
    show_change_link = False


@admin.register(CreditNote)
class CreditNoteAdmin(_DocumentAdmin):
    list_display = [
        "number",
        "issue_date",
        "invoice_number",
        "order_link",
        "customer_link",
        "reason",
        "total_amount",
        "pdf_link",
    ]
    list_filter = ["issue_date", "reason", "channel"]
    search_fields = ["number", "invoice_number", "order_number", "customer_name", "source_reference"]
    inlines = [CreditNoteLineInline]
    readonly_fields = [
        "number",
        "issue_date",
        "invoice_link",
        "invoice_date",
        "order_link",
        "customer_link",
        "reason",
        "note",
        "source_reference",
        "reverse_charge",
        "net_amount",
        "vat_amount",
        "total_amount",
        "pdf_link",
    ]
    fields = readonly_fields

    @admin.display(description=_("invoice"))
    def invoice_link(self, obj):
        return admin_link_to(Invoice, obj.invoice_id, obj.invoice_number)

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:payments_creditnote_pdf", args=[obj.pk]), gettext("PDF")
        )

    def get_urls(self):
        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="payments_creditnote_pdf"),
            *super().get_urls(),
        ]

    def pdf_view(self, request, pk: int):
        credit_note = get_object_or_404(CreditNote, pk=pk)
        if not self.has_view_permission(request, credit_note):
            raise PermissionDenied
        response = HttpResponse(credit_note_pdf(credit_note), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{credit_note.number}.pdf"'
        return response


# --- refunds ----------------------------------------------------------------------------


@admin.register(Refund)
class RefundAdmin(AuditedModelAdmin):
    list_display = [
        "created_at",
        related_link("order", description=_("order")),
        "amount",
        "reason",
        "method",
        "status",
        "refunded_at",
        "sepa_batch",
    ]
    list_filter = ["status", "reason", "method"]
    search_fields = ["order__number", "provider_refund_id", "end_to_end_id", "iban"]
    list_select_related = ["order", "sepa_batch"]
    date_hierarchy = "created_at"
    readonly_fields = [
        related_link("order", description=_("order")),
        related_link("payment", description=_("payment")),
        related_link("credit_note", description=_("credit note")),
        related_link("sepa_batch", description=_("SEPA file")),
        "reason",
        "method",
        "iban",
        "account_name",
        "end_to_end_id",
        "provider_refund_id",
        "provider_status",
        "requested_by",
        "approved_by",
        "note",
        "error",
        "refunded_at",
        "created_at",
    ]
    fields = [*readonly_fields[:4], "amount", "status", *readonly_fields[4:]]
    actions = ["accept_proposals", "as_store_credit", "dismiss", "retry"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_refund_permission(self, request):
        return request.user.has_perm("payments.request_refund")

    @admin.action(description=_("Refund what the selected proposals say"), permissions=["refund"])
    def accept_proposals(self, request, queryset):
        self._accept(request, queryset, method=None)

    @admin.action(description=_("Give the selected proposals as store credit"), permissions=["refund"])
    def as_store_credit(self, request, queryset):
        self._accept(request, queryset, method=RefundMethod.STORE_CREDIT)

    def _accept(self, request, queryset, method):
        for refund in queryset.filter(status=RefundStatus.PROPOSED):
            result = run_service(
                self, request, refund_proposal_accept, refund_id=refund.pk, actor=request.user, method=method
            )
            if result is not None and not isinstance(result, Refund):
                self.message_user(
                    request,
                    format_html("{}: {}", refund, gettext("above the limit — a second person must approve")),
                    messages.WARNING,
                )

    @reason_action(description=_("Dismiss or cancel the selected refunds"), permissions=["refund"])
    def dismiss(self, request, queryset, reason):
        run_for_each(
            self,
            request,
            queryset,
            refund_cancel,
            id_kwarg="refund_id",
            success=gettext("%(count)d refunds dismissed."),
            actor=request.user,
            note=reason,
        )

    @admin.action(description=_("Try failed refunds again"), permissions=["refund"])
    def retry(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset.filter(status=RefundStatus.FAILED),
            refund_retry,
            id_kwarg="refund_id",
            success=gettext("%(count)d refunds queued again."),
            actor=request.user,
        )


@admin.register(SepaBatch)
class SepaBatchAdmin(AuditedModelAdmin):
    list_display = [
        "message_id",
        "created_at",
        "execution_date",
        "transfer_count",
        "total_amount",
        "status",
        "download",
    ]
    list_filter = ["status"]
    readonly_fields = [
        "message_id",
        "execution_date",
        "transfer_count",
        "created_by",
        "sent_at",
        "download",
        "created_at",
    ]
    fields = [
        "message_id",
        "status",
        "execution_date",
        "transfer_count",
        "total_amount",
        "created_by",
        "sent_at",
        "download",
        "created_at",
    ]
    actions = ["mark_sent"]
    change_list_template = "admin/payments/sepabatch_changelist.html"

    class RefundInline(ReadOnlyTabularInline):
        model = Refund
        fk_name = "sepa_batch"
        fields = ["order", "amount", "account_name", "iban", "end_to_end_id", "status"]

    inlines = [RefundInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_mark_sent_permission(self, request):
        return request.user.has_perm("payments.mark_sepabatch_sent")

    @admin.display(description=_("file"))
    def download(self, obj):
        return format_html('<a href="{}">pain.001</a>', reverse("admin:payments_sepabatch_download", args=[obj.pk]))

    @admin.action(description=_("Mark as uploaded to the bank (refunds count as paid out)"), permissions=["mark_sent"])
    def mark_sent(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset,
            sepa_batch_mark_sent,
            id_kwarg="batch_id",
            success=gettext("%(count)d files marked as uploaded."),
            actor=request.user,
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_make_batch": request.user.has_perm("payments.add_sepabatch"),
            "make_batch_url": reverse("admin:payments_sepabatch_make"),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path("make/", self.admin_site.admin_view(self.make_view), name="payments_sepabatch_make"),
            path(
                "<int:pk>/download/", self.admin_site.admin_view(self.download_view), name="payments_sepabatch_download"
            ),
            *super().get_urls(),
        ]

    def make_view(self, request):
        if request.method != "POST" or not request.user.has_perm("payments.add_sepabatch"):
            raise PermissionDenied
        batch = run_service(self, request, sepa_batch_create, actor=request.user)
        if batch is not None:
            self.message_user(
                request,
                gettext("File %(id)s with %(count)d refunds made; download it and upload it at the bank.")
                % {"id": batch.message_id, "count": batch.transfer_count},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(_change_url(batch))
        return HttpResponseRedirect(reverse("admin:payments_sepabatch_changelist"))

    def download_view(self, request, pk: int):
        batch = get_object_or_404(SepaBatch, pk=pk)
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        response = HttpResponse(bytes(batch.xml), content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{batch.message_id}.xml"'
        return response


# --- bank statements and the finance queue ------------------------------------------------


class StatementLineInline(ReadOnlyTabularInline):
    model = BankStatementLine
    fields = ["booking_date", "amount", "counterparty_name", "structured_reference", "remittance_text", "status"]


@admin.register(BankStatementImport)
class BankStatementImportAdmin(BackofficeModelAdmin):
    list_display = [
        "filename",
        "created_at",
        "file_format",
        "account_iban",
        "entries_total",
        "entries_new",
        "entries_matched",
        "entries_for_finance",
        "actor_label",
    ]
    readonly_fields = [
        "filename",
        "sha256",
        "file_format",
        "account_iban",
        "statement_ids",
        "entries_total",
        "entries_new",
        "entries_matched",
        "entries_for_finance",
        "actor_label",
        "created_at",
    ]
    fields = readonly_fields
    inlines = [StatementLineInline]
    change_list_template = "admin/payments/statementimport_changelist.html"

    def has_add_permission(self, request):
        return False  # through the upload form

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_upload": request.user.has_perm("payments.add_bankstatementimport"),
            "upload_url": reverse("admin:payments_bankstatementimport_upload"),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="payments_bankstatementimport_upload"),
            *super().get_urls(),
        ]

    def upload_view(self, request):
        if not request.user.has_perm("payments.add_bankstatementimport"):
            raise PermissionDenied
        form = StatementUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = bank_statement_import(data=upload.read(), filename=upload.name, actor=request.user)
            except ApplicationError as exc:
                form.add_error("file", str(exc))
            else:
                if result.already_imported:
                    self.message_user(
                        request, gettext("This file was imported before; nothing changed."), messages.INFO
                    )
                else:
                    self.message_user(
                        request,
                        gettext("%(new)d new entries: %(matched)d matched, %(left)d left for the finance queue.")
                        % {"new": result.new_lines, "matched": len(result.matched), "left": len(result.left)},
                        messages.SUCCESS,
                    )
                return HttpResponseRedirect(_change_url(result.statement_import))
        return _form_page(
            request,
            self,
            title=gettext("Upload a bank statement"),
            form=form,
            multipart=True,
            submit_label=gettext("Import"),
            intro=gettext("Entries are booked once: uploading the same file again changes nothing."),
        )


class QueueFilter(admin.SimpleListFilter):
    title = _("finance queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("open", _("Waiting for finance")), ("all", _("All lines"))]

    def choices(self, changelist):
        value = self.value() or "open"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if (self.value() or "open") == "open":
            return queryset.filter(status__in=BANK_LINE_QUEUE_STATUSES, amount__gt=0)
        return queryset


class BankMatchForLineInline(ReadOnlyTabularInline):
    model = BankMatch
    fk_name = "line"
    fields = ["order", "amount", "method", "actor_label", "created_at"]


@admin.register(BankStatementLine)
class BankStatementLineAdmin(BackofficeModelAdmin):
    """The finance queue: lines that matched nothing (or not all), with suggestions to
    book with one click."""

    list_display = ["booking_date", "amount", "open", "counterparty_name", "what", "status", "suggested"]
    list_filter = [QueueFilter, "status", "booking_date"]
    search_fields = [
        "counterparty_name",
        "counterparty_iban",
        "remittance_text",
        "structured_reference",
        "end_to_end_id",
    ]
    date_hierarchy = "booking_date"
    show_full_result_count = False
    readonly_fields = [
        related_link("statement_import", description=_("import")),
        "booking_date",
        "value_date",
        "currency",
        "counterparty_name",
        "counterparty_iban",
        "structured_reference",
        "end_to_end_id",
        "remittance_text",
        "bank_reference",
        "is_reversal",
        "suggested",
        "match_by_hand",
        "raw_excerpt",
    ]
    fields = [
        readonly_fields[0],
        "booking_date",
        "value_date",
        "amount",
        "matched_amount",
        "status",
        *readonly_fields[3:],
    ]
    inlines = [BankMatchForLineInline]
    actions = ["set_aside"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("suggestions__order")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_match_permission(self, request):
        return request.user.has_perm("payments.match_bankstatementline")

    @admin.display(description=_("open"))
    def open(self, obj):
        return obj.open_amount

    @admin.display(description=_("reference / description"))
    def what(self, obj):
        return (obj.structured_reference or obj.remittance_text or obj.end_to_end_id)[:80]

    @admin.display(description=_("suggestions"))
    def suggested(self, obj):
        """One button per suggestion: it posts the page's form (with its CSRF token) to
        the match view, so one click books it."""
        if obj.status not in BANK_LINE_QUEUE_STATUSES:
            return "-"
        buttons = [
            format_html(
                '<button type="submit" class="button" formmethod="post" formaction="{}" title="{}">{} · {}</button>',
                reverse("admin:payments_bankstatementline_match", args=[obj.pk, s.order_id]),
                s.reason,
                s.order.number,
                _euro(obj.open_amount),
            )
            for s in obj.suggestions.all()
        ]
        return format_html_join(" ", "{}", ((b,) for b in buttons)) or "-"

    @admin.display(description=_("match by hand"))
    def match_by_hand(self, obj):
        if obj.status not in BANK_LINE_QUEUE_STATUSES or obj.amount <= 0:
            return "-"
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:payments_bankstatementline_match_form", args=[obj.pk]),
            gettext("Match to an order…"),
        )

    @reason_action(description=_("Set aside: not a customer payment"), permissions=["match"])
    def set_aside(self, request, queryset, reason):
        run_for_each(
            self,
            request,
            queryset,
            bank_line_dismiss,
            id_kwarg="line_id",
            success=gettext("%(count)d lines set aside."),
            actor=request.user,
            note=reason,
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/match/<int:order_id>/",
                self.admin_site.admin_view(self.match_view),
                name="payments_bankstatementline_match",
            ),
            path(
                "<int:pk>/match/",
                self.admin_site.admin_view(self.match_form_view),
                name="payments_bankstatementline_match_form",
            ),
            *super().get_urls(),
        ]

    def _back(self, request, line_id: int):
        referer = request.META.get("HTTP_REFERER", "")
        from django.utils.http import url_has_allowed_host_and_scheme

        if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
            return HttpResponseRedirect(referer)
        return HttpResponseRedirect(reverse("admin:payments_bankstatementline_change", args=[line_id]))

    def match_view(self, request, pk: int, order_id: int):
        if request.method != "POST" or not self.has_match_permission(request):
            raise PermissionDenied
        match = run_service(self, request, bank_line_match_manual, line_id=pk, order_id=order_id, actor=request.user)
        if match is not None:
            self.message_user(
                request,
                gettext("%(amount)s booked on order %(number)s.")
                % {"amount": _euro(match.amount), "number": match.order.number},
                messages.SUCCESS,
            )
        return self._back(request, pk)

    def match_form_view(self, request, pk: int):
        line = get_object_or_404(BankStatementLine, pk=pk)
        if not self.has_match_permission(request):
            raise PermissionDenied
        form = ManualMatchForm(request.POST or None, initial={"amount": line.open_amount})
        if request.method == "POST" and form.is_valid():
            order = Order.objects.filter(number=form.cleaned_data["order_number"].strip().upper()).first()
            if order is None:
                form.add_error("order_number", gettext("No order with this number."))
            else:
                try:
                    match = bank_line_match_manual(
                        line_id=line.pk, order_id=order.pk, amount=form.cleaned_data["amount"], actor=request.user
                    )
                except ApplicationError as exc:
                    form.add_error(None, str(exc))
                else:
                    self.message_user(
                        request,
                        gettext("%(amount)s booked on order %(number)s.")
                        % {"amount": _euro(match.amount), "number": order.number},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:payments_bankstatementline_changelist"))
        return _form_page(
            request,
            self,
            title=gettext("Match %(amount)s from %(name)s")
            % {"amount": _euro(line.open_amount), "name": line.counterparty_name},
            form=form,
            original=line,
            intro=line.remittance_text,
        )


# --- finance reports and the journal ------------------------------------------------------


@admin.register(FinanceReport)
class FinanceReportAdmin(admin.ModelAdmin):
    """The reports finance works from and the journal export (no list of its own)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _context(self, request, title: str) -> dict:
        return {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta}

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        reports = [
            (
                reverse("admin:payments_financereport_shipped_not_paid"),
                gettext("Shipped but not (fully) paid"),
                gettext("Invoiced orders whose invoices, less credit notes, are not covered by what came in."),
            ),
            (
                reverse("admin:payments_financereport_paid_not_shipped"),
                gettext("Paid but not shipped"),
                gettext("Paid orders with goods still to ship, paid longer ago than the rule's number of days."),
            ),
        ]
        if request.user.has_perm("payments.export_journal"):
            reports.append(
                (
                    reverse("admin:payments_financereport_journal"),
                    gettext("Journal export (CSV)"),
                    gettext("Sales per VAT rate, payments, refunds and credit notes of a period, for the accountant."),
                )
            )
        context = {**self._context(request, gettext("Finance reports")), "reports": reports}
        return TemplateResponse(request, "admin/payments/reports_index.html", context)

    def get_urls(self):
        return [
            path(
                "shipped-not-paid/",
                self.admin_site.admin_view(self.shipped_not_paid_view),
                name="payments_financereport_shipped_not_paid",
            ),
            path(
                "paid-not-shipped/",
                self.admin_site.admin_view(self.paid_not_shipped_view),
                name="payments_financereport_paid_not_shipped",
            ),
            path("journal/", self.admin_site.admin_view(self.journal_view), name="payments_financereport_journal"),
            *super().get_urls(),
        ]

    def _report(self, request, *, title, intro, headings, rows, summary, filter_form=None):
        context = {
            **self._context(request, title),
            "intro": intro,
            "headings": headings,
            "rows": rows,
            "summary": summary,
            "filter_form": filter_form,
        }
        return TemplateResponse(request, "admin/payments/report.html", context)

    def shipped_not_paid_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        orders = list(shipped_not_paid()[:500])
        today = timezone.localdate()
        rows = [
            (
                admin_link_to(Order, o.pk, o.number),
                o.get_payment_method_display(),
                admin_link_to(Customer, o.customer_id, str(o.customer)),
                o.first_invoiced_on,
                (today - o.first_invoiced_on).days,
                _euro(o.invoiced - o.credited),
                _euro(o.received),
                _euro(o.open_amount),
            )
            for o in orders
        ]
        total = sum((o.open_amount for o in orders), start=type(orders[0].open_amount)(0)) if orders else 0
        return self._report(
            request,
            title=gettext("Shipped but not (fully) paid"),
            intro=gettext("Orders with invoices (something shipped) not covered by what came in, oldest first."),
            headings=[
                gettext("order"),
                gettext("method"),
                gettext("customer"),
                gettext("first invoice"),
                gettext("days"),
                gettext("owed"),
                gettext("received"),
                gettext("open"),
            ],
            rows=rows,
            summary=gettext("%(count)d orders, %(total)s open") % {"count": len(rows), "total": _euro(total)},
        )

    def paid_not_shipped_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        from core.rules import rule_value

        form = DaysForm(request.GET or None, initial={"days": int(rule_value(PAID_NOT_SHIPPED_DAYS))})
        days = form.cleaned_data.get("days") if form.is_valid() else None
        orders = list(paid_not_shipped(days=days)[:500])
        now = timezone.now()
        rows = [
            (
                admin_link_to(Order, o.pk, o.number),
                o.get_status_display(),
                admin_link_to(Customer, o.customer_id, str(o.customer)),
                timezone.localtime(o.cleared_at).strftime("%Y-%m-%d %H:%M"),
                (now - o.cleared_at).days,
                o.promised_ship_date or "-",
                _euro(o.received),
            )
            for o in orders
        ]
        return self._report(
            request,
            title=gettext("Paid but not shipped"),
            intro=gettext("Orders paid and cleared longer ago than the number of days, with goods still to ship."),
            headings=[
                gettext("order"),
                gettext("status"),
                gettext("customer"),
                gettext("cleared at"),
                gettext("days"),
                gettext("promised ship date"),
                gettext("received"),
            ],
            rows=rows,
            summary=gettext("%(count)d orders") % {"count": len(rows)},
            filter_form=form,
        )

    def journal_view(self, request):
        if not request.user.has_perm("payments.export_journal"):
            raise PermissionDenied
        today = timezone.localdate()
        first = today.replace(day=1)
        last_month_end = first - datetime.timedelta(days=1)
        form = PeriodForm(
            request.POST or None, initial={"date_from": last_month_end.replace(day=1), "date_to": last_month_end}
        )
        if request.method == "POST" and form.is_valid():
            date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
            text = journal_csv(journal_rows(date_from=date_from, date_to=date_to))
            response = HttpResponse(text, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="journal-{date_from}-{date_to}.csv"'
            return response
        return _form_page(
            request,
            self,
            title=gettext("Journal export"),
            form=form,
            submit_label=gettext("Download CSV"),
            intro=gettext(
                "Sales per VAT rate (excl. VAT and VAT), payments, refunds and credit notes, one balanced entry each."
            ),
        )


# --- on other apps' pages: the order's payments and documents, the customer's ledger ------


class OrderPaymentInline(ReadOnlyTabularInline):
    model = Payment
    fk_name = "order"
    fields = [
        "kind",
        "method",
        "provider",
        "provider_id",
        "status",
        "amount",
        "paid_amount",
        "refunded_amount",
        "charged_back_amount",
    ]
    verbose_name_plural = _("payments")


class OrderInvoiceInline(ReadOnlyTabularInline):
    model = Invoice
    fk_name = "order"
    fields = ["number", "issue_date", "supply_date", "due_date", "total_amount"]
    verbose_name_plural = _("invoices")


class OrderCreditNoteInline(ReadOnlyTabularInline):
    model = CreditNote
    fk_name = "order"
    fields = ["number", "issue_date", "invoice_number", "reason", "total_amount"]
    verbose_name_plural = _("credit notes")


class OrderRefundInline(ReadOnlyTabularInline):
    model = Refund
    fk_name = "order"
    fields = ["created_at", "amount", "reason", "method", "status"]
    verbose_name_plural = _("refunds")


def _register_order_inlines() -> None:
    from orders import admin as orders_admin

    extra = getattr(orders_admin, "ORDER_ADMIN_EXTRA_INLINES", None)
    if extra is None:
        return
    for inline in (OrderPaymentInline, OrderInvoiceInline, OrderCreditNoteInline, OrderRefundInline):
        if inline not in extra:
            extra.append(inline)


_register_order_inlines()


def ledger_panel(customer_id: int):
    """The customer ledger as a small table for the customer page."""
    ledger = customer_ledger(customer_id=customer_id)
    buckets = format_html_join(
        "",
        "<tr><td>{}</td><td style='text-align:right'>{}</td></tr>",
        ((label, _euro(v)) for _k, label, v in ledger.bucket_rows()),
    )
    invoices = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td style='text-align:right'>{}</td><td style='text-align:right'>{}</td></tr>",
        (
            (admin_link_to(Invoice, i.invoice_id, i.number), i.due_date, i.days_overdue, _euro(i.open))
            for i in ledger.open_invoices
        ),
    )
    return format_html(
        "<table><tbody>"
        "<tr><th>{}</th><td style='text-align:right'>{}</td></tr>"
        "<tr><th>{}</th><td style='text-align:right'>{}</td></tr>"
        "<tr><th>{}</th><td style='text-align:right'>{}</td></tr>"
        "<tr><th>{}</th><td style='text-align:right'><strong>{}</strong></td></tr>"
        "<tr><th>{}</th><td style='text-align:right'>{}</td></tr>"
        "</tbody></table>"
        "<table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>"
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
        gettext("invoiced"),
        _euro(ledger.invoiced),
        gettext("paid (net)"),
        _euro(ledger.paid),
        gettext("credited"),
        _euro(ledger.credited),
        gettext("balance"),
        _euro(ledger.balance),
        gettext("paid ahead / unapplied"),
        _euro(ledger.unapplied),
        gettext("age (days past due)"),
        gettext("open"),
        buckets,
        gettext("open invoice"),
        gettext("due"),
        gettext("days overdue"),
        gettext("open"),
        invoices or format_html("<tr><td colspan='4'>{}</td></tr>", gettext("none")),
    )


def _register_customer_ledger() -> None:
    """The ledger on the customer page: the customers app's admin, extended (customers
    does not import payments)."""
    base = admin.site._registry.get(Customer)
    if base is None or getattr(base, "payments_ledger", False):
        return
    base_class = type(base)

    class CustomerWithLedgerAdmin(base_class):
        payments_ledger = True

        def get_readonly_fields(self, request, obj=None):
            return [*super().get_readonly_fields(request, obj), "customer_ledger"]

        def get_fieldsets(self, request, obj=None):
            fieldsets = list(super().get_fieldsets(request, obj))
            if obj is not None and request.user.has_perm("payments.view_invoice"):
                fieldsets.insert(1, (_("Ledger"), {"fields": ["customer_ledger"]}))
            return fieldsets

        @admin.display(description=_("ledger"))
        def customer_ledger(self, obj):
            return ledger_panel(obj.pk) if obj is not None and obj.pk else "-"

    admin.site.unregister(Customer)
    admin.site.register(Customer, CustomerWithLedgerAdmin)


_register_customer_ledger()
