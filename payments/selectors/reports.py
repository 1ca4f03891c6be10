"""The reports finance works from: shipped but not (fully) paid, and paid but not
shipped after N days. Each is one query with subqueries, whatever the number of
orders."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.money import ZERO
from core.rules import define_rule, rule_value
from orders.models import Order, OrderLine
from payments.models import CreditNote, Invoice, Payment, Refund
from payments.states import REFUND_COMMITTED_STATUSES

PAID_NOT_SHIPPED_DAYS = define_rule(
    "payments.reports.paid_not_shipped_days",
    3,
    label="'Paid but not shipped' lists orders paid longer ago than this many days",
    unit="d",
)
MONEY = DecimalField(max_digits=14, decimal_places=2)


def _sum(qs, field: str):
    return Coalesce(
        Subquery(qs.values("order_id").annotate(s=Sum(field)).values("s"), output_field=MONEY),
        Value(ZERO),
        output_field=MONEY,
    )


def orders_with_money(qs: QuerySet[Order] | None = None) -> QuerySet[Order]:
    """Orders annotated with invoiced, credited (positive), received (net) and open
    (invoiced − credited − received)."""
    qs = Order.objects.all() if qs is None else qs
    payments = Payment.objects.filter(order_id=OuterRef("pk"))
    return (
        qs.annotate(
            invoiced=_sum(Invoice.objects.filter(order_id=OuterRef("pk")), "total_amount"),
            credited_negative=_sum(CreditNote.objects.filter(order_id=OuterRef("pk")), "total_amount"),
            paid=_sum(payments, "paid_amount"),
            refunded=_sum(payments, "refunded_amount"),
            charged_back=_sum(payments, "charged_back_amount"),
            refunding=_sum(
                Refund.objects.filter(order_id=OuterRef("pk"), status__in=REFUND_COMMITTED_STATUSES), "amount"
            ),
        )
        .annotate(
            credited=ExpressionWrapper(-F("credited_negative"), output_field=MONEY),
            received=ExpressionWrapper(
                F("paid") - F("refunded") - F("charged_back") - F("refunding"), output_field=MONEY
            ),
        )
        .annotate(
            open_amount=ExpressionWrapper(F("invoiced") - F("credited") - F("received"), output_field=MONEY),
        )
    )


def shipped_not_paid() -> QuerySet[Order]:
    """Orders with an invoice (something shipped) whose invoices, less credit notes,
    are not covered by what came in; oldest invoice first."""
    first_invoice = Invoice.objects.filter(order_id=OuterRef("pk")).values("order_id").annotate(d=Min("issue_date"))
    return (
        orders_with_money(Order.objects.filter(Exists(Invoice.objects.filter(order_id=OuterRef("pk")))))
        .annotate(first_invoiced_on=Subquery(first_invoice.values("d")))
        .filter(open_amount__gt=0)
        .select_related("channel", "customer")
        .order_by("first_invoiced_on", "pk")
    )


def paid_not_shipped(*, days: int | None = None, now: datetime.datetime | None = None) -> QuerySet[Order]:
    """Orders cleared and paid (what came in covers what they owe) longer than `days`
    ago (the rule's value by default) with units still to ship; oldest first."""
    now = now or timezone.now()
    days = int(rule_value(PAID_NOT_SHIPPED_DAYS)) if days is None else days
    to_ship = OrderLine.objects.filter(order_id=OuterRef("pk")).filter(
        quantity__gt=F("quantity_shipped") + F("quantity_cancelled")
    )
    return (
        orders_with_money(
            Order.objects.filter(
                cancelled_at__isnull=True, cleared_at__isnull=False, cleared_at__lte=now - datetime.timedelta(days=days)
            ).filter(Exists(to_ship))
        )
        .filter(Q(received__gte=F("total_amount") - F("credited")) & Q(received__gt=0))
        .select_related("channel", "customer")
        .order_by("cleared_at", "pk")
    )


@dataclass(frozen=True)
class ReportTotals:
    count: int
    amount: Decimal


def report_totals(qs: QuerySet[Order], field: str) -> ReportTotals:
    values = list(qs.values_list(field, flat=True))
    return ReportTotals(count=len(values), amount=sum(values, ZERO))
