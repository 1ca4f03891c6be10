"""Schema fuzz: every operation of the served OpenAPI schema (/api/schema/), called with
data generated from that schema (schemathesis) by each kind of key — a channel's, a
location's and a staff user's (KEYS). Whatever comes in:

- never a 500 (the contract: "no input ever yields a 500");
- the status code is one the schema lists for the operation, with the content type and
  the body the schema describes for it (so every 4xx is the contract's error body).

Each operation and key gets four kinds of calls (ROUNDS): the valid call the contract
describes (so the success answer is checked against the schema too), data the schema
allows and data it forbids (wrong types, missing fields, out-of-range values) aimed at
the client's own rows (its order, fulfilment, invoice, …) and with real SKUs in lines,
so generated data gets past the 404 and the SKU check, and data the schema allows with
any path values. Bounded and repeatable: a fixed number of examples per round,
derandomised (the same cases on every run), about half a minute for the file.

The calls go through Django's real WSGI handler in this process, inside the test's
transaction (as the test client does), so middleware, URL routing and the 404/500
handlers run as in production; each call is rolled back to a savepoint, so every case
starts from the same shop. A failure shows the request as a curl command and, for a 500,
the traceback.
"""

import itertools
import json
import sys
import traceback

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orders.tests.fixtures import order_body
from tests.reliability.support.world import World

# The kinds of key every operation is called with (names from WHO).
KEYS = ("channel_a", "location", "manager")
# (round, examples): see the module docstring.
ROUNDS = (("valid", 1), ("allowed", 15), ("forbidden", 15), ("allowed_anywhere", 8))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
_refs = itertools.count(1)


def _served_schema() -> dict:
    """The schema as /api/schema/ serves it, without its security requirements: the key
    is sent by the test (one kind per run), and keys that are missing or wrong are the
    authorisation matrix's business (test_authorization.py), not the generator's."""
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:500]
    schema = json.loads(response.content)
    schema.get("components", {}).pop("securitySchemes", None)
    schema.pop("security", None)
    for operations in schema["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
    return schema


SCHEMA = schemathesis.openapi.from_dict(_served_schema())
OPERATIONS = sorted(op["operationId"] for ops in SCHEMA.raw_schema["paths"].values() for op in ops.values())


class InProcessApp:
    """Django's WSGI handler, run the way Django's test client runs it: the database
    connection is not closed at the end of a request (it holds the test's transaction),
    and an exception that became a 500 is kept with its traceback."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.exceptions: list[str] = []

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        got_request_exception.connect(self._keep_exception)
        try:
            response = self.handler(environ, start_response)
            body = b"".join(response)
            response.close()
        finally:
            got_request_exception.disconnect(self._keep_exception)
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return [body]

    def _keep_exception(self, **kwargs):
        self.exceptions.append("".join(traceback.format_exception(*sys.exc_info())))


# --- the client's own rows, and the valid call per operation ------------------------------


def own_rows(world: World) -> dict[str, str]:
    """Real values for path parameters: an order of channel A that shipped (invoice,
    credit note, customer) and one that is open (to cancel, and its fulfilment at the
    location). Made through the API and the services."""
    shipped = world.shipped_order("a")
    open_order = world.order("a")
    return {
        "order": shipped.number,
        "open_order": open_order.number,
        "invoice": world.invoice_of(shipped).number,
        "credit_note": world.credit_note_for(shipped).number,
        "customer_id": str(shipped.customer_id),
        "fulfilment_id": open_order.fulfilments.get().code,
        "document": "packing-slip",
        "provider": "mollie",
        "sku": world.product.sku,
    }


def path_parameters(operation, rows: dict[str, str]) -> dict[str, str]:
    values = {}
    for parameter in operation.path_parameters:
        name = parameter.name
        if name == "number":
            path = operation.path
            if path.startswith("/api/v1/invoices/"):
                values[name] = rows["invoice"]
            elif path.startswith("/api/v1/credit-notes/"):
                values[name] = rows["credit_note"]
            else:
                values[name] = rows["open_order"] if path.endswith("/cancel/") else rows["order"]
        elif name in rows:
            values[name] = rows[name]
    return values


def valid_body(operation_id: str, rows: dict[str, str]):
    line = {"sku": rows["sku"], "quantity": 1}
    if operation_id == "orders_create":
        return order_body(f"FUZZ-{next(_refs)}", lines=[{**line, "unit_price": "19.95"}], method="pos")
    if operation_id == "orders_cancel":
        return {"reason": "schema fuzz"}
    if operation_id == "fulfilments_shipments_create":
        return {"carrier": "postnl", "tracking_code": f"3SFUZZ{next(_refs):06d}", "lines": [line]}
    if operation_id == "payments_webhook":
        return {"id": "sim_tr_0000000000000000"}  # the simulator's id shape; one nobody knows is a 200 too
    return None


def with_real_skus(case, sku: str) -> None:
    """Order lines and shipment lines that name a SKU that exists, so the body gets past
    the SKU check into the intake and the shipment service."""
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("lines"), list):
        for line in body["lines"]:
            if isinstance(line, dict) and "sku" in line:
                line["sku"] = sku


def cases(round_: str, operation_id: str, rows: dict[str, str]):
    operation = SCHEMA.find_operation_by_id(operation_id)
    own = path_parameters(operation, rows)
    if round_ == "valid":
        body = valid_body(operation_id, rows)
        media_type = next(iter(operation.definition.raw.get("requestBody", {}).get("content", {})), None)
        kwargs = {"body": body, "media_type": media_type} if body is not None else {}
        return st.builds(lambda: operation.Case(path_parameters=own, **kwargs))
    inputs = len(operation.query) + len(operation.headers) + len(operation.cookies) + len(operation.body)
    if round_ == "allowed_anywhere":
        inputs += len(operation.path_parameters)
        return operation.as_strategy(GenerationMode.POSITIVE) if inputs else None
    inputs += len([p for p in operation.path_parameters if p.name not in own])
    if not inputs:
        return None  # nothing left to generate: the valid call was the only one
    mode = GenerationMode.POSITIVE if round_ == "allowed" else GenerationMode.NEGATIVE
    return operation.as_strategy(mode, path_parameters=own)


@pytest.mark.django_db
@pytest.mark.parametrize("who", KEYS)
@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_every_operation_answers_as_the_schema_says_and_never_500(world, operation_id, who):
    # given a shop with orders, an invoice and a credit note, and a key of this kind
    rows = own_rows(world)
    app = InProcessApp()
    headers = {"Authorization": f"Token {world.keys[who]}"}

    def caller(round_: str):
        def call(case):
            if round_ in ("allowed", "forbidden"):
                with_real_skus(case, rows["sku"])
            app.exceptions.clear()
            # when (in a savepoint that is rolled back: every case starts from the same shop)
            with transaction.atomic():
                response = case.call(app=app, headers=headers)
                transaction.set_rollback(True)
            # then
            assert not app.exceptions, app.exceptions[0]
            case.validate_response(response, checks=CHECKS, headers=headers)

        return call

    for round_, examples in ROUNDS:
        strategy = cases(round_, operation_id, rows)
        if strategy is None:
            continue
        run = settings(
            max_examples=examples,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )(given(case=strategy)(caller(round_)))
        run()
