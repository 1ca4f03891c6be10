"""Invoices per shipment: what shipped, shipping on the first, numbered without gaps
per year (also when shipments run at the same moment or one fails), never edited, a PDF
with every field NL-RULES §3 asks for, and only for whom may see it."""

import datetime
import io
import threading
from decimal import Decimal

import pypdfium2
import pytest
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from pypdf import PdfReader

from core.tests.test_api_base import assert_contract_error
from orders.models import Order
from orders.services import fulfilment
from orders.services.fulfilment import order_clear
from payments.models import CreditNote, DocumentImmutable, Invoice, InvoiceLine, IssuedDocument
from payments.services.documents import invoice_pdf_render
from payments.services.invoicing import credit_note_for_returned_lines, credit_note_goodwill
from payments.states import DocumentLineKind
from payments.tests.factories import place, product, ship, shop, warehouse

D = Decimal


def _cleared(order: Order) -> Order:
    order_clear(order_id=order.pk, source="test")
    return Order.objects.get(pk=order.pk)


@pytest.fixture
def mixed_order(channel, shirt, book):
    """3 shirts (21%) at 19.95 with 2.00 off, 2 books (9%) at 12.50, shipping 6.95."""
    return _cleared(
        place(
            channel,
            shipping="6.95",
            lines=[
                {"sku": shirt.sku, "quantity": 3, "unit_price": "19.95", "discount": "2.00"},
                {"sku": book.sku, "quantity": 2, "unit_price": "12.50"},
            ],
        )
    )


@pytest.mark.django_db
def test_each_shipment_is_invoiced_for_what_it_held_with_shipping_on_the_first(mixed_order, shirt, book):
    # when 1 shirt and 1 book ship, then the rest
    (first,) = ship(mixed_order, {shirt.sku: 1, book.sku: 1})
    (second,) = ship(Order.objects.get(pk=mixed_order.pk))
    one, two = Invoice.objects.order_by("sequence")
    # then
    assert (one.shipment, two.shipment) == (first, second)
    assert [(line.sku, line.quantity, line.kind) for line in one.lines.all()] == [
        (shirt.sku, 1, DocumentLineKind.GOODS),
        (book.sku, 1, DocumentLineKind.GOODS),
        ("", 1, DocumentLineKind.SHIPPING),
        ("", 1, DocumentLineKind.SHIPPING),
    ]
    assert [(line.sku, line.quantity) for line in two.lines.all()] == [(shirt.sku, 2), (book.sku, 1)]
    assert not two.lines.filter(kind=DocumentLineKind.SHIPPING).exists()
    # the invoices add up to the order, to the cent, VAT too
    order = mixed_order
    assert one.total_amount + two.total_amount == order.total_amount == D("89.80")
    assert one.vat_amount + two.vat_amount == order.vat_amount
    shirt_line = order.lines.get(sku=shirt.sku)
    shirt_invoiced = InvoiceLine.objects.filter(order_line=shirt_line)
    assert sum(line.total_amount for line in shirt_invoiced) == shirt_line.total_amount == D("57.85")
    assert sum(line.vat_amount for line in shirt_invoiced) == shirt_line.vat_amount
    assert [line.total_amount for line in shirt_invoiced] == [D("19.28"), D("38.57")]
    # per rate: the shipping cost split over 21% and 9% like the order's totals
    rates = {row["rate"] for row in one.vat_breakdown}
    assert rates == {"21.00", "9.00"}
    assert one.number.endswith("-000001") and two.number.endswith("-000002")
    assert two.supply_date == datetime.date.today() or two.supply_date is not None


@pytest.mark.django_db
def test_numbers_run_without_gaps_and_a_failed_shipment_takes_none(channel, shirt):
    orders = [_cleared(place(channel, lines=[{"sku": shirt.sku, "unit_price": "5.00"}])) for _ in range(3)]

    def refuse(*, shipment, order, actor=None):
        if order.pk == orders[1].pk:
            raise DatabaseError("the label printer is on fire")

    fulfilment.SHIPMENT_HOOKS.append(refuse)
    try:
        ship(orders[0])
        with pytest.raises(DatabaseError):
            ship(orders[1])
        ship(orders[2])
    finally:
        fulfilment.SHIPMENT_HOOKS.remove(refuse)
    year = Invoice.objects.first().year
    assert list(Invoice.objects.order_by("sequence").values_list("number", flat=True)) == [
        f"{year}-000001",
        f"{year}-000002",
    ]
    ship(Order.objects.get(pk=orders[1].pk))
    assert Invoice.objects.get(order=orders[1]).number == f"{year}-000003"


@pytest.mark.django_db(transaction=True)
def test_numbers_stay_gapless_when_shipments_run_at_the_same_moment():
    channel, location = shop(), warehouse()
    item = product("CONC-1", location=location)
    orders = [_cleared(place(channel, lines=[{"sku": item.sku, "unit_price": "5.00"}])) for _ in range(8)]
    barrier = threading.Barrier(len(orders))
    errors = []

    def run(order):
        try:
            barrier.wait()
            ship(Order.objects.get(pk=order.pk))
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == list(range(1, 9))


@pytest.mark.django_db
def test_an_issued_invoice_cannot_be_changed_or_deleted_anywhere(mixed_order):
    ship(mixed_order)
    invoice = Invoice.objects.get()
    line = invoice.lines.first()
    before = (invoice.total_amount, line.total_amount, Invoice.history.count())
    # the model, the queryset and the database refuse
    invoice.total_amount = D("0.01")
    with pytest.raises(DocumentImmutable):
        invoice.save()
    with pytest.raises(DocumentImmutable):
        Invoice.objects.filter(pk=invoice.pk).update(total_amount=D("0.01"))
    with pytest.raises(DocumentImmutable):
        invoice.delete()
    with pytest.raises(DocumentImmutable):
        InvoiceLine.objects.filter(pk=line.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE payments_invoice SET total_amount = 0.01 WHERE id = %s", [invoice.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM payments_invoiceline WHERE id = %s", [line.pk])
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert (invoice.total_amount, InvoiceLine.objects.get(pk=line.pk).total_amount, Invoice.history.count()) == before


@pytest.mark.django_db
def test_intra_eu_business_customers_are_invoiced_with_vat_reverse_charged(channel, shirt):
    order = _cleared(
        place(
            channel,
            customer_type="business",
            company_name="Bäckerei Schmidt GmbH",
            vat_number="DE136695976",
            country="DE",
            postal_code="10115",
            lines=[{"sku": shirt.sku, "quantity": 2, "unit_price": "10.00"}],
        )
    )
    ship(order)
    invoice = Invoice.objects.get()
    assert invoice.reverse_charge and invoice.customer_vat_number == "DE136695976"
    assert invoice.vat_amount == 0 and invoice.total_amount == order.total_amount
    text = _pdf_text(invoice_pdf_render(invoice))
    assert "btw verlegd" in text and "DE136695976" in text


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.django_db
@override_settings(
    SELLER={
        "name": "Fietsenwinkel Utrecht B.V.",
        "street": "Oudegracht 77",
        "postal_code": "3511 AD",
        "city": "Utrecht",
        "country": "NL",
        "vat_number": "NL859127583B01",
        "kvk_number": "30123456",
        "iban": "NL91ABNA0417164300",
        "bic": "ABNANL2A",
        "email": "factuur@fiets.example.nl",
    }
)
@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_invoice_pdf_renders_with_every_mandatory_field(mixed_order, shirt, book, language):
    mixed_order.customer.language = language
    mixed_order.customer.save(update_fields=["language"])
    ship(Order.objects.get(pk=mixed_order.pk), {shirt.sku: 1, book.sku: 2})
    invoice = Invoice.objects.get()
    pdf = invoice_pdf_render(invoice)
    # it renders: page one as an image, with ink on it
    document = pypdfium2.PdfDocument(pdf)
    image = document[0].render(scale=1).to_pil().convert("L")
    assert image.size[0] > 500 and image.size[1] > 700
    assert image.getextrema()[0] < 80  # dark text on white
    # and says everything the law asks (NL-RULES §3)
    text = _pdf_text(pdf)
    nl = language == "nl"
    for expected in [
        "Fietsenwinkel Utrecht B.V.",
        "Oudegracht 77",
        "3511 AD Utrecht",
        "NL859127583B01",
        "30123456",
        "An de Vries",
        "Oudegracht 12-A",
        "3511 AB Utrecht",
        invoice.number,
        mixed_order.payment_reference,
        shirt.sku,
        book.sku,
        "Factuur" if nl else "Invoice",
        "Leverdatum" if nl else "Date of supply",
        "Prijs per stuk excl. btw" if nl else "Unit price excl. VAT",
    ]:
        assert expected in text, expected
    month = invoice.issue_date.strftime("%B")
    assert str(invoice.issue_date.day) in text and (not nl or month not in text)
    # quantities and unit prices excl. VAT, VAT per rate, totals
    euro = (lambda a: f"€ {a:.2f}".replace(".", ",")) if nl else (lambda a: f"€ {a:,.2f}")
    shirt_line = invoice.lines.get(sku=shirt.sku)
    assert euro(shirt_line.unit_price_excl) in text and euro(shirt_line.net_amount) in text
    for row in invoice.vat_breakdown:
        assert euro(D(row["vat"])) in text and euro(D(row["net"])) in text
    assert "21%" in text and "9%" in text
    assert euro(invoice.total_amount) in text and euro(invoice.vat_amount) in text and euro(invoice.net_amount) in text


@pytest.mark.django_db
def test_a_credit_note_refers_to_the_invoice_and_renders(mixed_order, shirt):
    from core.tests.factories import UserFactory

    ship(mixed_order)
    invoice = Invoice.objects.get()
    root = UserFactory(username="root", is_superuser=True)
    (credit_note,) = credit_note_for_returned_lines(
        order_id=mixed_order.pk,
        lines=[(mixed_order.lines.get(sku=shirt.sku).pk, 1)],
        actor=root,
        source_reference="RMA-1",
    )
    assert (credit_note.invoice, credit_note.invoice_number, credit_note.invoice_date) == (
        invoice,
        invoice.number,
        invoice.issue_date,
    )
    assert credit_note.total_amount == D("-19.28") and credit_note.number.startswith("CN")
    goodwill = credit_note_goodwill(invoice_id=invoice.pk, amount=D("5.00"), note="late delivery", actor=root)
    assert goodwill.total_amount == D("-5.00")
    assert sum(line.total_amount for line in goodwill.lines.all()) == D("-5.00")
    from payments.services.documents import credit_note_pdf_render

    text = _pdf_text(credit_note_pdf_render(credit_note))
    assert credit_note.number in text and invoice.number in text and "-" in text
    assert CreditNote.objects.count() == 2


@pytest.mark.django_db
def test_the_invoice_is_mailed_once_with_its_pdf(mixed_order, run_on_commit, mailoutbox):
    from payments.services.documents import invoice_send

    with run_on_commit():
        ship(mixed_order)
    invoice = Invoice.objects.get()
    mails = [m for m in mailoutbox if invoice.number in m.subject]
    assert len(mails) == 1 and mails[0].to == ["an@example.nl"]
    (attachment,) = mails[0].attachments
    assert attachment[2] == "application/pdf" and attachment[1].startswith(b"%PDF")
    assert not invoice_send(invoice_id=invoice.pk)  # a second run mails nothing
    assert IssuedDocument.objects.get(number=invoice.number).mailed_at is not None


# --- the API: pdf_url, the PDF for its own channel only, the payment summary ----------------------


@pytest.fixture
def shipped(api_for, channel, other_channel, mixed_order):
    ship(mixed_order)
    return {"order": mixed_order, "invoice": Invoice.objects.get(), "shop": api_for(channel=channel)}


@pytest.mark.django_db
def test_the_order_shows_its_invoices_with_a_pdf_link_and_its_payment(shipped):
    body = shipped["shop"].get(f"/api/v1/orders/{shipped['order'].number}/").json()
    invoice = shipped["invoice"]
    assert body["invoices"] == [
        {
            "number": invoice.number,
            "total": str(invoice.total_amount),
            "pdf_url": f"http://testserver/api/v1/invoices/{invoice.number}.pdf",
        }
    ]
    assert body["payment"] == {
        "method": "bank_transfer",
        "status": "open",
        "reference": shipped["order"].payment_reference,
        "amount_due": "89.80",
        "amount_paid": "0.00",
        "cleared": True,
    }
    response = shipped["shop"].get(body["invoices"][0]["pdf_url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "who, status",
    [("own channel", 200), ("other channel", 404), ("location", 403), ("finance", 200), ("warehouse", 403)],
)
def test_who_may_download_an_invoice(shipped, api_for, other_channel, utr, who, status):
    from core import roles
    from core.tests.factories import UserFactory

    clients = {
        "own channel": lambda: shipped["shop"],
        "other channel": lambda: api_for(channel=other_channel),
        "location": lambda: api_for(location=utr),
        "finance": lambda: api_for(user=UserFactory(username="femke", role=roles.FINANCE)),
        "warehouse": lambda: api_for(user=UserFactory(username="willem", role=roles.WAREHOUSE)),
    }
    response = clients[who]().get(f"/api/v1/invoices/{shipped['invoice'].number}.pdf")
    if status == 200:
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
    else:
        assert_contract_error(response, status)


@pytest.mark.django_db
def test_the_order_list_costs_the_same_queries_for_5_and_30_orders(
    api_for, channel, shirt, django_assert_max_num_queries
):
    shop_client = api_for(channel=channel)
    for i in range(30):
        order = _cleared(place(channel, reference=f"L{i}", lines=[{"sku": shirt.sku, "unit_price": "5.00"}]))
        if i % 2:
            ship(order)
    shop_client.get("/api/v1/orders/", {"page_size": 1})  # the key's first use is recorded once
    for size in (5, 30):
        # key, orders, addresses, lines, fulfilments (+ lines, shipments, shipment lines), payments, invoices
        with django_assert_max_num_queries(10):
            response = shop_client.get("/api/v1/orders/", {"page_size": size})
        results = response.json()["results"]
        assert len(results) == size and any(o["invoices"] for o in results)
