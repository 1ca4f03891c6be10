from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _

from core.audit import audit_history
from core.exceptions import Conflict
from core.models import TimeStampedModel
from core.money import ZERO, MoneyField
from orders.states import PaymentMethod
from payments.providers.base import ProviderStatus
from payments.states import (
    BankLineStatus,
    ClearingRule,
    CreditEntryKind,
    CreditNoteReason,
    DocumentLineKind,
    MatchMethod,
    PaymentEventKind,
    PaymentKind,
    PaymentStatus,
    RefundMethod,
    RefundReason,
    RefundStatus,
)


class SimulatedProviderPayment(TimeStampedModel):
    """A payment at the built-in payment provider simulator: the provider's own record,
    not the shop's. It behaves like a Mollie payment (checkout page, statuses, refunds,
    captures, chargebacks, webhooks) so the whole payment flow runs without a real
    provider. Refunds, captures and chargebacks are kept as lists on the row, as the
    provider's API returns them."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("Payment")
        LINK = "link", _("Payment link")

    provider_id = models.CharField(_("provider id"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PAYMENT)
    status = models.CharField(_("status"), max_length=20, choices=ProviderStatus.choices, default=ProviderStatus.OPEN)
    amount = MoneyField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    amount_captured = MoneyField(_("amount captured"))
    amount_refunded = MoneyField(_("amount refunded"))
    amount_charged_back = MoneyField(_("amount charged back"))
    description = models.CharField(_("description"), max_length=255, blank=True)
    reference = models.CharField(_("payment reference"), max_length=64, blank=True)
    method = models.CharField(_("payment method"), max_length=20, blank=True)
    manual_capture = models.BooleanField(_("manual capture"), default=False)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    redirect_url = models.CharField(_("redirect URL"), max_length=2000, blank=True)
    webhook_url = models.CharField(_("webhook URL"), max_length=2000, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    authorized_at = models.DateTimeField(_("authorized at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    capture_before = models.DateTimeField(_("capture before"), null=True, blank=True)
    refunds = models.JSONField(_("refunds"), default=list, blank=True)
    captures = models.JSONField(_("captures"), default=list, blank=True)
    chargebacks = models.JSONField(_("chargebacks"), default=list, blank=True)
    history = models.JSONField(_("history"), default=list, blank=True)
    webhook_attempts = models.PositiveIntegerField(_("webhook attempts"), default=0)
    webhook_delivered_at = models.DateTimeField(_("webhook last delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("simulated provider payment")
        verbose_name_plural = _("simulated provider payments")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(status__in=["open", "pending"]),
                name="simpay_open_expiry_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(name="simpay_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="simpay_amounts_not_negative",
                condition=Q(amount_captured__gte=0, amount_refunded__gte=0, amount_charged_back__gte=0),
            ),
            models.CheckConstraint(name="simpay_captured_within_amount", condition=Q(amount_captured__lte=F("amount"))),
            models.CheckConstraint(
                name="simpay_refunds_within_captured",
                condition=Q(amount_refunded__lte=Round(F("amount_captured") - F("amount_charged_back"), 2)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id} ({self.status})"

    @property
    def requires_capture(self) -> bool:
        """Pay-later and manual-capture payments are authorised first, captured later."""
        return self.manual_capture or self.method == "pay_later"


# --- clearing -----------------------------------------------------------------------


class ClearingPolicy(TimeStampedModel):
    """When an order paid with a method is cleared (may ship). One row per payment
    method; staff change the rule in the admin (through payments.services.clearing)."""

    method = models.CharField(_("payment method"), max_length=20, choices=PaymentMethod.choices, unique=True)
    rule = models.CharField(_("clears"), max_length=20, choices=ClearingRule.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)

    history = audit_history(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("clearing policy")
        verbose_name_plural = _("clearing policies")
        ordering = ["method"]

    def __str__(self) -> str:
        return f"{self.get_method_display()}: {self.get_rule_display()}"


# --- payments -----------------------------------------------------------------------


class Payment(TimeStampedModel):
    """One way money comes in for an order: the payment as ordered (method, provider and
    provider reference from the shop), a payment link for the rest, bank transfers
    received, or a payment received by hand. Amounts move only through the services."""

    order = models.ForeignKey(
        "orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="payments"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=PaymentKind.choices, default=PaymentKind.INITIAL)
    method = models.CharField(_("payment method"), max_length=20, choices=PaymentMethod.choices)
    provider = models.CharField(_("provider"), max_length=40, blank=True)
    provider_id = models.CharField(_("provider reference"), max_length=128, blank=True, db_index=True)
    provider_status = models.CharField(_("status at the provider"), max_length=20, blank=True)
    reference = models.CharField(_("payment reference"), max_length=16, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.OPEN, db_index=True
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    amount = MoneyField(_("amount asked"))
    authorized_amount = MoneyField(_("authorized"))
    paid_amount = MoneyField(_("paid"))
    refunded_amount = MoneyField(_("refunded"))
    charged_back_amount = MoneyField(_("charged back"))
    checkout_url = models.URLField(_("checkout URL"), max_length=1000, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, blank=True)
    authorized_at = models.DateTimeField(_("authorized at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_synced_at = models.DateTimeField(_("last asked the provider at"), null=True, blank=True)

    history = audit_history(excluded_fields=["updated_at", "last_synced_at"])

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["order_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(kind="initial"), name="payment_one_initial_per_order"
            ),
            models.UniqueConstraint(fields=["order"], condition=Q(kind="bank"), name="payment_one_bank_per_order"),
            # Ids the back-office made itself (payment links) are unique at their provider;
            # a reference a shop sends may repeat by mistake and is resolved by payment_sync.
            models.UniqueConstraint(
                fields=["provider", "provider_id"],
                condition=~Q(kind="initial") & ~Q(provider_id=""),
                name="payment_unique_own_provider_id",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"], condition=~Q(idempotency_key=""), name="payment_unique_idempotency_key"
            ),
            models.CheckConstraint(
                name="payment_amounts_not_negative",
                condition=Q(
                    amount__gte=0,
                    authorized_amount__gte=0,
                    paid_amount__gte=0,
                    refunded_amount__gte=0,
                    charged_back_amount__gte=0,
                ),
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "provider_id"], name="payment_provider_idx"),
            models.Index(fields=["status", "created_at"], name="payment_status_created_idx"),
        ]
        permissions = [
            ("sync_payment", _("Can ask the provider for a payment's status")),
            ("send_payment_link", _("Can send a payment link for what is still due")),
            ("request_manual_payment", _("Can ask to record a payment received by hand")),
            ("approve_manual_payment", _("Can approve recording a payment received by hand")),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.get_kind_display()} {self.get_method_display()} ({self.status})"

    @property
    def net_amount_received(self):
        return self.paid_amount - self.refunded_amount - self.charged_back_amount


class PaymentEvent(models.Model):
    """Every change of a payment: who, when, from, to, how much. `key` makes a change
    that arrives twice (a replayed webhook, a re-imported statement) count once."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("kind"), max_length=30, choices=PaymentEventKind.choices, db_index=True)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=ZERO)
    key = models.CharField(_("idempotency key"), max_length=200, null=True, blank=True, unique=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("by (label)"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


# --- store credit -------------------------------------------------------------------


class CreditAccount(TimeStampedModel):
    """A customer's store credit; the balance moves with a conditional UPDATE and every
    movement is a CreditEntry."""

    customer = models.OneToOneField(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="credit_account"
    )
    balance_amount = MoneyField(_("balance"))

    class Meta:
        verbose_name = _("store credit account")
        verbose_name_plural = _("store credit accounts")
        constraints = [models.CheckConstraint(name="credit_balance_not_negative", condition=Q(balance_amount__gte=0))]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.balance_amount}"


class CreditEntry(models.Model):
    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("kind"), max_length=10, choices=CreditEntryKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, help_text=_("+ granted, − used"))
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    refund = models.ForeignKey("Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=255, blank=True)
    key = models.CharField(_("idempotency key"), max_length=200, null=True, blank=True, unique=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("by (label)"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("store credit entry")
        verbose_name_plural = _("store credit entries")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


# --- invoices and credit notes ------------------------------------------------------


class DocumentImmutable(Conflict):
    code = "document_immutable"


class ImmutableQuerySet(models.QuerySet):
    """Issued invoices and credit notes are never edited nor deleted (NL-RULES §3): a
    correction is a credit note. The database refuses it too (triggers, migration 0003)."""

    def update(self, **kwargs):
        raise DocumentImmutable(_("An issued document cannot be changed; issue a credit note."))

    def delete(self):
        raise DocumentImmutable(_("An issued document cannot be deleted."))

    _update = update


class ImmutableModel(models.Model):
    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise DocumentImmutable(_("An issued document cannot be changed; issue a credit note."))
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise DocumentImmutable(_("An issued document cannot be deleted."))


class DocumentCounter(models.Model):
    """The last number of a document series in a year. Locked and moved in the
    transaction that issues the document, so a rollback leaves no gap."""

    series = models.CharField(_("series"), max_length=20)
    year = models.PositiveSmallIntegerField(_("year"))
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("document number series")
        verbose_name_plural = _("document number series")
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="documentcounter_unique_series_year")]

    def __str__(self) -> str:
        return f"{self.series} {self.year}: {self.last_number}"


class _DocumentParties(ImmutableModel):
    """Seller and customer as they were when the document was issued."""

    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence"))
    order = models.ForeignKey("orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    channel = models.ForeignKey(
        "core.SalesChannel", verbose_name=_("sales channel"), on_delete=models.PROTECT, related_name="+"
    )
    issue_date = models.DateField(_("issue date"), db_index=True)
    language = models.CharField(_("language"), max_length=5, default="nl")
    seller = models.JSONField(_("seller"))
    customer_name = models.CharField(_("customer name"), max_length=200)
    customer_company = models.CharField(_("company name"), max_length=200, blank=True)
    customer_address = models.TextField(_("customer address"))
    customer_country = models.CharField(_("country"), max_length=2)
    customer_vat_number = models.CharField(_("customer VAT number"), max_length=20, blank=True)
    customer_email = models.EmailField(_("e-mail address"), blank=True)
    order_number = models.CharField(_("order number"), max_length=32)
    payment_reference = models.CharField(_("payment reference"), max_length=16, blank=True)
    reverse_charge = models.BooleanField(_("VAT reverse-charged"), default=False)
    net_amount = MoneyField(_("excl. VAT"))
    vat_amount = MoneyField(_("VAT"))
    total_amount = MoneyField(_("total"))
    vat_breakdown = models.JSONField(_("VAT per rate"), default=list)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        abstract = True


class Invoice(_DocumentParties):
    """What was shipped in one shipment, invoiced. Numbered without gaps per year
    (`2026-000045`); never edited: a correction is a credit note."""

    number = models.CharField(_("invoice number"), max_length=20, unique=True)
    order = models.ForeignKey(
        "orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="invoices"
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="invoices"
    )
    shipment = models.OneToOneField(
        "orders.Shipment",
        verbose_name=_("shipment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoice",
    )
    supply_date = models.DateField(_("date of supply"))
    due_date = models.DateField(_("due date"), db_index=True)

    history = audit_history()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="invoice_unique_year_sequence"),
            models.CheckConstraint(
                name="invoice_total_is_net_plus_vat",
                condition=Q(total_amount=Round(F("net_amount") + F("vat_amount"), 2)),
            ),
        ]
        indexes = [models.Index(fields=["channel", "number"], name="invoice_channel_number_idx")]
        permissions = [("issue_credit_note", _("Can issue credit notes"))]

    def __str__(self) -> str:
        return self.number


class InvoiceLine(ImmutableModel):
    """Units `first_unit + 1` … `first_unit + quantity` of an order line (or a share of
    the shipping cost), with the amounts allocated so that all invoice lines of an
    order line add up to the order line exactly."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField(_("line"))
    kind = models.CharField(_("kind"), max_length=10, choices=DocumentLineKind.choices)
    order_line = models.ForeignKey(
        "orders.OrderLine", null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    description = models.CharField(_("description"), max_length=255)
    quantity = models.PositiveIntegerField(_("quantity"))
    first_unit = models.PositiveIntegerField(_("units before"), default=0)
    unit_price = models.DecimalField(_("unit price (incl. VAT)"), max_digits=12, decimal_places=2)
    unit_price_excl = models.DecimalField(_("unit price (excl. VAT)"), max_digits=12, decimal_places=2)
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=5, decimal_places=2)
    net_amount = MoneyField(_("excl. VAT"))
    vat_amount = MoneyField(_("VAT"))
    total_amount = MoneyField(_("incl. VAT"))

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice_id", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="invoiceline_unique_position")]

    def __str__(self) -> str:
        return f"{self.description} × {self.quantity}"


class CreditNote(_DocumentParties):
    """A correction of one invoice: negative amounts, its own series (`CN2026-000012`),
    referring to the invoice's number and date. Never edited."""

    number = models.CharField(_("credit note number"), max_length=20, unique=True)
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="credit_notes"
    )
    order = models.ForeignKey(
        "orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="credit_notes"
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="credit_notes"
    )
    invoice_number = models.CharField(_("invoice number"), max_length=20)
    invoice_date = models.DateField(_("invoice date"))
    reason = models.CharField(_("reason"), max_length=20, choices=CreditNoteReason.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    source_reference = models.CharField(
        _("source"), max_length=64, blank=True, help_text=_("E.g. the return number this credit note is for.")
    )

    history = audit_history()

    class Meta:
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="creditnote_unique_year_sequence"),
            # negative; zero only for returned goods that were charged nothing
            models.CheckConstraint(name="creditnote_amounts_not_positive", condition=Q(total_amount__lte=0)),
            models.CheckConstraint(
                name="creditnote_total_is_net_plus_vat",
                condition=Q(total_amount=Round(F("net_amount") + F("vat_amount"), 2)),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(ImmutableModel):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField(_("line"))
    kind = models.CharField(_("kind"), max_length=10, choices=DocumentLineKind.choices)
    invoice_line = models.ForeignKey(
        InvoiceLine, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_lines"
    )
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    description = models.CharField(_("description"), max_length=255)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price_excl = models.DecimalField(_("unit price (excl. VAT)"), max_digits=12, decimal_places=2)
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=5, decimal_places=2)
    net_amount = MoneyField(_("excl. VAT"))
    vat_amount = MoneyField(_("VAT"))
    total_amount = MoneyField(_("incl. VAT"))

    class Meta:
        verbose_name = _("credit note line")
        verbose_name_plural = _("credit note lines")
        ordering = ["credit_note_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["credit_note", "position"], name="creditnoteline_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.description} × {self.quantity}"


class IssuedDocument(models.Model):
    """The PDF of an invoice or credit note as rendered once (kept, never re-rendered),
    and when it was mailed."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    number = models.CharField(_("number"), max_length=20)
    pdf = models.BinaryField(_("PDF"))
    sha256 = models.CharField(max_length=64)
    rendered_at = models.DateTimeField(_("rendered at"), auto_now_add=True)
    mailed_at = models.DateTimeField(_("mailed at"), null=True, blank=True)
    mailed_to = models.EmailField(_("mailed to"), blank=True)

    class Meta:
        verbose_name = _("issued document")
        verbose_name_plural = _("issued documents")
        constraints = [models.UniqueConstraint(fields=["kind", "number"], name="issueddocument_unique_number")]

    def __str__(self) -> str:
        return f"{self.kind} {self.number}"


# --- refunds ------------------------------------------------------------------------


class SepaBatch(TimeStampedModel):
    """A pain.001 credit transfer file with queued SEPA refunds, for upload at the bank."""

    class Status(models.TextChoices):
        CREATED = "created", _("Created, to upload")
        SENT = "sent", _("Uploaded to the bank")

    message_id = models.CharField(_("message id"), max_length=35, unique=True)
    execution_date = models.DateField(_("execution date"))
    xml = models.BinaryField(_("pain.001 file"))
    transfer_count = models.PositiveIntegerField(_("transfers"))
    total_amount = MoneyField(_("total"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.CREATED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(_("uploaded at"), null=True, blank=True)

    history = audit_history(excluded_fields=["updated_at", "xml"])

    class Meta:
        verbose_name = _("SEPA refund file")
        verbose_name_plural = _("SEPA refund files")
        ordering = ["-created_at"]
        permissions = [("mark_sepabatch_sent", _("Can mark a SEPA refund file as uploaded to the bank"))]

    def __str__(self) -> str:
        return self.message_id


class Refund(TimeStampedModel):
    """Money back to a customer from one payment: through the provider, a SEPA transfer
    or as store credit. Never more than was paid minus what was refunded (checked under
    the payment's lock); above a rule amount a second person approves."""

    order = models.ForeignKey("orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="refunds")
    amount = MoneyField(_("amount"))
    reason = models.CharField(_("reason"), max_length=20, choices=RefundReason.choices)
    method = models.CharField(_("refund method"), max_length=20, choices=RefundMethod.choices, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=RefundStatus.choices, default=RefundStatus.QUEUED, db_index=True
    )
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    account_name = models.CharField(_("account holder"), max_length=140, blank=True)
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=35, blank=True)
    provider_refund_id = models.CharField(_("provider refund id"), max_length=64, blank=True)
    provider_status = models.CharField(_("status at the provider"), max_length=20, blank=True)
    sepa_batch = models.ForeignKey(
        SepaBatch, verbose_name=_("SEPA file"), null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    credit_note = models.ForeignKey(
        CreditNote,
        verbose_name=_("credit note"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refunds",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    error = models.TextField(_("error"), blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    history = audit_history(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="refund_amount_positive", condition=Q(amount__gt=0)),
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="proposed"), name="refund_one_proposal_per_order"
            ),
        ]
        permissions = [
            ("request_refund", _("Can refund (above the limit a second person approves)")),
            ("approve_refund", _("Can approve refunds above the limit")),
        ]

    def __str__(self) -> str:
        return f"{self.amount} ({self.get_status_display()})"


# --- bank statements ----------------------------------------------------------------


class BankStatementImport(models.Model):
    """One uploaded CAMT.053 or MT940 file. The same file again is the same import."""

    filename = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("checksum"), max_length=64, unique=True)
    file_format = models.CharField(_("format"), max_length=10)
    account_iban = models.CharField(_("account"), max_length=40, blank=True)
    statement_ids = models.JSONField(_("statements"), default=list)
    entries_total = models.PositiveIntegerField(_("entries"), default=0)
    entries_new = models.PositiveIntegerField(_("new entries"), default=0)
    entries_matched = models.PositiveIntegerField(_("matched"), default=0)
    entries_for_finance = models.PositiveIntegerField(_("left for finance"), default=0)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("by (label)"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("bank statement import")
        verbose_name_plural = _("bank statement imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename


class BankStatementLine(models.Model):
    """One booked movement on the shop's account, booked at most once (dedupe_key)."""

    statement_import = models.ForeignKey(
        BankStatementImport, verbose_name=_("import"), on_delete=models.PROTECT, related_name="lines"
    )
    dedupe_key = models.CharField(max_length=64, unique=True)
    account_iban = models.CharField(_("account"), max_length=40, blank=True)
    statement_id = models.CharField(_("statement"), max_length=64, blank=True)
    booking_date = models.DateField(_("booking date"), db_index=True)
    value_date = models.DateField(_("value date"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    counterparty_name = models.CharField(_("counterparty"), max_length=200, blank=True)
    counterparty_iban = models.CharField(_("counterparty account"), max_length=40, blank=True, db_index=True)
    structured_reference = models.CharField(_("structured reference"), max_length=40, blank=True)
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=64, blank=True, db_index=True)
    remittance_text = models.TextField(_("description"), blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=64, blank=True)
    is_reversal = models.BooleanField(_("reversal"), default=False)
    raw_excerpt = models.TextField(_("as in the file"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=BankLineStatus.choices, default=BankLineStatus.UNMATCHED, db_index=True
    )
    matched_amount = MoneyField(_("matched"))
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("bank statement line")
        verbose_name_plural = _("bank statement lines")
        ordering = ["-booking_date", "-id"]
        indexes = [
            models.Index(
                fields=["booking_date"],
                condition=Q(status__in=["unmatched", "partly_matched"]),
                name="bankline_queue_idx",
            )
        ]
        permissions = [("match_bankstatementline", _("Can match bank statement lines to orders"))]

    def __str__(self) -> str:
        return f"{self.booking_date} {self.amount} {self.counterparty_name}".strip()

    @property
    def open_amount(self):
        return self.amount - self.matched_amount


class BankMatch(models.Model):
    """Part (or all) of a bank line booked to an order's payment."""

    line = models.ForeignKey(BankStatementLine, on_delete=models.PROTECT, related_name="matches")
    order = models.ForeignKey("orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="bank_matches"
    )
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = MoneyField(_("amount"))
    method = models.CharField(_("how"), max_length=30, choices=MatchMethod.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("by (label)"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("bank match")
        verbose_name_plural = _("bank matches")
        constraints = [
            models.UniqueConstraint(fields=["line", "order"], name="bankmatch_unique_line_order"),
            models.CheckConstraint(name="bankmatch_amount_positive", condition=Q(amount__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} → {self.order_id}: {self.amount}"


class BankMatchSuggestion(models.Model):
    """A possible match by amount and name: never booked by itself, one click for finance."""

    line = models.ForeignKey(BankStatementLine, on_delete=models.CASCADE, related_name="suggestions")
    order = models.ForeignKey("orders.Order", verbose_name=_("order"), on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField(_("score"))
    reason = models.CharField(_("why"), max_length=200)

    class Meta:
        verbose_name = _("match suggestion")
        verbose_name_plural = _("match suggestions")
        ordering = ["-score", "order_id"]
        constraints = [models.UniqueConstraint(fields=["line", "order"], name="bankmatchsuggestion_unique")]

    def __str__(self) -> str:
        return f"{self.line_id} ? {self.order_id} ({self.score})"


# --- finance screens ----------------------------------------------------------------


class FinanceReport(Invoice):
    """The finance reports and the journal export in the admin (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = _("finance report")
        verbose_name_plural = _("finance reports")
        default_permissions = ("view",)
        permissions = [("export_journal", _("Can export the accounting journal"))]
