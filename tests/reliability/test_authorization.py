"""Who may do what, from one table: every API operation × every kind of client, and
every admin screen × every staff role.

API: MATRIX has one row per operation of the OpenAPI schema; a new endpoint without a
row fails `test_every_api_operation_has_a_row`. Each row names the target (what the
call is about: channel A's order, invoice, …) and the expected status for each client
in WHO order:

    anonymous  channel_a  channel_b  location  manager  finance  warehouse  customer_service

Another channel's data is a 404 (not a 403: its existence is not revealed); a kind of
client the operation is not for is a 403; no key is a 401.

Admin: every registered model's changelist × role is 200 exactly when the role holds
the model's view or change permission (core/roles.py), except the screens listed in
ADMIN_EXCEPTIONS, each with its reason.
"""

import itertools
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from core.tests.factories import UserFactory
from core.tests.utils import login_staff
from orders.tests.fixtures import order_body
from tests.reliability.support.world import STAFF_ROLES, WHO, World

_refs = itertools.count(1)


# --- targets: what a call is about (fresh per client for calls that change something) ---


def _static(path):
    return lambda world, cache, who: (path, None)


def _order_a(world, cache, who):
    if "order_a" not in cache:
        cache["order_a"] = world.order("a")
    return cache["order_a"]


def _shipped_a(world, cache, who):
    if "shipped_a" not in cache:
        cache["shipped_a"] = world.shipped_order("a")
    return cache["shipped_a"]


def order_detail(world, cache, who):
    return f"/api/v1/orders/{_order_a(world, cache, who).number}/", None


def order_cancel(world, cache, who):
    return f"/api/v1/orders/{world.order('a').number}/cancel/", {"reason": "matrix"}


def order_create(world, cache, who):
    lines = [{"sku": world.product.sku, "quantity": 1, "unit_price": "19.95"}]
    return "/api/v1/orders/", order_body(f"MATRIX-{next(_refs)}", lines=lines, method="pos")


def customer_detail(world, cache, who):
    return f"/api/v1/customers/{_order_a(world, cache, who).customer_id}/", None


def fulfilment_detail(world, cache, who):
    return f"/api/v1/fulfilments/{_order_a(world, cache, who).fulfilments.get().code}/", None


def fulfilment_document(world, cache, who):
    return f"/api/v1/fulfilments/{_order_a(world, cache, who).fulfilments.get().code}/pick-list.pdf", None


def fulfilment_step(step):
    def target(world, cache, who):
        return f"/api/v1/fulfilments/{world.order('a').fulfilments.get().code}/{step}/", None

    return target


def shipment_create(world, cache, who):
    fulfilment = world.order("a").fulfilments.get()
    body = {
        "carrier": "postnl",
        "tracking_code": f"3SMATRIX{next(_refs):06d}",
        "lines": [{"sku": world.product.sku, "quantity": 1}],
    }
    return f"/api/v1/fulfilments/{fulfilment.code}/shipments/", body


def invoice_pdf(world, cache, who):
    return f"/api/v1/invoices/{world.invoice_of(_shipped_a(world, cache, who)).number}.pdf", None


def credit_note_pdf(world, cache, who):
    if "credit_note" not in cache:
        cache["credit_note"] = world.credit_note_for(_shipped_a(world, cache, who))
    return f"/api/v1/credit-notes/{cache['credit_note'].number}.pdf", None


def webhook(world, cache, who):
    return "/api/v1/payments/webhooks/mollie/", "id=sim_tr_0000000000000000"  # an id nobody knows


@dataclass(frozen=True)
class Row:
    method: str
    target: Any
    expect: str  # one status per client, in WHO order

    def expected(self) -> dict[str, int]:
        codes = [int(code) for code in self.expect.split()]
        assert len(codes) == len(WHO), self
        return dict(zip(WHO, codes, strict=True))


# fmt: off
MATRIX: dict[str, Row] = {
    #                                                                   anon  A   B  loc mgr fin wh  cs
    "me_retrieve":                  Row("GET", _static("/api/v1/me/"),   "401 200 200 200 200 200 200 200"),
    "customers_list":               Row("GET", _static("/api/v1/customers/"), "401 200 200 403 200 200 403 200"),
    "customers_retrieve":           Row("GET", customer_detail,          "401 200 404 403 200 200 403 200"),
    "products_list":                Row("GET", _static("/api/v1/products/"), "401 200 200 403 200 200 200 200"),
    "stock_list":                   Row("GET", _static("/api/v1/stock/"), "401 200 200 403 200 200 200 200"),
    "orders_list":                  Row("GET", _static("/api/v1/orders/"), "401 200 200 403 200 200 200 200"),
    "orders_create":                Row("POST", order_create,            "401 201 201 403 403 403 403 403"),
    "orders_retrieve":              Row("GET", order_detail,             "401 200 404 403 200 200 200 200"),
    "orders_cancel":                Row("POST", order_cancel,            "401 200 404 403 200 403 403 200"),
    "fulfilments_list":             Row("GET", _static("/api/v1/fulfilments/"), "401 403 403 200 403 403 403 403"),
    "fulfilments_retrieve":         Row("GET", fulfilment_detail,        "401 403 403 200 403 403 403 403"),
    "fulfilments_document":         Row("GET", fulfilment_document,      "401 403 403 200 403 403 403 403"),
    "fulfilments_picked":           Row("POST", fulfilment_step("picked"), "401 403 403 200 403 403 403 403"),
    "fulfilments_packed":           Row("POST", fulfilment_step("packed"), "401 403 403 200 403 403 403 403"),
    "fulfilments_shipments_create": Row("POST", shipment_create,         "401 403 403 201 403 403 403 403"),
    "invoices_pdf":                 Row("GET", invoice_pdf,              "401 200 404 403 200 200 403 200"),
    "credit_notes_pdf":             Row("GET", credit_note_pdf,          "401 200 404 403 200 200 403 200"),
    # the provider's webhook carries no key (the body is never trusted; docs/reliability.md)
    "payments_webhook":             Row("POST", webhook,                 "200 200 200 200 200 200 200 200"),
}
# fmt: on


def schema_operations() -> dict[str, tuple[str, str]]:
    response = Client().get("/api/schema/", {"format": "json"})
    schema = json.loads(response.content)
    return {
        op["operationId"]: (method.upper(), path) for path, ops in schema["paths"].items() for method, op in ops.items()
    }


def call(world: World, who: str, row: Row, cache: dict):
    path, body = row.target(world, cache, who)
    client = world.client(who)
    if row.method == "GET":
        return client.get(path)
    if isinstance(body, str):
        return client.post(path, body, content_type="application/x-www-form-urlencoded")
    return client.post(path, body or {}, format="json")


def test_every_api_operation_has_a_row():
    operations = schema_operations()
    assert set(MATRIX) == set(operations), (
        "every operation of /api/schema/ needs a row in MATRIX (and no row may name an operation that is gone): "
        f"missing {sorted(set(operations) - set(MATRIX))}, stale {sorted(set(MATRIX) - set(operations))}"
    )
    for operation, row in MATRIX.items():
        assert row.method == operations[operation][0], operation


@pytest.mark.django_db
@pytest.mark.parametrize("operation", sorted(MATRIX))
def test_api_operation_by_every_client(world, operation):
    row = MATRIX[operation]
    cache: dict = {}
    # when every kind of client calls it
    got = {who: call(world, who, row, cache) for who in WHO}
    # then each gets exactly its status, errors in the contract's body
    statuses = {who: response.status_code for who, response in got.items()}
    assert statuses == row.expected()
    for response in got.values():
        if response.status_code >= 400:
            body = response.json()
            assert body["type"] == "client_error" and body["errors"][0]["code"], body


# --- channel A never sees channel B's data (and the other way round) ------------------


@pytest.mark.django_db
def test_a_channel_never_sees_another_channels_orders_customers_or_invoices(world):
    # given an order of each channel that shipped (so each has an invoice) and a credit note
    mine, theirs = world.shipped_order("a"), world.shipped_order("b")
    credit_note = world.credit_note_for(theirs)
    a = world.client("channel_a")
    # then A's lists hold only A's data
    orders = [o["number"] for o in a.get("/api/v1/orders/").json()["results"]]
    assert orders == [mine.number]
    customers = [c["id"] for c in a.get("/api/v1/customers/").json()["results"]]
    assert customers == [mine.customer_id]
    assert a.get("/api/v1/orders/", {"external_reference": theirs.external_reference}).json()["results"] == []
    # and B's rows are not found, whatever the way in
    for path in (
        f"/api/v1/orders/{theirs.number}/",
        f"/api/v1/customers/{theirs.customer_id}/",
        f"/api/v1/invoices/{world.invoice_of(theirs).number}.pdf",
        f"/api/v1/credit-notes/{credit_note.number}.pdf",
    ):
        response = a.get(path)
        assert response.status_code == 404, path
        assert response.json()["errors"][0]["code"] == "not_found"
    cancel = a.post(f"/api/v1/orders/{theirs.number}/cancel/", {}, format="json")
    assert cancel.status_code == 404
    assert theirs.__class__.objects.get(pk=theirs.pk).cancelled_at is None


@pytest.mark.django_db
def test_a_location_never_sees_another_locations_work(world):
    from core.services import api_key_create
    from inventory.tests.factories import LocationFactory

    order = world.order("a")
    fulfilment = order.fulfilments.get()
    _, key = api_key_create(name="other location", location=LocationFactory(code="AMS"))
    other = world.client("anonymous")
    other.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert other.get("/api/v1/fulfilments/").json()["results"] == []
    for path in (f"/api/v1/fulfilments/{fulfilment.code}/", f"/api/v1/fulfilments/{fulfilment.code}/pick-list.pdf"):
        assert other.get(path).status_code == 404, path
    shipment = other.post(
        f"/api/v1/fulfilments/{fulfilment.code}/shipments/",
        {"carrier": "postnl", "tracking_code": "3SOTHERLOC", "lines": [{"sku": world.product.sku, "quantity": 1}]},
        format="json",
    )
    assert shipment.status_code == 404
    assert not fulfilment.shipments.exists()


@pytest.mark.django_db
def test_a_revoked_key_or_a_deactivated_staff_user_is_let_in_nowhere(world):
    from core.models import ApiKey
    from core.services import api_key_revoke

    key = ApiKey.objects.get(channel=world.channel_a)
    api_key_revoke(api_key_id=key.pk)
    assert world.client("channel_a").get("/api/v1/orders/").status_code == 401
    manager = world.staff["manager"]
    manager.is_active = False
    manager.save(update_fields=["is_active"])
    assert world.client("manager").get("/api/v1/orders/").status_code in (401, 403)


# --- admin screens × roles ----------------------------------------------------------------

# Screens whose access is not simply "view or change permission on the model", and why.
ADMIN_EXCEPTIONS: dict[str, tuple[set[str], str]] = {
    "core.approvalrequest": (
        set(STAFF_ROLES),
        "every staff member sees the approval requests they may decide or made (ApprovalRequestAdmin)",
    ),
}


def _changelists() -> list[str]:
    return sorted(model._meta.label_lower for model in admin.site._registry)


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_every_admin_screen_is_open_exactly_to_the_roles_with_its_permission(role):
    user = UserFactory(username=f"adm-{role.replace('_', '-')}", role=STAFF_ROLES[role])
    client = Client()
    login_staff(client, user)
    wrong = []
    for label in _changelists():
        app_label, model_name = label.split(".")
        if label in ADMIN_EXCEPTIONS:
            allowed = role in ADMIN_EXCEPTIONS[label][0]
        else:
            allowed = user.has_perm(f"{app_label}.view_{model_name}") or user.has_perm(
                f"{app_label}.change_{model_name}"
            )
        status = client.get(reverse(f"admin:{app_label}_{model_name}_changelist")).status_code
        if status != (200 if allowed else 403):
            wrong.append((label, status, "allowed" if allowed else "denied"))
    assert wrong == []


@pytest.mark.django_db
def test_no_admin_screen_opens_without_a_login():
    client = Client()
    for label in _changelists():
        app_label, model_name = label.split(".")
        response = client.get(reverse(f"admin:{app_label}_{model_name}_changelist"))
        assert response.status_code == 302 and "/admin/login/" in response["Location"], label


@pytest.mark.django_db
def test_invoice_credit_note_and_fulfilment_pdfs_in_the_admin_only_for_those_allowed(world):
    # given an invoice and a credit note of a shipped order
    order = world.shipped_order("a")
    invoice = world.invoice_of(order)
    credit_note = world.credit_note_for(order)
    documents = {
        "invoice": (reverse("admin:payments_invoice_pdf", args=[invoice.pk]), "payments.view_invoice"),
        "credit note": (reverse("admin:payments_creditnote_pdf", args=[credit_note.pk]), "payments.view_creditnote"),
        "pick list": (
            reverse("admin:orders_fulfilment_document", args=[order.fulfilments.get().pk, "pick-list"]),
            "orders.view_fulfilment",
        ),
    }
    got, expected = {}, {}
    for role, user in world.staff.items():
        client = Client()
        login_staff(client, user)
        for name, (url, perm) in documents.items():
            response = client.get(url)
            is_pdf = response.status_code == 200 and response["Content-Type"] == "application/pdf"
            got[(role, name)] = "pdf" if is_pdf else "refused"
            expected[(role, name)] = "pdf" if user.has_perm(perm) else "refused"
    assert got == expected
    assert got[("warehouse", "invoice")] == "refused" and got[("finance", "invoice")] == "pdf"
    # and without a login, nothing
    for url, _perm in documents.values():
        assert Client().get(url).status_code == 302
