"""Reads of the payments app shared by the API, the admin, tasks and other apps."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from core.exceptions import NotFound
from core.money import ZERO
from payments.exceptions import ProviderPaymentNotFound
from payments.models import CreditNote, Invoice, Payment, Refund, SimulatedProviderPayment
from payments.states import REFUND_COMMITTED_STATUSES, PaymentKind


def simulated_payment_get(*, provider_id: str) -> SimulatedProviderPayment:
    payment = SimulatedProviderPayment.objects.filter(provider_id=str(provider_id)[:40]).first()
    if payment is None:
        raise ProviderPaymentNotFound(_("No simulated payment %(id)s.") % {"id": str(provider_id)[:40]})
    return payment


# --- an order's money -------------------------------------------------------------------


@dataclass(frozen=True)
class OrderMoney:
    """What an order is owed and what came in, as the services decide on it.

    - `received`: paid − refunded − charged back over all its payments, less refunds on
      their way out (queued or processing);
    - `expected`: what the customer owes for the order: its total less credit notes, or
      (cancelled) what was invoiced less credit notes;
    - `rest` = expected − received (negative: overpaid)."""

    total: Decimal
    invoiced: Decimal
    credited: Decimal
    paid: Decimal
    refunded: Decimal
    charged_back: Decimal
    refunds_in_flight: Decimal
    cancelled: bool

    @property
    def received(self) -> Decimal:
        return self.paid - self.refunded - self.charged_back - self.refunds_in_flight

    @property
    def expected(self) -> Decimal:
        if self.cancelled:
            return self.invoiced - self.credited
        return self.total - self.credited

    @property
    def rest(self) -> Decimal:
        return self.expected - self.received


def order_money(
    *, order, payments: list[Payment] | None = None, sums: tuple[Decimal, Decimal, Decimal] | None = None
) -> OrderMoney:
    """The figures of one order (pass its locked payments to read them as locked, and
    its document sums when read already for many orders: `document_sums_for`)."""
    if payments is None:
        payments = list(Payment.objects.filter(order_id=order.pk))
    invoiced, credited_negative, in_flight = sums if sums is not None else _document_sums(order.pk)
    credited = -credited_negative
    return OrderMoney(
        total=order.total_amount,
        invoiced=invoiced,
        credited=credited,
        paid=sum((p.paid_amount for p in payments), ZERO),
        refunded=sum((p.refunded_amount for p in payments), ZERO),
        charged_back=sum((p.charged_back_amount for p in payments), ZERO),
        refunds_in_flight=in_flight,
        cancelled=order.cancelled_at is not None,
    )


def _document_sums(order_id: int) -> tuple[Decimal, Decimal, Decimal]:
    """(invoiced, credit notes (negative), refunds on their way out). Three indexed
    aggregates: cheaper than one query with three subqueries (measured)."""
    invoiced = Invoice.objects.filter(order_id=order_id).aggregate(s=Sum("total_amount"))["s"] or ZERO
    credited = CreditNote.objects.filter(order_id=order_id).aggregate(s=Sum("total_amount"))["s"] or ZERO
    in_flight = (
        Refund.objects.filter(order_id=order_id, status__in=REFUND_COMMITTED_STATUSES).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    return invoiced, credited, in_flight


def document_sums_for(order_ids) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    """`_document_sums` of many orders in three grouped queries."""
    order_ids = list(order_ids)
    result = dict.fromkeys(order_ids, (ZERO, ZERO, ZERO))
    grouped = [
        Invoice.objects.filter(order_id__in=order_ids).values("order_id").annotate(s=Sum("total_amount")),
        CreditNote.objects.filter(order_id__in=order_ids).values("order_id").annotate(s=Sum("total_amount")),
        Refund.objects.filter(order_id__in=order_ids, status__in=REFUND_COMMITTED_STATUSES)
        .values("order_id")
        .annotate(s=Sum("amount")),
    ]
    for position, rows in enumerate(grouped):
        for row in rows:
            values = list(result[row["order_id"]])
            values[position] = row["s"] or ZERO
            result[row["order_id"]] = tuple(values)
    return result


# --- the order representation (orders.api.representation providers) ------------------------


def _payments_of(order) -> list[Payment]:
    fresh = getattr(order, "_payments_at_intake", None)
    if fresh is not None:
        return fresh
    return list(order.payments.all())  # prefetched by orders.selectors.order_prefetch()


def _invoices_of(order) -> list[Invoice]:
    if getattr(order, "_payments_at_intake", None) is not None:
        return []  # an order just created has no invoices yet
    return list(order.invoices.all())  # prefetched


def order_payment_summary(order) -> dict:
    """The order's `payment` in the API: method, status, betalingskenmerk, what is due
    and what came in (net of refunds and chargebacks), and whether it is cleared."""
    payments = _payments_of(order)
    initial = next((p for p in payments if p.kind == PaymentKind.INITIAL), None)
    paid = sum((p.net_amount_received for p in payments), ZERO)
    due = ZERO if order.cancelled_at is not None else order.total_amount
    if any(p.charged_back_amount > 0 for p in payments):
        status = "charged_back"
    elif due > 0 and paid >= due:
        status = "paid"
    elif initial is not None:
        status = initial.status
    else:
        status = "open"
    return {
        "method": order.payment_method,
        "status": status,
        "reference": order.payment_reference,
        "amount_due": due,
        "amount_paid": paid,
        "cleared": order.cleared_at is not None,
    }


def order_invoice_summaries(order, request) -> list[dict]:
    """The order's `invoices` in the API, each with a link to its PDF."""
    return [
        {"number": invoice.number, "total": invoice.total_amount, "pdf_url": invoice_pdf_url(invoice.number, request)}
        for invoice in sorted(_invoices_of(order), key=lambda i: (i.issue_date, i.pk))
    ]


def invoice_pdf_url(number: str, request=None) -> str:
    from django.urls import reverse

    from payments import conf

    path = reverse("api:invoice-pdf", args=[number])
    return request.build_absolute_uri(path) if request is not None else f"{conf.site_url()}{path}"


# --- documents as a client may see them ----------------------------------------------------


def access_invoice(*, number: str, channel_id: int | None = None) -> Invoice:
    """One invoice as the caller may see it; another channel's invoice is not found."""
    qs = Invoice.objects.filter(number=number)
    if channel_id is not None:
        qs = qs.filter(channel_id=channel_id)
    invoice = qs.first()
    if invoice is None:
        raise NotFound(_("Invoice not found."), code="not_found")
    return invoice


def access_credit_note(*, number: str, channel_id: int | None = None) -> CreditNote:
    qs = CreditNote.objects.filter(number=number)
    if channel_id is not None:
        qs = qs.filter(channel_id=channel_id)
    credit_note = qs.first()
    if credit_note is None:
        raise NotFound(_("Credit note not found."), code="not_found")
    return credit_note
