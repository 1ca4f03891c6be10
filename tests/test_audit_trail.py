"""Every change to money, stock, addresses, blocks and permissions names who made it.

The walker runs each flow below as named people, through the services (or the admin,
where that is the real path), and then reads every audit row the flow wrote:
- history rows of every model with `history = audit_history()` (found automatically),
- ledger and event rows: every model with an `actor_label` column (stock movements,
  order events, …).
It asserts that each table in the flow's `expects` got at least one row, and that every
row the flow wrote names the flow's actor: the user column is that person and the label
names them (an approved action is labelled `approval:<id>:<requester>/<decider>`, so
give `named=("alice", "bob")`). A row by "system" or by someone else fails the walk.

Adding a flow for your app (orders, payments, returns, …) — a generator: what comes
before `yield` is set-up (not checked), what comes after is the walk:

    @flow("payments: refund above the limit, approved", actor="bob", named=("alice", "bob"),
          expects=["payments.refund", "payments.payment"])
    def _refund_approved(people):
        payment = paid_payment(amount=Decimal("500.00"))          # given
        yield
        approval = refund_request(payment_id=payment.pk, amount=Decimal("500.00"), actor=people.alice)
        approval_decide(approval_id=approval.pk, decided_by=people.bob, approve=True)

`people` holds alice (Customer service), bob (Finance), carol (Warehouse), root (a
superuser) and `client`, a test client (`people.login(user)` logs someone in to the
admin). When your app gets audited models, add it to WALKED_APPS: every audited model
there then needs a flow (or a reason in NOT_WALKED).
"""

import datetime
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

from catalog.tests.factories import ProductFactory
from core import roles
from core.approvals import approval_decide
from core.models import User
from core.services import api_key_create, api_key_revoke, channel_create_or_update
from core.tests.factories import SalesChannelFactory, UserFactory
from core.tests.utils import login_staff
from customers.services import (
    address_create,
    address_update,
    customer_block,
    customer_unblock,
    customer_update,
)
from customers.tests.factories import AddressFactory, CustomerFactory
from inventory.models import StockMovement
from inventory.services.ledger import StockChange, stock_book, stock_rows_ensure
from inventory.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db

# Apps whose every audited model must be walked by a flow below.
WALKED_APPS = {"core", "customers", "payments"}
# Audited models of those apps that no flow walks, each with the reason.
NOT_WALKED = {
    "core.closedday": "a calendar exception moves no money or stock; its history is tested in core/tests/test_audit.py",
}


@dataclass
class Flow:
    name: str
    walk: Callable[["People"], Iterator[None]]
    actor: str
    named: tuple[str, ...]
    expects: list[str] = field(default_factory=list)


FLOWS: list[Flow] = []


def flow(name: str, *, actor: str, expects: list[str], named: tuple[str, ...] | None = None):
    """Register a walk (a generator: set-up, `yield`, the walk) done by `actor`."""

    def register(walk):
        FLOWS.append(Flow(name=name, walk=walk, actor=actor, named=named or (actor,), expects=expects))
        return walk

    return register


@dataclass
class People:
    alice: User
    bob: User
    carol: User
    root: User
    client: object

    def login(self, user: User) -> None:
        login_staff(self.client, user)


@pytest.fixture
def people(client):
    return People(
        alice=UserFactory(username="alice", role=roles.CUSTOMER_SERVICE),
        bob=UserFactory(username="bob", role=roles.FINANCE),
        carol=UserFactory(username="carol", role=roles.WAREHOUSE),
        root=UserFactory(username="root", is_superuser=True),
        client=client,
    )


# --- the flows --------------------------------------------------------------------------


@flow("customers: block", actor="bob", expects=["customers.customer"])
def _customer_block(people):
    customer = CustomerFactory()
    yield
    customer_block(customer_id=customer.pk, reason="chargebacks on three orders", actor=people.bob)


@flow(
    "customers: unblock, asked by one and approved by another",
    actor="bob",
    named=("alice", "bob"),
    expects=["customers.customer"],
)
def _customer_unblock(people):
    customer = CustomerFactory()
    customer_block(customer_id=customer.pk, reason="suspected fraud", actor=people.bob)
    yield
    approval = customer_unblock(customer_id=customer.pk, reason="identity checked by phone", actor=people.alice)
    approval_decide(approval_id=approval.pk, decided_by=people.bob, approve=True)


@flow("customers: details changed", actor="alice", expects=["customers.customer"])
def _customer_details(people):
    customer = CustomerFactory()
    yield
    customer_update(customer_id=customer.pk, actor=people.alice, phone="+31 6 12345678", company_name="Bakkerij B.V.")


@flow("customers: address added", actor="alice", expects=["customers.address"])
def _address_added(people):
    customer = CustomerFactory()
    yield
    address_create(
        customer_id=customer.pk,
        actor=people.alice,
        street="Oudegracht",
        house_number="12a",
        postal_code="3511ab",
        city="Utrecht",
        country="nl",
    )


@flow("customers: address changed", actor="alice", expects=["customers.address"])
def _address_changed(people):
    address = AddressFactory()
    yield
    address_update(address_id=address.pk, actor=people.alice, street="Neude", postal_code="3512 AE")


@flow("customers: address changed in the admin", actor="alice", expects=["customers.address"])
def _address_changed_in_admin(people):
    address = AddressFactory()
    people.login(people.alice)
    yield
    response = people.client.post(
        f"/admin/customers/address/{address.pk}/change/",
        {
            "street": "Lange Nieuwstraat",
            "house_number": "4",
            "house_number_addition": "",
            "postal_code": "3512 PH",
            "city": "Utrecht",
            "country": "NL",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]


@flow("core: sales channel changed", actor="root", expects=["core.saleschannel"])
def _channel_changed(people):
    SalesChannelFactory(code="webshop-be", name="Webshop BE")
    yield
    channel_create_or_update(
        code="webshop-be", name="Webshop België", cutoff_time=datetime.time(15, 0), actor=people.root
    )


@flow("core: API key made and revoked", actor="root", expects=["core.apikey"])
def _api_key(people):
    channel = SalesChannelFactory()
    yield
    api_key, _raw = api_key_create(name="shop key", channel=channel, created_by=people.root)
    api_key_revoke(api_key_id=api_key.pk, actor=people.root)


@flow("core: staff user's role and permissions changed in the admin", actor="root", expects=["core.user"])
def _user_permissions(people):
    people.login(people.root)
    target = people.alice
    yield
    response = people.client.post(
        f"/admin/core/user/{target.pk}/change/",
        {
            "username": target.username,
            "first_name": target.first_name,
            "last_name": target.last_name,
            "email": target.email,
            "is_active": "on",
            "is_staff": "on",
            "groups": [Group.objects.get(name=roles.FINANCE).pk],
            "user_permissions": [Permission.objects.get(codename="block_customer").pk],
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-05",
            "date_joined_1": "09:00:00",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
            "_save": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    target.refresh_from_db()
    assert target.has_perm("customers.block_customer")


@flow("core: ad-hoc group with a permission made in the admin", actor="root", expects=["auth.group"])
def _group(people):
    people.login(people.root)
    yield
    response = people.client.post(
        "/admin/auth/group/add/",
        {"name": "Fraud desk", "permissions": [Permission.objects.get(codename="block_customer").pk]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]


@flow("inventory: stock received and written off", actor="carol", expects=["inventory.stockmovement"])
def _stock(people):
    product, location = ProductFactory(), LocationFactory()
    stock_id = stock_rows_ensure([(product.pk, location.pk)])[(product.pk, location.pk)]
    yield
    stock_book(
        changes=[StockChange(stock_id, StockMovement.Kind.RECEIPT, on_hand_delta=10)],
        reference="inbound:42",
        actor=people.carol,
    )
    stock_book(
        changes=[StockChange(stock_id, StockMovement.Kind.WRITE_OFF, on_hand_delta=-2)],
        reference="count:7",
        reason="damaged",
        actor=people.carol,
    )


# --- payments: money in, money out, documents -------------------------------------------


def _payments_order(*, price: str = "400.00", method: str = "bank_transfer", paid: bool = False):
    """An order of the channel (placed and, if asked, paid by a bank line) — set-up, not walked."""
    from payments.services.statements import bank_statement_import
    from payments.tests.factories import camt, place, product, warehouse

    channel = SalesChannelFactory(code="audit-shop", order_number_prefix="AUD")
    item = product("AUDIT-1", location=warehouse("AUD"))
    order = place(channel, method=method, shipping="0.00", lines=[{"sku": item.sku, "unit_price": price}])
    if paid:
        bank_statement_import(
            data=camt(
                [{"amount": price, "reference": order.payment_reference, "name": "An de Vries"}], statement_id="P"
            ),
            filename="paid.xml",
        )
    return order


@flow(
    "payments: payment received on a bank statement imported by finance",
    actor="bob",
    expects=[
        "payments.bankstatementimport",
        "payments.bankmatch",
        "payments.paymentevent",
        "payments.payment",
        "orders.order",
        "orders.orderevent",
    ],
)
def _payment_received(people):
    from payments.services.statements import bank_statement_import
    from payments.tests.factories import camt

    order = _payments_order()
    yield
    bank_statement_import(
        data=camt([{"amount": "400.00", "reference": order.payment_reference}]), filename="bank.xml", actor=people.bob
    )


@flow(
    "payments: payment received by hand, asked by one and approved by another",
    actor="root",
    named=("bob", "root"),
    expects=["payments.payment", "payments.paymentevent", "orders.order"],
)
def _payment_by_hand(people):
    from decimal import Decimal

    from payments.services.payments import payment_manual_request

    order = _payments_order()
    yield
    approval = payment_manual_request(order_id=order.pk, amount=Decimal("400.00"), note="cash", actor=people.bob)
    approval_decide(approval_id=approval.pk, decided_by=people.root, approve=True)


@flow(
    "payments: refund above the limit, asked by one and approved by another",
    actor="root",
    named=("bob", "root"),
    expects=["payments.refund"],
)
def _refund_approved(people):
    from decimal import Decimal

    from payments.services.refunds import refund_request

    order = _payments_order(paid=True)
    payment = order.payments.get()
    yield
    approval = refund_request(payment_id=payment.pk, amount=Decimal("300.00"), reason="goodwill", actor=people.bob)
    approval_decide(approval_id=approval.pk, decided_by=people.root, approve=True)


@flow(
    "payments: refund as store credit",
    actor="bob",
    expects=["payments.refund", "payments.creditentry", "payments.payment", "payments.paymentevent"],
)
def _refund_store_credit(people):
    from decimal import Decimal

    from payments.services.refunds import refund_request

    order = _payments_order(paid=True)
    payment = order.payments.get()
    yield
    refund_request(
        payment_id=payment.pk, amount=Decimal("20.00"), reason="goodwill", method="store_credit", actor=people.bob
    )


@flow(
    "payments: SEPA refund file made and uploaded",
    actor="bob",
    expects=["payments.sepabatch", "payments.refund", "payments.payment", "payments.paymentevent"],
)
def _sepa_refunds(people):
    from decimal import Decimal

    from payments.services.refunds import refund_start, sepa_batch_create, sepa_batch_mark_sent

    order = _payments_order(paid=True)
    payment = order.payments.get()
    refund_start(
        payment_id=payment.pk,
        amount=Decimal("25.00"),
        reason="goodwill",
        method="sepa",
        iban="NL02ABNA0123456789",
        account_name="An de Vries",
        actor=people.bob,
    )
    yield
    batch = sepa_batch_create(actor=people.bob)
    sepa_batch_mark_sent(batch_id=batch.pk, actor=people.bob)


@flow("payments: invoice issued for a shipment", actor="carol", expects=["payments.invoice", "orders.orderevent"])
def _invoice_issued(people):
    from core.audit import acting_as
    from payments.tests.factories import ship

    order = _payments_order(method="pos")
    yield
    with acting_as(people.carol):  # as the location's API call does
        ship(order, actor=people.carol)


@flow("payments: credit note for returned goods", actor="bob", expects=["payments.creditnote", "payments.refund"])
def _credit_note(people):
    from payments.services.invoicing import credit_note_for_returned_lines
    from payments.tests.factories import ship

    order = _payments_order(method="pos")
    ship(order)
    yield
    credit_note_for_returned_lines(order_id=order.pk, lines=[(order.lines.get().pk, 1)], actor=people.bob)


@flow("payments: clearing policy changed", actor="bob", expects=["payments.clearingpolicy"])
def _clearing_policy(people):
    yield
    from payments.services.clearing import clearing_policy_update

    clearing_policy_update(method="bank_transfer", rule="manual", actor=people.bob, note="only by hand")


# --- the walker ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditTable:
    model: type
    user_field: str
    label_field: str

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


def audit_tables() -> list[AuditTable]:
    """History tables (a `history_user` column) and ledger/event tables (an `actor_label`)."""
    tables = []
    for model in apps.get_models():
        names = {f.name for f in model._meta.get_fields()}
        if "history_user" in names:
            tables.append(AuditTable(model, "history_user_id", "history_actor" if "history_actor" in names else ""))
        elif "actor_label" in names:
            tables.append(AuditTable(model, "actor_id" if "actor" in names else "", "actor_label"))
    return tables


def _table_for(label: str, tables: list[AuditTable]) -> AuditTable:
    """`customers.customer` means the customer's history table; a ledger table by its own name."""
    model = apps.get_model(label)
    history = getattr(model, "history", None)
    wanted = history.model if history is not None and hasattr(history, "model") else model
    return next(t for t in tables if t.model is wanted)


def _high_water(tables: list[AuditTable]) -> dict[AuditTable, int]:
    marks = {}
    for table in tables:
        last = table.model._base_manager.order_by("-pk").values_list("pk", flat=True).first()
        marks[table] = last or 0
    return marks


@pytest.mark.parametrize("walk", FLOWS, ids=lambda f: f.name)
def test_each_flow_leaves_audit_rows_naming_its_actor(walk, people):
    tables = audit_tables()
    steps = walk.walk(people)
    next(steps)  # given
    marks = _high_water(tables)
    user = User.objects.get(username=walk.actor)

    # when
    with suppress(StopIteration):
        next(steps)

    # then
    written = {table: list(table.model._base_manager.filter(pk__gt=marks[table])) for table in tables}
    for label in walk.expects:
        table = _table_for(label, tables)
        assert written[table], f"{walk.name}: no row in {table.label}"
    anonymous = []
    for table, rows in written.items():
        for row in rows:
            user_id = getattr(row, table.user_field) if table.user_field else None
            label = getattr(row, table.label_field) if table.label_field else ""
            if user_id != user.pk or not all(name in label for name in walk.named):
                anonymous.append(f"{table.label} #{row.pk}: user={user_id} label={label!r}")
    assert not anonymous, f"{walk.name}: rows that do not name {walk.named}: {anonymous}"


def test_every_audited_model_of_the_walked_apps_has_a_flow():
    tables = audit_tables()
    walked = {_table_for(label, tables).model for f in FLOWS for label in f.expects}
    missing = []
    for table in tables:
        source = getattr(table.model, "instance_type", None) or table.model  # a history table's model
        label = source._meta.label_lower
        if source._meta.app_label in WALKED_APPS and label not in NOT_WALKED and table.model not in walked:
            missing.append(label)
    assert not missing, f"audited models with no flow in tests/test_audit_trail.py: {missing}"


def test_an_unattributed_write_fails_the_walk(people):
    """The walker itself: a change saved outside any service and request is "system"."""
    tables = audit_tables()
    customer = CustomerFactory()
    marks = _high_water(tables)
    customer.phone = "0612345678"
    customer.save(update_fields=["phone"])
    table = _table_for("customers.customer", tables)
    rows = list(table.model._base_manager.filter(pk__gt=marks[table]))
    assert [(r.history_user_id, r.history_actor) for r in rows] == [(None, "system")]
