"""Statuses, kinds and the allowed transitions of the payments app: simulated provider
payments (the simulator moves like Mollie: open → pending / authorized → paid, or
failed, expired, cancelled), the shop's own payments, refunds, bank statement lines and
documents. Only services assign a status."""

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.exceptions import InvalidTransition
from payments.providers.base import ProviderStatus

S = ProviderStatus

SIMULATED_PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.PENDING, S.AUTHORIZED, S.PAID, S.FAILED, S.EXPIRED, S.CANCELLED}),
    S.PENDING: frozenset({S.AUTHORIZED, S.PAID, S.FAILED, S.EXPIRED, S.CANCELLED}),
    S.AUTHORIZED: frozenset({S.PAID, S.EXPIRED, S.CANCELLED}),
    S.PAID: frozenset(),
    S.FAILED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
}


def simulated_payment_ensure_transition(current: str, target: str) -> None:
    if target not in SIMULATED_PAYMENT_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(
            gettext("A payment that is %(current)s cannot become %(target)s.")
            % {"current": S(current).label, "target": S(target).label},
            extra={"from": str(current), "to": str(target)},
        )


# --- the shop's own payment records -------------------------------------------------


class PaymentStatus(models.TextChoices):
    """A payment as the shop records it (DOMAIN: open → pending / authorized → paid, or
    failed, expired, cancelled; charged_back and refunded / partially_refunded after)."""

    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    AUTHORIZED = "authorized", _("Authorized")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    CHARGED_BACK = "charged_back", _("Charged back")
    REFUNDED = "refunded", _("Refunded")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")


class PaymentKind(models.TextChoices):
    INITIAL = "initial", _("As ordered")
    LINK = "link", _("Payment link")
    BANK = "bank", _("Bank transfer received")
    MANUAL = "manual", _("Received by hand")


class ClearingRule(models.TextChoices):
    """When an order paid with a method may ship."""

    PROVIDER_PAID = "provider_paid", _("When the provider confirms the full amount paid")
    BANK_STATEMENT = "bank_statement", _("When a bank statement line with the payment reference covers the amount")
    CREDIT_CHECK = "credit_check", _("After a credit check (captured on shipment)")
    IMMEDIATE = "immediate", _("At once (paid at the till)")
    STORE_CREDIT = "store_credit", _("When the customer's store credit covers the amount")
    MANUAL = "manual", _("Only when staff record the payment")


class PaymentEventKind(models.TextChoices):
    CREATED = "created", _("Created")
    STATUS_CHANGED = "status_changed", _("Status changed")
    RECEIVED = "received", _("Money received")
    AUTHORIZED = "authorized", _("Authorized")
    CAPTURE_REQUESTED = "capture_requested", _("Capture requested")
    CAPTURED = "captured", _("Captured")
    CAPTURE_FAILED = "capture_failed", _("Capture failed")
    REFUNDED = "refunded", _("Refunded")
    CHARGED_BACK = "charged_back", _("Charged back")
    CHARGEBACK_REVERSED = "chargeback_reversed", _("Chargeback reversed")
    CREDIT_CHECK_PASSED = "credit_check_passed", _("Credit check passed")
    CREDIT_CHECK_FAILED = "credit_check_failed", _("Credit check failed")
    STORE_CREDIT_DRAWN = "store_credit_drawn", _("Store credit drawn")
    LINK_CREATED = "link_created", _("Payment link created")
    PROVIDER_UNKNOWN = "provider_unknown", _("Unknown at the provider")
    DUPLICATE_REFERENCE = "duplicate_reference", _("Provider reference used by another order")
    CURRENCY_MISMATCH = "currency_mismatch", _("Paid in another currency")


# Money events the journal books (each carries an amount).
MONEY_EVENT_KINDS = frozenset(
    {
        PaymentEventKind.RECEIVED,
        PaymentEventKind.REFUNDED,
        PaymentEventKind.CHARGED_BACK,
        PaymentEventKind.CHARGEBACK_REVERSED,
    }
)


class RefundStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    QUEUED = "queued", _("Queued")
    PROCESSING = "processing", _("Processing")
    REFUNDED = "refunded", _("Refunded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


# Refunds that hold money back from what may still be refunded.
REFUND_COMMITTED_STATUSES = (RefundStatus.QUEUED, RefundStatus.PROCESSING)
REFUND_TRANSITIONS: dict[str, frozenset[str]] = {
    RefundStatus.PROPOSED: frozenset({RefundStatus.QUEUED, RefundStatus.REFUNDED, RefundStatus.CANCELLED}),
    RefundStatus.QUEUED: frozenset(
        {RefundStatus.PROCESSING, RefundStatus.REFUNDED, RefundStatus.FAILED, RefundStatus.CANCELLED}
    ),
    RefundStatus.PROCESSING: frozenset({RefundStatus.REFUNDED, RefundStatus.FAILED, RefundStatus.QUEUED}),
    RefundStatus.REFUNDED: frozenset(),
    RefundStatus.FAILED: frozenset({RefundStatus.QUEUED, RefundStatus.CANCELLED}),
    RefundStatus.CANCELLED: frozenset(),
}


def refund_ensure_transition(current: str, target: str) -> None:
    if target not in REFUND_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(
            gettext("A refund that is %(current)s cannot become %(target)s.")
            % {"current": RefundStatus(current).label, "target": RefundStatus(target).label},
            extra={"from": str(current), "to": str(target)},
        )


class RefundReason(models.TextChoices):
    OVERPAYMENT = "overpayment", _("Overpayment")
    CANCELLATION = "cancellation", _("Order cancelled")
    CREDIT_NOTE = "credit_note", _("Credit note (return or goodwill)")
    GOODWILL = "goodwill", _("Goodwill")
    OTHER = "other", _("Other")


class RefundMethod(models.TextChoices):
    PROVIDER = "provider", _("Through the payment provider")
    SEPA = "sepa", _("SEPA transfer")
    STORE_CREDIT = "store_credit", _("As store credit")


class BankLineStatus(models.TextChoices):
    UNMATCHED = "unmatched", _("Unmatched")
    PARTLY_MATCHED = "partly_matched", _("Partly matched")
    MATCHED = "matched", _("Matched")
    SETTLEMENT = "settlement", _("Provider settlement")
    REFUND = "refund", _("Our refund")
    NOT_APPLICABLE = "not_applicable", _("Not a customer payment")


# Lines that wait for finance (the finance queue).
BANK_LINE_QUEUE_STATUSES = (BankLineStatus.UNMATCHED, BankLineStatus.PARTLY_MATCHED)


class MatchMethod(models.TextChoices):
    STRUCTURED_REFERENCE = "structured_reference", _("Structured reference")
    REFERENCE_IN_TEXT = "reference_in_text", _("Payment reference in the text")
    ORDER_NUMBER = "order_number", _("Order number in the text")
    INVOICE_NUMBER = "invoice_number", _("Invoice number in the text")
    MANUAL = "manual", _("Matched by hand")


class CreditNoteReason(models.TextChoices):
    RETURN = "return", _("Returned goods")
    CANCELLATION = "cancellation", _("Cancelled after invoicing")
    GOODWILL = "goodwill", _("Goodwill")
    CORRECTION = "correction", _("Correction")


class DocumentLineKind(models.TextChoices):
    GOODS = "goods", _("Goods")
    SHIPPING = "shipping", _("Shipping")
    GOODWILL = "goodwill", _("Goodwill")


class CreditEntryKind(models.TextChoices):
    GRANT = "grant", _("Credit granted")
    DRAW = "draw", _("Credit used for an order")
    REVERSAL = "reversal", _("Use of credit reversed")
