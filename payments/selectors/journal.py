"""The accounting journal of a period, as a CSV an accountant imports.

Every document and every money movement is one balanced entry (debit = credit):
- invoice: debit receivables (total) / credit revenue per VAT rate (excl. VAT) and VAT
  payable per rate;
- credit note: the same, reversed;
- money received: debit bank, the provider's clearing account, cash (point of sale) or
  store credit / credit receivables;
- refund: debit receivables / credit bank (SEPA), the provider or store credit;
- chargeback: debit receivables / credit the provider (a reversal the other way).
Account codes come from settings (payments.conf.JOURNAL_ACCOUNTS).
"""

import csv
import datetime
import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from core.money import ZERO
from payments.conf import journal_account
from payments.models import CreditNote, Invoice, PaymentEvent
from payments.states import PaymentEventKind, RefundMethod

COLUMNS = ["date", "journal", "document", "account", "description", "debit", "credit", "vat_rate", "order"]


@dataclass(frozen=True)
class JournalRow:
    date: datetime.date
    journal: str
    document: str
    account: str
    description: str
    debit: Decimal
    credit: Decimal
    vat_rate: str = ""
    order: str = ""

    def as_list(self) -> list[str]:
        return [
            self.date.isoformat(),
            self.journal,
            _safe(self.document),
            self.account,
            _safe(self.description),
            f"{self.debit:.2f}",
            f"{self.credit:.2f}",
            self.vat_rate,
            self.order,
        ]


def _safe(text: str) -> str:
    """No formulas in a spreadsheet: a text starting with = + - @ is quoted."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def _rate_key(rate: str, reverse_charge: bool) -> str:
    if reverse_charge:
        return "reverse_charge"
    return f"{Decimal(rate):f}".rstrip("0").rstrip(".") or "0"


def _document_rows(document, *, sign: int, journal: str, kind: str) -> list[JournalRow]:
    """An invoice (sign +1) or credit note (sign −1, its amounts are negative)."""
    rows = []
    total = abs(document.total_amount)
    debit_receivables = sign > 0
    rows.append(
        JournalRow(
            date=document.issue_date,
            journal=journal,
            document=document.number,
            account=journal_account("receivables"),
            description=f"{kind} {document.number} {document.customer_name}"[:200],
            debit=total if debit_receivables else ZERO,
            credit=ZERO if debit_receivables else total,
            order=document.order_number,
        )
    )
    for row in document.vat_breakdown:
        key = _rate_key(row["rate"], document.reverse_charge)
        net, vat = abs(Decimal(row["net"])), abs(Decimal(row["vat"]))
        for account, amount, label in (
            (journal_account(f"revenue:{key}"), net, "revenue"),
            (journal_account(f"vat_payable:{key}"), vat, "VAT"),
        ):
            if amount == 0:
                continue
            rows.append(
                JournalRow(
                    date=document.issue_date,
                    journal=journal,
                    document=document.number,
                    account=account,
                    description=f"{kind} {document.number} {label} {key}",
                    debit=ZERO if debit_receivables else amount,
                    credit=amount if debit_receivables else ZERO,
                    vat_rate=key,
                    order=document.order_number,
                )
            )
    return rows


def _money_account(event: PaymentEvent) -> tuple[str, str]:
    """(journal, account) of the money side of a payment event."""
    data = event.data or {}
    if event.kind == PaymentEventKind.REFUNDED:
        method = data.get("method", "")
        if method == RefundMethod.SEPA:
            return "bank", journal_account("bank")
        if method == RefundMethod.STORE_CREDIT:
            return "memo", journal_account("store_credit")
        if not method and event.payment.kind == "bank":
            return "bank", journal_account("bank")
        return "psp", journal_account("psp")
    if event.kind in (PaymentEventKind.CHARGED_BACK, PaymentEventKind.CHARGEBACK_REVERSED):
        return "psp", journal_account("psp")
    source = data.get("source", "")
    if source in ("bank", "manual"):
        return "bank", journal_account("bank")
    if source == "point_of_sale":
        return "cash", journal_account("cash")
    if source == "store_credit":
        return "memo", journal_account("store_credit")
    return "psp", journal_account("psp")


def _event_rows(event: PaymentEvent) -> list[JournalRow]:
    journal, money_account = _money_account(event)
    day = timezone.localdate(event.created_at)
    order = event.payment.order.number
    document = f"PAY-{event.pk}"
    amount = event.amount
    money_in = event.kind in (PaymentEventKind.RECEIVED, PaymentEventKind.CHARGEBACK_REVERSED)
    description = f"{event.get_kind_display()} {order}"[:200]
    return [
        JournalRow(day, journal, document, money_account, description, amount if money_in else ZERO,
                   ZERO if money_in else amount, order=order),
        JournalRow(day, journal, document, journal_account("receivables"), description,
                   ZERO if money_in else amount, amount if money_in else ZERO, order=order),
    ]  # fmt: skip


def journal_rows(*, date_from: datetime.date, date_to: datetime.date) -> list[JournalRow]:
    """The journal of the days date_from … date_to (inclusive), Europe/Amsterdam."""
    rows: list[JournalRow] = []
    for invoice in Invoice.objects.filter(issue_date__range=(date_from, date_to)).order_by("issue_date", "sequence"):
        rows += _document_rows(invoice, sign=1, journal="sales", kind="Invoice")
    for credit_note in CreditNote.objects.filter(issue_date__range=(date_from, date_to)).order_by(
        "issue_date", "sequence"
    ):
        rows += _document_rows(credit_note, sign=-1, journal="sales", kind="Credit note")
    tz = timezone.get_default_timezone()
    start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    events = (
        PaymentEvent.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            kind__in=[
                PaymentEventKind.RECEIVED,
                PaymentEventKind.REFUNDED,
                PaymentEventKind.CHARGED_BACK,
                PaymentEventKind.CHARGEBACK_REVERSED,
            ],
            amount__gt=0,
        )
        .select_related("payment", "payment__order")
        .order_by("created_at", "pk")
    )
    for event in events:
        rows += _event_rows(event)
    return rows


def journal_totals(rows: list[JournalRow]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        totals[row.account] += row.debit - row.credit
    return dict(totals)


def journal_csv(rows: list[JournalRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row.as_list())
    return out.getvalue()
