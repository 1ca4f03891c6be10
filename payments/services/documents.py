"""Invoices and credit notes as PDF (WeasyPrint), in the customer's language, rendered
once and kept (IssuedDocument), and mailed after commit (the documents queue). Also the
payment instructions for a bank transfer and the mail with a payment link."""

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.money import format_eur
from payments.models import CreditNote, Invoice, IssuedDocument, Payment

logger = logging.getLogger(__name__)
TEMPLATE = "payments/documents/document.html"
MAIL_ONCE_SECONDS = 30 * 24 * 3600


def _render(document, *, is_invoice: bool) -> bytes:
    from weasyprint import HTML

    with translation.override(document.language):
        context = {
            "document": document,
            "is_invoice": is_invoice,
            "title": _("Invoice") if is_invoice else _("Credit note"),
            "number_label": _("Invoice number") if is_invoice else _("Credit note number"),
            "seller": document.seller,
            "lines": list(document.lines.all()),
            "vat_rows": document.vat_breakdown,
            "language": document.language,
        }
        html = render_to_string(TEMPLATE, context)
    return HTML(string=html).write_pdf()


def invoice_pdf_render(invoice: Invoice) -> bytes:
    return _render(invoice, is_invoice=True)


def credit_note_pdf_render(credit_note: CreditNote) -> bytes:
    return _render(credit_note, is_invoice=False)


def _issued(kind: str, number: str, render) -> IssuedDocument:
    """The stored PDF, rendered and stored the first time (two renders at once store one)."""
    stored = IssuedDocument.objects.filter(kind=kind, number=number).first()
    if stored is not None:
        return stored
    pdf = render()
    try:
        with transaction.atomic():
            return IssuedDocument.objects.create(
                kind=kind, number=number, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest()
            )
    except IntegrityError:
        return IssuedDocument.objects.get(kind=kind, number=number)


def invoice_pdf(invoice: Invoice) -> bytes:
    return bytes(_issued(IssuedDocument.Kind.INVOICE, invoice.number, lambda: invoice_pdf_render(invoice)).pdf)


def credit_note_pdf(credit_note: CreditNote) -> bytes:
    return bytes(
        _issued(IssuedDocument.Kind.CREDIT_NOTE, credit_note.number, lambda: credit_note_pdf_render(credit_note)).pdf
    )


def _mail_document(*, kind: str, document, subject: str, body: str, filename: str, pdf: bytes) -> bool:
    """Mail once: the row is claimed before sending and released when sending fails."""
    if not document.customer_email:
        return False
    claimed = IssuedDocument.objects.filter(kind=kind, number=document.number, mailed_at__isnull=True).update(
        mailed_at=timezone.now(), mailed_to=document.customer_email
    )
    if not claimed:
        return False
    try:
        message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [document.customer_email])
        message.attach(filename, pdf, "application/pdf")
        message.send(fail_silently=False)
    except Exception:
        IssuedDocument.objects.filter(kind=kind, number=document.number).update(mailed_at=None, mailed_to="")
        raise
    return True


def invoice_send(*, invoice_id: int) -> bool:
    """Render (once) and mail an invoice to the customer. True when mailed now."""
    invoice = Invoice.objects.get(pk=invoice_id)
    pdf = invoice_pdf(invoice)
    with translation.override(invoice.language):
        subject = _("Invoice %(number)s for order %(order)s") % {
            "number": invoice.number,
            "order": invoice.order_number,
        }
        body = _(
            "Dear %(name)s,\n\nAttached is invoice %(number)s for what we shipped of order %(order)s, "
            "%(total)s incl. VAT.\nPayment reference: %(reference)s.\n\nKind regards,\n%(seller)s"
        ) % {
            "name": invoice.customer_name,
            "number": invoice.number,
            "order": invoice.order_number,
            "total": format_eur(invoice.total_amount),
            "reference": invoice.payment_reference,
            "seller": invoice.seller.get("name", ""),
        }
        filename = _("invoice-%(number)s.pdf") % {"number": invoice.number}
    return _mail_document(
        kind=IssuedDocument.Kind.INVOICE, document=invoice, subject=subject, body=body, filename=filename, pdf=pdf
    )


def credit_note_send(*, credit_note_id: int) -> bool:
    credit_note = CreditNote.objects.get(pk=credit_note_id)
    pdf = credit_note_pdf(credit_note)
    with translation.override(credit_note.language):
        subject = _("Credit note %(number)s for invoice %(invoice)s") % {
            "number": credit_note.number,
            "invoice": credit_note.invoice_number,
        }
        body = _(
            "Dear %(name)s,\n\nAttached is credit note %(number)s of %(total)s for invoice %(invoice)s "
            "(order %(order)s).\n\nKind regards,\n%(seller)s"
        ) % {
            "name": credit_note.customer_name,
            "number": credit_note.number,
            "total": format_eur(credit_note.total_amount),
            "invoice": credit_note.invoice_number,
            "order": credit_note.order_number,
            "seller": credit_note.seller.get("name", ""),
        }
        filename = _("credit-note-%(number)s.pdf") % {"number": credit_note.number}
    return _mail_document(
        kind=IssuedDocument.Kind.CREDIT_NOTE,
        document=credit_note,
        subject=subject,
        body=body,
        filename=filename,
        pdf=pdf,
    )


def _mail_once(key: str, subject: str, body: str, to: str) -> bool:
    if not to or not cache.add(key, 1, timeout=MAIL_ONCE_SECONDS):
        return False
    try:
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [to]).send(fail_silently=False)
    except Exception:
        cache.delete(key)  # not sent: a retry may try again
        raise
    return True


def _language(order) -> str:
    language = getattr(order.customer, "language", "") or settings.LANGUAGE_CODE
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def payment_instructions_send(*, payment_id: int) -> bool:
    """How to pay by bank transfer: amount, the shop's IBAN, the betalingskenmerk."""
    payment = Payment.objects.select_related("order", "order__customer").get(pk=payment_id)
    order = payment.order
    seller = getattr(settings, "SELLER", {}) or {}
    with translation.override(_language(order)):
        subject = _("How to pay order %(order)s") % {"order": order.number}
        body = _(
            "Dear %(name)s,\n\nThank you for your order %(order)s. Please transfer %(amount)s to\n"
            "IBAN %(iban)s (BIC %(bic)s) in the name of %(seller)s,\nwith payment reference (betalingskenmerk) "
            "%(reference)s.\n\nWe ship as soon as your payment is in.\n\nKind regards,\n%(seller)s"
        ) % {
            "name": f"{order.first_name} {order.last_name}".strip() or order.email,
            "order": order.number,
            "amount": format_eur(payment.amount),
            "iban": seller.get("iban", ""),
            "bic": seller.get("bic", ""),
            "seller": seller.get("name", ""),
            "reference": order.payment_reference,
        }
    return _mail_once(f"payments:mail:instructions:{payment.pk}", subject, body, order.email)


def payment_link_send(*, payment_id: int) -> bool:
    """The payment link for what is still due."""
    payment = Payment.objects.select_related("order", "order__customer").get(pk=payment_id)
    order = payment.order
    if not payment.checkout_url:
        return False
    seller = getattr(settings, "SELLER", {}) or {}
    with translation.override(_language(order)):
        subject = _("Pay the rest of order %(order)s") % {"order": order.number}
        body = _(
            "Dear %(name)s,\n\n%(amount)s is still due on order %(order)s. You can pay it here:\n%(url)s\n\n"
            "Kind regards,\n%(seller)s"
        ) % {
            "name": f"{order.first_name} {order.last_name}".strip() or order.email,
            "amount": format_eur(payment.amount),
            "order": order.number,
            "url": payment.checkout_url,
            "seller": seller.get("name", ""),
        }
    return _mail_once(f"payments:mail:link:{payment.pk}:{payment.checkout_url}", subject, body, order.email)
