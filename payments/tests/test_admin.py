"""The finance screens: statement upload, the finance queue with one-click matching,
payments with their events, refunds, invoices and their PDFs, SEPA files, reports and
the journal download, clearing policies, and the ledger on the customer page."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core import roles
from core.tests.factories import UserFactory
from core.tests.utils import login_staff
from orders.models import Order
from orders.services.fulfilment import order_clear
from payments.models import BankMatch, BankStatementLine, ClearingPolicy, Invoice, Refund, SepaBatch
from payments.services.statements import bank_statement_import
from payments.states import BankLineStatus, ClearingRule, RefundStatus
from payments.tests.factories import camt, place, ship

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def finance(client):
    user = UserFactory(username="femke", role=roles.FINANCE)
    login_staff(client, user)
    return user


def test_finance_uploads_a_statement_and_books_a_suggestion_with_one_click(client, finance, channel, shirt):
    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "31.05"}], last_name="Jansen")
    upload = SimpleUploadedFile("2026-11-20.xml", camt([{"amount": "36.00", "name": "J JANSEN", "text": "xx"}]))
    # when the file is uploaded in the admin
    response = client.post(reverse("admin:payments_bankstatementimport_upload"), {"file": upload})
    assert response.status_code == 302
    line = BankStatementLine.objects.get()
    assert line.status == BankLineStatus.UNMATCHED
    # then the finance queue shows it with a one-click suggestion
    queue = client.get(reverse("admin:payments_bankstatementline_changelist"))
    assert queue.status_code == 200
    match_url = reverse("admin:payments_bankstatementline_match", args=[line.pk, order.pk])
    html = queue.content.decode()
    assert f'formaction="{match_url}"' in html and order.number in html
    # when finance clicks it (the button posts the page's form)
    response = client.post(
        match_url, HTTP_REFERER="http://testserver" + reverse("admin:payments_bankstatementline_changelist")
    )
    assert response.status_code == 302
    assert BankMatch.objects.get().actor == finance
    assert Order.objects.get(pk=order.pk).cleared_at is not None
    # and the queue is empty
    assert match_url not in client.get(reverse("admin:payments_bankstatementline_changelist")).content.decode()
    assert BankStatementLine.objects.get().status == BankLineStatus.MATCHED


def test_a_bad_file_is_refused_with_its_reason(client, finance):
    upload = SimpleUploadedFile("x.xml", b"<Document><broken")
    response = client.post(reverse("admin:payments_bankstatementimport_upload"), {"file": upload})
    assert response.status_code == 200 and "x.xml" in response.content.decode()
    assert not BankStatementLine.objects.exists()


def test_matching_by_order_number_in_the_form(client, finance, channel, shirt):
    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "10.00"}], shipping="0.00")
    (line,) = bank_statement_import(data=camt([{"amount": "10.00", "text": "?"}]), filename="x.xml").left
    url = reverse("admin:payments_bankstatementline_match_form", args=[line.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"order_number": order.number.lower(), "amount": "10.00"})
    assert response.status_code == 302
    assert BankMatch.objects.get().order == order


def test_payment_and_order_pages_with_refund_form(client, finance, channel, shirt):
    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "10.00"}], shipping="0.00")
    bank_statement_import(data=camt([{"amount": "10.00", "reference": order.payment_reference}]), filename="x.xml")
    payment = order.payments.get()
    page = client.get(reverse("admin:payments_payment_change", args=[payment.pk]))
    assert page.status_code == 200 and "received" in page.content.decode().lower()
    order_page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert order_page.status_code == 200
    assert reverse("admin:payments_payment_change", args=[payment.pk]) in order_page.content.decode()
    # a refund through the form
    url = reverse("admin:payments_payment_refund", args=[payment.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"amount": "4.00", "reason": "goodwill", "method": "", "iban": "", "account_name": "", "note": "dented"}
    )
    assert response.status_code == 302
    refund = Refund.objects.get(status=RefundStatus.QUEUED)
    assert (refund.amount, refund.method, refund.requested_by) == (D("4.00"), "sepa", finance)
    # too much is refused on the form, nothing made
    response = client.post(url, {"amount": "7.00", "reason": "goodwill", "method": "", "note": "x"})
    assert response.status_code == 200 and Refund.objects.exclude(status=RefundStatus.PROPOSED).count() == 1
    # the SEPA file: made from the list, downloaded
    make = client.post(reverse("admin:payments_sepabatch_make"))
    assert make.status_code == 302
    batch = SepaBatch.objects.get()
    download = client.get(reverse("admin:payments_sepabatch_download", args=[batch.pk]))
    assert download.status_code == 200 and b"pain.001" in download.content


def test_invoice_pages_pdf_and_goodwill(client, finance, channel, shirt):
    order = place(channel, method="pos", lines=[{"sku": shirt.sku, "unit_price": "30.00"}], shipping="0.00")
    ship(order)
    invoice = Invoice.objects.get()
    assert client.get(reverse("admin:payments_invoice_change", args=[invoice.pk])).status_code == 200
    pdf = client.get(reverse("admin:payments_invoice_pdf", args=[invoice.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    response = client.post(
        reverse("admin:payments_invoice_goodwill", args=[invoice.pk]), {"amount": "5.00", "note": "late", "refund": ""}
    )
    assert response.status_code == 302
    credit_note = invoice.credit_notes.get()
    assert credit_note.total_amount == D("-5.00")
    assert client.get(reverse("admin:payments_creditnote_pdf", args=[credit_note.pk])).content.startswith(b"%PDF")
    # a read-only page: no way to post a change
    assert client.post(reverse("admin:payments_invoice_change", args=[invoice.pk]), {}).status_code == 403


def test_reports_journal_and_the_customer_ledger(client, finance, channel, shirt):
    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "30.00"}], shipping="0.00")
    order_clear(order_id=order.pk)
    ship(Order.objects.get(pk=order.pk))
    index = client.get(reverse("admin:payments_financereport_changelist"))
    assert index.status_code == 200
    report = client.get(reverse("admin:payments_financereport_shipped_not_paid"))
    assert report.status_code == 200 and order.number in report.content.decode()
    assert client.get(reverse("admin:payments_financereport_paid_not_shipped"), {"days": "0"}).status_code == 200
    journal = client.post(
        reverse("admin:payments_financereport_journal"), {"date_from": "2020-01-01", "date_to": "2099-12-31"}
    )
    assert journal.status_code == 200 and journal["Content-Type"].startswith("text/csv")
    assert Invoice.objects.get().number in journal.content.decode()
    customer = client.get(reverse("admin:customers_customer_change", args=[order.customer_id]))
    assert customer.status_code == 200
    assert "€ 30,00" in customer.content.decode() or "€ 30.00" in customer.content.decode()


def test_finance_changes_a_clearing_policy_in_the_admin(client, finance):
    policy = ClearingPolicy.objects.get(method="bank_transfer")
    response = client.post(
        reverse("admin:payments_clearingpolicy_change", args=[policy.pk]),
        {"rule": ClearingRule.MANUAL, "note": "only by hand for now"},
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.rule == ClearingRule.MANUAL
    assert ClearingPolicy.history.filter(id=policy.pk).latest("history_date").history_user == finance


def test_customer_service_sees_payments_but_not_the_finance_queue(client, channel, shirt):
    login_staff(client, UserFactory(username="sanne", role=roles.CUSTOMER_SERVICE))
    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "10.00"}])
    assert client.get(reverse("admin:payments_payment_change", args=[order.payments.get().pk])).status_code == 200
    assert client.get(reverse("admin:payments_bankstatementline_changelist")).status_code == 403
    assert client.get(reverse("admin:payments_bankstatementimport_upload")).status_code == 403
    assert client.get(reverse("admin:payments_payment_refund", args=[order.payments.get().pk])).status_code == 403
