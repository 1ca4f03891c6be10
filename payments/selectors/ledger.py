"""The customer ledger: balance = invoiced − paid − credited, and the open invoices by
age (days past their due date). The helpdesk and dunning read it from here.

Payments belong to an order (the betalingskenmerk is per order), so what came in for
an order pays that order's invoices, oldest due date first; what is left over (paid
before shipping, or overpaid) is shown as unapplied."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.money import ZERO
from orders.models import Order
from orders.states import PaymentMethod
from payments.models import CreditNote, Invoice, Payment, Refund
from payments.states import REFUND_COMMITTED_STATUSES

AGING_BUCKETS = (
    ("0-30", _("0–30 days"), 0, 30),
    ("31-60", _("31–60 days"), 31, 60),
    ("61-90", _("61–90 days"), 61, 90),
    ("90+", _("over 90 days"), 91, None),
)


@dataclass(frozen=True)
class OpenInvoice:
    invoice_id: int
    number: str
    order_id: int
    issue_date: datetime.date
    due_date: datetime.date
    total: Decimal
    credited: Decimal
    paid: Decimal
    open: Decimal
    days_overdue: int

    @property
    def bucket(self) -> str:
        for key, _label, _low, high in AGING_BUCKETS:
            if high is None or self.days_overdue <= high:
                return key
        return AGING_BUCKETS[-1][0]


@dataclass(frozen=True)
class CustomerLedger:
    customer_id: int
    invoiced: Decimal
    paid: Decimal  # net: paid − refunded − charged back (less refunds on their way out)
    credited: Decimal
    open_invoices: list[OpenInvoice] = field(default_factory=list)
    unapplied: Decimal = ZERO
    as_of: datetime.date | None = None

    @property
    def balance(self) -> Decimal:
        """Invoiced − paid − credited: positive, the customer owes; negative, the shop does."""
        return self.invoiced - self.paid - self.credited

    @property
    def open_amount(self) -> Decimal:
        return sum((i.open for i in self.open_invoices), ZERO)

    @property
    def overdue_amount(self) -> Decimal:
        return sum((i.open for i in self.open_invoices if i.days_overdue > 0), ZERO)

    @property
    def buckets(self) -> dict[str, Decimal]:
        totals = dict.fromkeys((key for key, *_rest in AGING_BUCKETS), ZERO)
        for invoice in self.open_invoices:
            totals[invoice.bucket] += invoice.open
        return totals

    def bucket_rows(self) -> list[tuple[str, str, Decimal]]:
        buckets = self.buckets
        return [(key, str(label), buckets[key]) for key, label, *_rest in AGING_BUCKETS]


def _received_per_order(*, customer_id: int | None = None, order_ids=None) -> dict[int, Decimal]:
    qs = Payment.objects.all()
    qs = qs.filter(order__customer_id=customer_id) if customer_id is not None else qs.filter(order_id__in=order_ids)
    received: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for order_id, paid, refunded, charged_back in qs.values_list(
        "order_id", "paid_amount", "refunded_amount", "charged_back_amount"
    ):
        received[order_id] += paid - refunded - charged_back
    refunds = Refund.objects.filter(status__in=REFUND_COMMITTED_STATUSES)
    refunds = (
        refunds.filter(order__customer_id=customer_id)
        if customer_id is not None
        else refunds.filter(order_id__in=order_ids)
    )
    for order_id, amount in refunds.values_list("order_id", "amount"):
        received[order_id] -= amount
    return received


def customer_ledger(*, customer_id: int, as_of: datetime.date | None = None) -> CustomerLedger:
    """The ledger of one customer in five queries, whatever the number of documents."""
    today = as_of or timezone.localdate()
    invoices = list(
        Invoice.objects.filter(customer_id=customer_id)
        .order_by("due_date", "pk")
        .values_list("pk", "number", "order_id", "issue_date", "due_date", "total_amount")
    )
    credited_per_invoice: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for invoice_id, total in CreditNote.objects.filter(customer_id=customer_id).values_list(
        "invoice_id", "total_amount"
    ):
        credited_per_invoice[invoice_id] -= total
    received = _received_per_order(customer_id=customer_id)

    left = dict(received)
    open_invoices = []
    for pk, number, order_id, issue_date, due_date, total in invoices:
        credited = credited_per_invoice.get(pk, ZERO)
        owed = total - credited
        available = max(ZERO, left.get(order_id, ZERO))
        paid = min(available, max(ZERO, owed))
        left[order_id] = left.get(order_id, ZERO) - paid
        open_amount = owed - paid
        if open_amount > 0:
            open_invoices.append(
                OpenInvoice(
                    invoice_id=pk,
                    number=number,
                    order_id=order_id,
                    issue_date=issue_date,
                    due_date=due_date,
                    total=total,
                    credited=credited,
                    paid=paid,
                    open=open_amount,
                    days_overdue=max(0, (today - due_date).days),
                )
            )
    return CustomerLedger(
        customer_id=customer_id,
        invoiced=sum((row[5] for row in invoices), ZERO),
        paid=sum(received.values(), ZERO),
        credited=sum(credited_per_invoice.values(), ZERO),
        open_invoices=open_invoices,
        unapplied=sum((max(ZERO, amount) for amount in left.values()), ZERO),
        as_of=today,
    )


def pay_later_uninvoiced_amount(*, customer_id: int, exclude_order_id: int | None = None) -> Decimal:
    """What the customer's open pay-later orders will still invoice."""
    invoiced = (
        Invoice.objects.filter(order_id=OuterRef("pk")).values("order_id").annotate(s=Sum("total_amount")).values("s")
    )
    money = DecimalField(max_digits=12, decimal_places=2)
    qs = Order.objects.filter(
        customer_id=customer_id, payment_method=PaymentMethod.PAY_LATER, cancelled_at__isnull=True
    ).annotate(invoiced=Coalesce(Subquery(invoiced, output_field=money), Value(ZERO), output_field=money))
    if exclude_order_id is not None:
        qs = qs.exclude(pk=exclude_order_id)
    return sum((max(ZERO, total - inv) for total, inv in qs.values_list("total_amount", "invoiced")), ZERO)
