"""Bad input, by hand: what a careless or hostile client, file or bank can send, and
what the back-office does with it. Nothing here is ever a 500 or a traceback; what is
refused is refused in the contract's error body (API) or with line-numbered errors
(files), and nothing is stored but what the contract says (the order inbox row).

Each concern is a table; a new case is one more row:

- BIG: bodies above DATA_UPLOAD_MAX_MEMORY_SIZE → 400 `request_too_large`, on every
  operation that reads a body;
- NESTED: JSON nested past the decoder's depth → 400 `parse_error`;
- UNSTORABLE: NUL bytes and lone surrogates (which PostgreSQL cannot store) in bodies →
  400, the order inbox still keeps the post;
- UNICODE: emoji, right-to-left script, combining marks, zero-width joiners in names and
  addresses → kept exactly, answered exactly, and printed on the packing slip and invoice;
- MONEY_AS_NUMBERS / MONEY_SPELLINGS: amounts as JSON numbers are refused (a float cannot
  say 19.95); amounts as strings are exact; totals that would overflow a money column → 400;
- QUANTITIES: zero, negative, fractional and huge quantities on shipments → 400, nothing
  shipped;
- INJECTION: SQL and HTML in free text is stored literally, escaped on every staff screen
  that shows it (orders, customers, the order inbox, the finance queue) and printed
  literally in the invoice and packing-slip PDFs (text read back with pypdf);
- BROKEN_CSV: the three import commands with broken files → non-zero exit, each error
  with its line number, nothing imported;
- BROKEN_STATEMENTS: bank statements that are not readable (truncated, entity expansion,
  wrong namespace, wrong encoding, garbage, NUL bytes) → a clear error naming the file and
  the place, nothing stored — through the service, the command and the staff upload.

Cases covered elsewhere are not repeated (docs/reliability.md lists them): the order
body's field-by-field validation, malformed JSON, NaN/Infinity/huge number literals and
a random-value fuzz (orders/tests/test_api_intake.py), the statement parsers' refusals
and their fuzz (payments/tests/test_statements.py, test_statements_fuzz.py), the
catalog import's broken files (catalog/tests/test_imports.py) and NUL in URLs, queries
and cookies (core/tests/test_api_robustness.py).
"""

import io
import json
import os
import subprocess
import sys
import unicodedata
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pypdfium2
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from catalog.models import Product
from catalog.tests.files import CATALOG_HEADER
from core.tests.factories import UserFactory
from core.tests.test_api_base import assert_contract_error
from core.tests.utils import login_staff
from inventory.models import Location, Stock, StockMovement
from orders.models import Order, OrderInbox, Shipment
from orders.tests.fixtures import order_body
from payments.exceptions import StatementParseError
from payments.models import BankStatementImport, BankStatementLine
from payments.services.statements import bank_statement_import
from payments.tests.test_statements import CAMT_WITH_BOTH
from tests.reliability.support.world import ORDERS_URL, World

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "samples" / "bank"


def _order_body(world: World, reference: str, **overrides) -> dict:
    lines = overrides.pop("lines", [{"sku": world.product.sku, "quantity": 1, "unit_price": "19.95"}])
    return order_body(reference, lines=lines, method="pos", **overrides)


def _stored() -> tuple:
    return (Order.objects.count(), Shipment.objects.count(), StockMovement.objects.count())


# --- bodies too large to read ------------------------------------------------------------------

TOO_BIG = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)


def _big_order(world, order):
    body = _order_body(world, "BIG-1")
    body["customer"]["first_name"] = TOO_BIG
    return "channel_a", ORDERS_URL, json.dumps(body), "application/json"


def _big_cancel(world, order):
    return "channel_a", f"/api/v1/orders/{order.number}/cancel/", json.dumps({"reason": TOO_BIG}), "application/json"


def _big_shipment(world, order):
    path = f"/api/v1/fulfilments/{order.fulfilments.get().code}/shipments/"
    return "location", path, json.dumps({"carrier": "postnl", "tracking_code": TOO_BIG}), "application/json"


def _big_webhook(world, order):
    return "anonymous", "/api/v1/payments/webhooks/mollie/", f"id={TOO_BIG}", "application/x-www-form-urlencoded"


BIG = {"orders_create": _big_order, "orders_cancel": _big_cancel, "shipment": _big_shipment, "webhook": _big_webhook}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(BIG))
def test_a_body_above_the_upload_limit_is_a_400_and_changes_nothing(world, case):
    # given an open order
    order = world.order("a")
    who, path, data, content_type = BIG[case](world, order)
    before = (_stored(), OrderInbox.objects.count())
    # when
    response = world.client(who).post(path, data=data, content_type=content_type)
    # then: refused before it is read, so not even the inbox keeps it
    body = assert_contract_error(response, 400, code="request_too_large")
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in body["errors"][0]["detail"]
    assert (_stored(), OrderInbox.objects.count()) == before
    assert Order.objects.get(pk=order.pk).cancelled_at is None


# --- JSON nested too deeply (the order intake's case is in orders/tests/test_api_intake.py) ----

DEEP = '{"a":' * 100_000 + "1" + "}" * 100_000
NESTED = {
    "orders_cancel": ("channel_a", lambda order: f"/api/v1/orders/{order.number}/cancel/"),
    "shipment": ("location", lambda order: f"/api/v1/fulfilments/{order.fulfilments.get().code}/shipments/"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(NESTED))
def test_json_nested_too_deeply_is_a_400(world, case):
    order = world.order("a")
    who, path = NESTED[case]
    before = _stored()
    response = world.client(who).post(path(order), data=DEEP, content_type="application/json")
    assert_contract_error(response, 400, code="parse_error")
    assert _stored() == before
    assert Order.objects.get(pk=order.pk).cancelled_at is None


# --- characters PostgreSQL cannot store ----------------------------------------------------------

# (where, raw JSON text replacing the valid value, the error code, its attr)
UNSTORABLE = [
    ("raw NUL byte", '"external_reference": "UNS-\x00"', "parse_error", None),
    ("NUL in a name", '"first_name": "A\\u0000n"', "null_characters_not_allowed", "customer.first_name"),
    ("NUL quoted back", '"method": "p\\u0000os"', "invalid_choice", "payment.method"),
    (
        "lone surrogate in a name",
        '"first_name": "A\\ud800n"',
        "surrogate_characters_not_allowed",
        "customer.first_name",
    ),
    ("lone surrogate quoted back", '"method": "p\\udc00os"', "invalid_choice", "payment.method"),
    ("NUL in a street", '"street": "Oude\\u0000gracht"', "null_characters_not_allowed", "billing_address.street"),
]
_VALID = {
    "external_reference": '"external_reference": "UNS-1"',
    "first_name": '"first_name": "An"',
    "method": '"method": "pos"',
    "street": '"street": "Oudegracht"',
}


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "raw", "code", "attr"), UNSTORABLE, ids=[c[0] for c in UNSTORABLE])
def test_characters_postgresql_cannot_store_are_a_400_and_the_inbox_keeps_the_post(world, case, raw, code, attr):
    # given a valid body with one value replaced by the raw JSON text
    text = json.dumps(_order_body(world, "UNS-1"))
    key = raw.split('"')[1]
    assert _VALID[key] in text
    text = text.replace(_VALID[key], raw, 1)
    before = _stored()
    # when
    response = world.client("channel_a").post(ORDERS_URL, data=text.encode(), content_type="application/json")
    # then
    assert_contract_error(response, 400, code=code, attr=attr)
    assert b"\x00" not in response.content  # an error that quotes the value back escapes it as JSON does
    assert _stored() == before
    inbox = OrderInbox.objects.get()
    assert inbox.result == OrderInbox.Result.REJECTED
    assert "\x00" not in inbox.body and code in [e["code"] for e in inbox.errors]


# --- unicode is kept exactly ------------------------------------------------------------------

UNICODE = {
    "first_name": "Zoë 😀",
    "last_name": "דוד כהן",  # Hebrew, right to left
    "company_name": "مخبز الهدى",  # Arabic, right to left
    "street": "Ĳsselstraße",
    "house_number": "12",
    "city": "’s-Hertogenbosch",
    "combining": "Cafe\u0301 Noe\u0308l",  # e + combining acute, e + combining diaeresis: not normalised
    "zwj": "👩\u200d👩\u200d👧 family",  # zero-width joiners inside one emoji
}


def _unicode_order(world: World) -> Order:
    body = _order_body(world, "UNI-1")
    body["customer"].update(
        first_name=UNICODE["first_name"], last_name=UNICODE["last_name"], company_name=UNICODE["company_name"]
    )
    body["billing_address"].update(street=UNICODE["street"], city=UNICODE["city"])
    body["shipping_address"] = {**body["billing_address"], "street": UNICODE["combining"], "city": UNICODE["zwj"]}
    response = world.client("channel_a").post(ORDERS_URL, body, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def _pdf_text_exact(pdf: bytes) -> str:
    """The PDF's text as pdfium reads it (pypdf does not map every font's emoji and
    right-to-left glyphs back to their characters)."""
    document = pypdfium2.PdfDocument(pdf)
    return " ".join(page.get_textpage().get_text_range() for page in document)


@pytest.mark.django_db
def test_emoji_right_to_left_and_combining_characters_are_kept_answered_and_printed_exactly(world):
    # given an order with every kind of text a shop may send
    order = _unicode_order(world)
    # then the database holds exactly what was sent (no normalisation, nothing dropped)
    assert (order.first_name, order.last_name, order.company_name) == (
        UNICODE["first_name"],
        UNICODE["last_name"],
        UNICODE["company_name"],
    )
    shipping = order.addresses.get(kind="shipping")
    billing = order.addresses.get(kind="billing")
    assert (billing.street, billing.city) == (UNICODE["street"], UNICODE["city"])
    assert (shipping.street, shipping.city) == (UNICODE["combining"], UNICODE["zwj"])
    # and the API answers it exactly
    answer = world.client("channel_a").get(f"{ORDERS_URL}{order.number}/").json()
    assert answer["customer"]["last_name"] == UNICODE["last_name"]
    assert answer["shipping_address"]["street"] == UNICODE["combining"]
    # and the packing slip and the invoice print it
    world.ship(order)
    slip = world.client("location").get(f"/api/v1/fulfilments/{order.fulfilments.get().code}/packing-slip.pdf")
    invoice = world.client("channel_a").get(f"/api/v1/invoices/{world.invoice_of(order).number}.pdf")
    for response in (slip, invoice):
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    # (word by word: a right-to-left name inside a left-to-right line comes out in visual
    # order; emoji are drawn as far as the PDF's fonts have them, so only words are compared)
    printed = {
        "packing slip": unicodedata.normalize("NFC", _pdf_text_exact(slip.content)).split(),
        "invoice": unicodedata.normalize("NFC", _pdf_text_exact(invoice.content)).split(),
    }
    words = {
        "packing slip": "Zoë דוד כהן مخبز الهدى Café Noël family",
        "invoice": f"Zoë דוד כהן مخبز الهدى {UNICODE['street']} {UNICODE['city']}",
    }
    for document, expected in words.items():
        missing = [word for word in expected.split() if word not in printed[document]]
        assert not missing, (document, missing, printed[document])


# --- money: strings, exactly -----------------------------------------------------------------

MONEY_FIELDS = {
    "unit_price": lambda body, v: body["lines"][0].update(unit_price=v),
    "discount": lambda body, v: body["lines"][0].update(discount=v),
    "shipping_cost": lambda body, v: body.update(shipping_cost=v),
}
MONEY_AS_NUMBERS = [19.95, 0.1, 20, 0, True]


@pytest.mark.django_db
@pytest.mark.parametrize("value", MONEY_AS_NUMBERS, ids=[repr(v) for v in MONEY_AS_NUMBERS])
@pytest.mark.parametrize("field", sorted(MONEY_FIELDS))
def test_an_amount_as_a_json_number_is_refused_naming_the_field(world, field, value):
    body = _order_body(world, "NUM-1")
    MONEY_FIELDS[field](body, value)
    before = _stored()
    response = world.client("channel_a").post(ORDERS_URL, body, format="json")
    attr = field if field == "shipping_cost" else f"lines.0.{field}"
    assert_contract_error(response, 400, code="not_a_string", attr=attr)
    assert _stored() == before


# (unit price as sent, quantity, the line's total as answered and stored)
MONEY_SPELLINGS = [
    ("0.10", 3, "0.30"),  # 0.1 * 3 is 0.30000000000000004 in floating point
    ("19.95", 3, "59.85"),
    (" 19.95 ", 1, "19.95"),
    ("19.9", 1, "19.90"),
    ("-0.00", 1, "0.00"),  # no negative zero in the answer
    ("0.00", 2, "0.00"),
    ("999999.99", 10_000, "9999999900.00"),  # the largest line an order may hold, to the cent
]


@pytest.mark.django_db
@pytest.mark.parametrize(("price", "quantity", "total"), MONEY_SPELLINGS, ids=[c[0] for c in MONEY_SPELLINGS])
def test_an_amount_as_a_string_is_exact(world, price, quantity, total):
    body = _order_body(world, "MNY-1", lines=[{"sku": world.product.sku, "quantity": quantity, "unit_price": price}])
    body["shipping_cost"] = "0.00"
    response = world.client("channel_a").post(ORDERS_URL, body, format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["lines"][0]["total"], answer["totals"]["total"]) == (total, total)
    assert answer["lines"][0]["unit_price"] == Decimal(price).quantize(Decimal("0.01")).copy_abs().to_eng_string()
    order = Order.objects.get(number=answer["number"])
    assert (order.total_amount, order.lines.get().total_amount) == (Decimal(total), Decimal(total))
    assert world.client("channel_a").get(f"{ORDERS_URL}{order.number}/").json()["totals"] == answer["totals"]


AMOUNT_TOO_LARGE = [
    ("a line past the money column", [("9999999999.99", 2)], "0.00", "lines.0"),
    ("lines that add up past it", [("9999999999.99", 1), ("0.01", 1)], "0.00", None),
    ("shipping that takes it past", [("9999999999.99", 1)], "0.01", None),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "lines", "shipping", "attr"), AMOUNT_TOO_LARGE, ids=[c[0] for c in AMOUNT_TOO_LARGE])
def test_an_order_whose_amounts_do_not_fit_a_money_column_is_a_400(world, case, lines, shipping, attr):
    body = _order_body(
        world, "HUGE-1", lines=[{"sku": world.product.sku, "quantity": q, "unit_price": p} for p, q in lines]
    )
    body["shipping_cost"] = shipping
    before = _stored()
    response = world.client("channel_a").post(ORDERS_URL, body, format="json")
    errors = assert_contract_error(response, 400, code="amount_too_large")["errors"]
    assert errors[0]["attr"] == attr
    assert _stored() == before


# --- quantities on shipments (the order's own are in orders/tests/test_api_intake.py) ---------

QUANTITIES = [
    ("zero", 0, "min_value"),
    ("negative", -1, "min_value"),
    ("fractional", 1.5, "invalid"),
    ("huge", 2**63, "max_value"),
    ("a string", "1; DROP TABLE orders_shipment", "invalid"),
    ("null", None, "null"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "quantity", "code"), QUANTITIES, ids=[c[0] for c in QUANTITIES])
def test_a_shipment_line_with_a_bad_quantity_is_a_400_and_ships_nothing(world, case, quantity, code):
    order = world.order("a")
    fulfilment = order.fulfilments.get()
    before = _stored()
    response = world.client("location").post(
        f"/api/v1/fulfilments/{fulfilment.code}/shipments/",
        {
            "carrier": "postnl",
            "tracking_code": "3SBAD0001",
            "lines": [{"sku": world.product.sku, "quantity": quantity}],
        },
        format="json",
    )
    assert_contract_error(response, 400, code=code, attr="lines.0.quantity")
    assert _stored() == before


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["carrier", "tracking_code"])
def test_a_shipment_with_a_nul_character_is_a_400_and_ships_nothing(world, field):
    fulfilment = world.order("a").fulfilments.get()
    body = {"carrier": "postnl", "tracking_code": "3SNUL0001", "lines": [{"sku": world.product.sku, "quantity": 1}]}
    body[field] = body[field][:3] + "\x00" + body[field][3:]
    before = _stored()
    response = world.client("location").post(f"/api/v1/fulfilments/{fulfilment.code}/shipments/", body, format="json")
    assert_contract_error(response, 400, code="null_characters_not_allowed", attr=field)
    assert _stored() == before


# --- SQL and HTML in free text: stored literally, shown escaped, printed literally ------------

INJECTION = {
    "first_name": "<script>alert('xss')</script>",
    "last_name": "Robert'); DROP TABLE orders_order;--",
    "company_name": '<b>Bold</b> & "Co" <img src=x onerror=alert(1)>',
    "street": "' OR '1'='1",
    "city": "<iframe src=//evil.example>",
    "external_reference": "<svg/onload=alert(2)>",
}


def _injection_order(world: World) -> Order:
    body = _order_body(world, INJECTION["external_reference"])
    body["customer"].update(
        first_name=INJECTION["first_name"], last_name=INJECTION["last_name"], company_name=INJECTION["company_name"]
    )
    body["billing_address"].update(street=INJECTION["street"], city=INJECTION["city"])
    response = world.client("channel_a").post(ORDERS_URL, body, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def _staff_client() -> Client:
    client = Client()
    login_staff(client, UserFactory(username="injection-admin", is_superuser=True))
    return client


def _assert_escaped(page: str, where: str, values) -> None:
    from django.utils.html import escape

    for value in values:
        if any(c in value for c in "<>&\"'"):
            assert value not in page, f"{where}: {value!r} is in the page unescaped"
        assert escape(value) in page, f"{where}: {value!r} is not on the page (escaped)"


def _pdf_text(pdf: bytes) -> str:
    """The PDF's text as pypdf reads it: runs of the embedded fonts come out with NUL
    bytes between the characters, and long lines wrap; both are taken out."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.replace("\x00", "").split())


@pytest.mark.django_db
def test_sql_and_html_in_free_text_are_stored_literally_and_the_tables_are_still_there(world):
    order = _injection_order(world)
    # then every value is exactly what was sent, and the DROP TABLE did nothing
    assert (order.first_name, order.last_name, order.company_name, order.external_reference) == (
        INJECTION["first_name"],
        INJECTION["last_name"],
        INJECTION["company_name"],
        INJECTION["external_reference"],
    )
    assert order.addresses.get(kind="billing").street == INJECTION["street"]
    assert "orders_order" in connection.introspection.table_names()
    assert Order.objects.count() == 1
    # and looking it up by that text finds exactly it
    found = world.client("channel_a").get(ORDERS_URL, {"external_reference": INJECTION["external_reference"]})
    assert [o["number"] for o in found.json()["results"]] == [order.number]
    assert world.client("channel_a").get(ORDERS_URL, {"external_reference": "' OR '1'='1"}).json()["results"] == []


@pytest.mark.django_db
def test_sql_and_html_in_free_text_are_escaped_on_every_staff_screen_that_shows_them(world):
    # given an order with script and markup in its texts, and a rejected post with it too
    order = _injection_order(world)
    rejected = _order_body(world, "INJ-REJ")
    rejected["payment"]["method"] = INJECTION["first_name"]  # quoted back in the error
    world.client("channel_a").post(ORDERS_URL, rejected, format="json")
    inbox = OrderInbox.objects.get(result=OrderInbox.Result.REJECTED)
    staff = _staff_client()
    screens = {
        "order": reverse("admin:orders_order_change", args=[order.pk]),
        "order search": reverse("admin:orders_order_changelist") + "?q=" + INJECTION["last_name"],
        "customer": reverse("admin:customers_customer_change", args=[order.customer_id]),
        "customer list": reverse("admin:customers_customer_changelist"),
        "inbox": reverse("admin:orders_orderinbox_change", args=[inbox.pk]),
    }
    shown = {
        "order": ["first_name", "last_name", "company_name", "street", "city", "external_reference"],
        "order search": ["last_name"],
        "customer": ["first_name", "last_name", "company_name"],
        "customer list": ["first_name"],
        "inbox": ["first_name"],
    }
    for screen, url in screens.items():
        response = staff.get(url)
        assert response.status_code == 200, (screen, response.status_code)
        _assert_escaped(response.content.decode(), screen, [INJECTION[k] for k in shown[screen]])


@pytest.mark.django_db
def test_sql_and_html_in_free_text_are_printed_literally_on_the_invoice_and_the_packing_slip(world):
    # given the order shipped (so it has an invoice)
    order = _injection_order(world)
    world.ship(order)
    slip = world.client("location").get(f"/api/v1/fulfilments/{order.fulfilments.get().code}/packing-slip.pdf")
    invoice = world.client("channel_a").get(f"/api/v1/invoices/{world.invoice_of(order).number}.pdf")
    # then the markup is text on the page, not markup that was followed
    printed = {"packing slip": _pdf_text(slip.content), "invoice": _pdf_text(invoice.content)}
    for document, text in printed.items():
        for key in ("first_name", "last_name", "company_name", "street", "city"):
            assert INJECTION[key] in text, (document, key, text)
    assert INJECTION["external_reference"] in printed["packing slip"]


@pytest.mark.django_db
def test_html_in_a_bank_statement_is_escaped_in_the_finance_queue(world):
    # given a statement whose payer name and text carry markup
    data = (
        CAMT_WITH_BOTH.replace("An de Vries", "&lt;script&gt;alert(3)&lt;/script&gt;")
        .replace("Bestelling WEB-2026-000123", "&lt;b&gt;order&lt;/b&gt; ' OR 1=1 --")
        .encode()
    )
    bank_statement_import(data=data, filename="markup.xml")
    line = BankStatementLine.objects.get()
    assert line.counterparty_name == "<script>alert(3)</script>"
    # then the finance queue and the line show it escaped
    staff = _staff_client()
    screens = {
        reverse("admin:payments_bankstatementline_changelist"): ["<script>alert(3)</script>"],
        reverse("admin:payments_bankstatementline_change", args=[line.pk]): [
            "<script>alert(3)</script>",
            "<b>order</b> ' OR 1=1 --",
        ],
    }
    for url, values in screens.items():
        response = staff.get(url)
        assert response.status_code == 200, url
        _assert_escaped(response.content.decode(), url, values)


# --- CSV imports with broken files -------------------------------------------------------------

LOCATIONS_HEADER = "code,name,storage,cutoff,priority"
STOCK_HEADER = "location,sku,quantity"


def _csv(header: str, *rows: str, encoding: str = "utf-8") -> bytes:
    return "\n".join([header, *rows, ""]).encode(encoding)


# (command, file, an error it must print with its line number); the catalog's own broken
# files (missing column, semicolons, unknown column, latin-1 line) are in catalog/tests/test_imports.py
L, S, C = LOCATIONS_HEADER, STOCK_HEADER, CATALOG_HEADER
NOT_UTF8 = "line 2: this line is not UTF-8"
BROKEN_CSV = [
    ("import_locations", b"", "line 1: the file is empty"),
    ("import_locations", _csv("code;name;storage;cutoff;priority", "AMS;A;normal;17:00;1"), "line 1: the columns"),
    ("import_locations", _csv("kode,naam,opslag,sluit,prio", "AMS,A,normal,17:00,1"), "line 1, code: this column"),
    (
        "import_locations",
        _csv(L, "AMS,Amstérdam,normal,17:00,10", encoding="latin-1"),
        "line 2: this line is not UTF-8",
    ),
    ("import_locations", _csv(L, "AMS,A,normal,17:00,10,extra"), "line 2: 6 fields where the header has 5"),
    ("import_locations", _csv(L, 'AMS,"open quote,normal,17:00,10'), "line 2: not readable as CSV"),
    ("import_locations", _csv(L, "AMS,Am\x00s,normal,17:00,10"), "line 2: this line holds a NUL byte"),
    ("import_locations", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "line 1: this line is not UTF-8"),
    ("import_stock", b"", "line 1: the file is empty"),
    ("import_stock", b"\xff\xfe\x00\x00garbage\x00\xff", "line 1: this line is not UTF-8"),
    ("import_stock", _csv(S, "UTR,TSHIRT-RED-M,4,9"), "line 2: 4 fields where the header has 3"),
    ("import_stock", _csv(S, "UTR,TSHIRT-RED-M\x00,4"), "line 2: this line holds a NUL byte"),
    ("import_stock", _csv("sku,location,qty", "TSHIRT-RED-M,UTR,4"), "line 1, quantity: this column is missing"),
    ("import_stock", _csv(S, "UTR,TSHIRT-RED-M,99999999999999999999"), "line 2, quantity"),
    ("import_catalog", _csv(C, "NEW-1,Go\x00ed,,21,1.00,normal,1,,,"), "line 2: this line holds a NUL byte"),
    ("import_catalog", _csv(C, "NEW-1,Goed,,21,1.00,normal,1,,,,"), "line 2: 11 fields where the header has 10"),
    ("import_catalog", bytes(range(256)) * 4, "this line is not UTF-8"),
]


def _counts() -> tuple:
    return (Location.objects.count(), Product.objects.count(), Stock.objects.count(), StockMovement.objects.count())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("command", "data", "error"), BROKEN_CSV, ids=[f"{c[0]}-{i}" for i, c in enumerate(BROKEN_CSV)]
)
def test_a_broken_csv_file_imports_nothing_and_names_the_line(world, tmp_path, command, data, error):
    path = tmp_path / "broken.csv"
    path.write_bytes(data)
    before = _counts()
    err = StringIO()
    with pytest.raises(CommandError) as failure, translation.override("en"):
        call_command(command, str(path), stdout=StringIO(), stderr=err)
    assert "nothing was imported" in str(failure.value)
    assert error in err.getvalue(), err.getvalue()
    assert _counts() == before


@pytest.mark.django_db
def test_the_import_command_exits_non_zero_with_the_errors_on_stderr(tmp_path):
    # the real command line, as an operator runs it (call_command raises instead of exiting)
    path = tmp_path / "locations.csv"
    path.write_bytes(_csv(LOCATIONS_HEADER, "AMS,Amsterdam,normal,25:00,10", "RTM,Rotterdam,frozen,17:00,1"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backoffice.settings_test", "DATABASE_URL": _test_database_url()}
    result = subprocess.run(
        [sys.executable, "manage.py", "import_locations", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then: exit status 1, each error on its line (in Dutch, the default language), nothing imported
    assert result.returncode == 1, result.stdout + result.stderr
    assert "regel 2, cutoff: " in result.stderr and "regel 3, storage: " in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert Location.objects.count() == 0


def _test_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


# --- bank statements that cannot be read ---------------------------------------------------------


def _sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def _statements() -> dict[str, bytes]:
    camt = _sample("camt053_nl_sns-volksbank_anonymised.xml")
    mt940 = _sample("mt940_rabobank_structured.txt")
    return {
        "camt truncated": camt[: len(camt) // 2],
        "camt entity expansion": (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
            b"<BkToCstmrStmt>&c;</BkToCstmrStmt></Document>"
        ),
        "camt external entity": (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>'
        ),
        "camt wrong namespace": camt.replace(b"camt.053.001.02", b"camt.052.001.02"),
        "camt with latin-1 in a UTF-8 file": camt.replace(b"</Document>", b"<!-- caf\xe9 --></Document>"),
        "camt with a NUL reference": camt.replace(b"</Document>", b"&#0;</Document>"),
        "mt940 truncated": mt940[: mt940.rindex(b":62F:")],
        "mt940 with a NUL byte": mt940.replace(b":86:", b":86:\x00", 1),
        "garbage": bytes(range(256)) * 8,
        "a PDF": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n",
        "empty": b"",
    }


BROKEN_STATEMENTS = [
    "camt truncated",
    "camt entity expansion",
    "camt external entity",
    "camt wrong namespace",
    "camt with latin-1 in a UTF-8 file",
    "camt with a NUL reference",
    "mt940 truncated",
    "mt940 with a NUL byte",
    "garbage",
    "a PDF",
    "empty",
]


def test_every_broken_statement_is_in_the_table():
    assert sorted(_statements()) == sorted(BROKEN_STATEMENTS)


@pytest.mark.django_db
@pytest.mark.parametrize("case", BROKEN_STATEMENTS)
def test_a_broken_bank_statement_is_a_clear_error_and_stores_nothing(world, case):
    data = _statements()[case]
    # when the service reads it
    with pytest.raises(StatementParseError) as error:
        bank_statement_import(data=data, filename="statement.dat", actor=world.staff["finance"])
    # then the message names the file, and nothing was stored
    assert str(error.value).startswith("statement.dat"), str(error.value)
    assert (BankStatementImport.objects.count(), BankStatementLine.objects.count()) == (0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["camt truncated", "mt940 with a NUL byte", "garbage"])
def test_the_statement_command_and_the_staff_upload_refuse_a_broken_file_and_store_nothing(world, tmp_path, case):
    data = _statements()[case]
    path = tmp_path / "statement.dat"
    path.write_bytes(data)
    # the command: a CommandError (exit status 1) with the file and the place
    with pytest.raises(CommandError) as failure:
        call_command("import_bank_statement", str(path), stdout=StringIO())
    assert "statement.dat" in str(failure.value)
    # the staff upload: the form again, with the error on the file
    staff = Client()
    login_staff(staff, world.staff["finance"])
    upload = io.BytesIO(data)
    upload.name = "statement.dat"
    response = staff.post(reverse("admin:payments_bankstatementimport_upload"), {"file": upload})
    assert response.status_code == 200
    assert "statement.dat" in response.content.decode()
    assert (BankStatementImport.objects.count(), BankStatementLine.objects.count()) == (0, 0)
