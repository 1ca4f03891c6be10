"""The customer ledger (balance and aging), the two finance reports, the journal
export, and pay later refused for a customer with overdue invoices."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.tests.factories import UserFactory
from orders.models import Order
from orders.services.fulfilment import order_clear
from payments.conf import JOURNAL_ACCOUNTS
from payments.selectors.journal import journal_csv, journal_rows, journal_totals
from payments.selectors.ledger import customer_ledger
from payments.selectors.reports import paid_not_shipped, shipped_not_paid
from payments.services.invoicing import credit_note_for_returned_lines
from payments.services.refunds import refund_proposal_accept, sepa_batch_create, sepa_batch_mark_sent
from payments.services.statements import bank_statement_import
from payments.tests.factories import camt, place, ship

pytestmark = pytest.mark.django_db
D = Decimal


def _shipped(channel, item, amount: str, **kwargs) -> Order:
    order = place(channel, lines=[{"sku": item.sku, "unit_price": amount}], shipping="0.00", **kwargs)
    order_clear(order_id=order.pk, source="test")
    ship(Order.objects.get(pk=order.pk))
    return Order.objects.get(pk=order.pk)


def test_balance_is_invoiced_minus_paid_minus_credited_with_aging_by_due_date(channel, shirt):
    root = UserFactory(username="root", is_superuser=True)
    first = _shipped(channel, shirt, "100.00")
    second = _shipped(channel, shirt, "50.00")
    prepaid = place(channel, lines=[{"sku": shirt.sku, "unit_price": "20.00"}], shipping="0.00")
    bank_statement_import(
        data=camt(
            [
                {"amount": "30.00", "reference": first.payment_reference},
                {"amount": "20.00", "reference": prepaid.payment_reference},
            ]
        ),
        filename="a.xml",
    )
    credit_note_for_returned_lines(order_id=second.pk, lines=[(second.lines.get().pk, 1)], actor=root)
    # when
    ledger = customer_ledger(customer_id=first.customer_id)
    # then: invoiced 150, paid 50 (30 on the first order, 20 ahead for an order not shipped), credited 50
    assert (ledger.invoiced, ledger.paid, ledger.credited) == (D("150.00"), D("50.00"), D("50.00"))
    assert ledger.balance == D("50.00")
    assert [(i.number, i.open) for i in ledger.open_invoices] == [(first.invoices.get().number, D("70.00"))]
    assert ledger.unapplied == D("20.00")
    assert ledger.buckets == {"0-30": D("70.00"), "31-60": 0, "61-90": 0, "90+": 0}
    assert ledger.overdue_amount == 0
    due = first.invoices.get().due_date
    for days, bucket in [(1, "0-30"), (31, "31-60"), (61, "61-90"), (90, "61-90"), (91, "90+")]:
        aged = customer_ledger(customer_id=first.customer_id, as_of=due + datetime.timedelta(days=days))
        assert aged.buckets[bucket] == D("70.00") and aged.overdue_amount == D("70.00"), (days, aged.buckets)


def test_pay_later_by_a_customer_with_overdue_invoices_waits_for_review(channel, shirt, run_on_commit):
    from django.db import transaction

    from orders.locks import order_qs_for_update
    from payments.services.invoicing import invoice_issue

    old = place(channel, lines=[{"sku": shirt.sku, "unit_price": "80.00"}], shipping="0.00")
    # an invoice of long ago, never paid
    with transaction.atomic():
        locked = order_qs_for_update().get(pk=old.pk)
        long_ago = datetime.date(2025, 1, 6)
        invoice_issue(order=locked, shipped={old.lines.get().pk: 1}, supply_date=long_ago, issue_date=long_ago)
    assert customer_ledger(customer_id=old.customer_id).buckets["90+"] == D("80.00")
    with run_on_commit():
        order = place(channel, method="pay_later", lines=[{"sku": shirt.sku, "unit_price": "10.00"}])
    order.refresh_from_db()
    assert "pay_later_overdue_invoices" in order.fraud_signals and "fraud_review" in order.hold_reasons
    payment = order.payments.get()
    assert payment.status == "failed"  # the credit check refuses it too
    assert order.cleared_at is None


def test_shipped_but_not_paid_and_paid_but_not_shipped(channel, shirt, book):
    unpaid = _shipped(channel, shirt, "60.00")
    paid_shipped = _shipped(channel, shirt, "10.00")
    waiting = place(channel, lines=[{"sku": book.sku, "unit_price": "15.00"}], shipping="0.00")
    half = place(channel, lines=[{"sku": book.sku, "quantity": 2, "unit_price": "15.00"}], shipping="0.00")
    bank_statement_import(
        data=camt(
            [
                {"amount": "10.00", "reference": paid_shipped.payment_reference},
                {"amount": "15.00", "reference": waiting.payment_reference},
                {"amount": "30.00", "reference": half.payment_reference},
                {"amount": "20.00", "reference": unpaid.payment_reference},
            ]
        ),
        filename="a.xml",
    )
    ship(Order.objects.get(pk=half.pk), {book.sku: 1})
    # shipped but not (fully) paid: only the order with 40.00 open
    rows = list(shipped_not_paid())
    assert [(o.pk, o.open_amount) for o in rows] == [(unpaid.pk, D("40.00"))]
    # paid but not shipped: nothing yet today; four days on, the paid ones with goods to ship
    assert list(paid_not_shipped(days=3)) == []
    later = timezone.now() + datetime.timedelta(days=4)
    assert sorted(o.pk for o in paid_not_shipped(days=3, now=later)) == sorted([waiting.pk, half.pk])


def test_the_journal_balances_and_books_sales_per_vat_rate(channel, shirt, book):
    root = UserFactory(username="root", is_superuser=True)
    order = place(
        channel,
        shipping="4.95",
        lines=[
            {"sku": shirt.sku, "quantity": 2, "unit_price": "19.95", "discount": "2.00"},
            {"sku": book.sku, "unit_price": "12.50"},
        ],
    )
    bank_statement_import(data=camt([{"amount": "55.35", "reference": order.payment_reference}]), filename="a.xml")
    ship(Order.objects.get(pk=order.pk))
    (credit_note,) = credit_note_for_returned_lines(
        order_id=order.pk, lines=[(order.lines.get(sku=book.sku).pk, 1)], actor=root
    )
    proposal = order.refunds.get(status="proposed")
    refund_proposal_accept(refund_id=proposal.pk, actor=root)  # SEPA, to the account it came from
    sepa_batch_mark_sent(batch_id=sepa_batch_create(actor=root).pk, actor=root)
    today = timezone.localdate()
    rows = journal_rows(date_from=today, date_to=today)
    # every entry balances, and so does the whole
    by_document: dict[str, Decimal] = {}
    for row in rows:
        by_document[row.document] = by_document.get(row.document, D("0")) + row.debit - row.credit
    assert all(v == 0 for v in by_document.values()), by_document
    totals = journal_totals(rows)
    assert sum(totals.values()) == 0
    invoice = order.invoices.get()
    revenue = {
        r.vat_rate: r.credit - r.debit
        for r in rows
        if r.account == JOURNAL_ACCOUNTS["revenue"] and r.document == invoice.number
    }
    assert revenue == {row_rate(r): D(r["net"]) for r in invoice.vat_breakdown}
    # receivables: invoiced 55.35 − credited 12.50(ish) − received 55.35 + refunded
    assert (
        totals[JOURNAL_ACCOUNTS["receivables"]]
        == invoice.total_amount + credit_note.total_amount - D("55.35") + proposal.amount
    )
    assert totals[JOURNAL_ACCOUNTS["bank"]] == D("55.35") - proposal.amount  # SEPA refund goes out of the bank
    vat = sum((r.credit - r.debit for r in rows if r.account == JOURNAL_ACCOUNTS["vat_payable"]), D("0"))
    assert vat == invoice.vat_amount + credit_note.vat_amount
    # the CSV an accountant imports, and the command that writes it
    parsed = list(csv.DictReader(io.StringIO(journal_csv(rows))))
    assert len(parsed) == len(rows) and set(parsed[0]) == {
        "date", "journal", "document", "account", "description", "debit", "credit", "vat_rate", "order"
    }  # fmt: skip
    out = io.StringIO()
    call_command("export_journal", "--from", today.isoformat(), "--to", today.isoformat(), stdout=out)
    assert out.getvalue() == journal_csv(rows)


def row_rate(row: dict) -> str:
    return f"{Decimal(row['rate']):f}".rstrip("0").rstrip(".")
