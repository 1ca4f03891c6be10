"""Races on the real PostgreSQL with real threads: the same thing attempted at the same
moment happens once, and every loser gets a clean answer (a repeat 200, a 400/409 in
the contract's error body, or a typed error), never a 500.

Each race is one small class below (a row of the table): `threads`, `setup` (what
exists before), `attempt` (what every thread does, released together by a barrier)
and `check` (the exact final state and the losers' answers). A later part adds its own
race by adding a class; `test_race` runs every one of them.

Races proven elsewhere, and linked from docs/reliability.md rather than repeated here:
the last units of a product (orders/tests/test_api_intake.py::
test_thirty_orders_for_the_last_ten_units_allocate_exactly_ten, inventory/tests/
test_ledger.py), a provider webhook replayed at once (payments/tests/test_webhooks.py::
test_replayed_webhooks_at_the_same_moment_book_the_money_once), two refunds for the same
money (payments/tests/test_refunds.py::
test_two_refunds_at_the_same_moment_never_refund_more_than_was_paid) and gapless invoice
numbers (payments/tests/test_invoices.py::
test_numbers_stay_gapless_when_shipments_run_at_the_same_moment).
"""

from decimal import Decimal
from typing import Any, ClassVar

import pytest

from inventory.models import Stock, StockMovement
from orders.models import Order, OrderEvent, OrderInbox, Shipment
from orders.tests.fixtures import order_body
from tests.reliability.support.concurrency import Outcomes, at_once
from tests.reliability.support.world import ORDERS_URL, World

D = Decimal
RACES: list["Race"] = []


class Race:
    """One row of the race table. Subclasses are registered when defined."""

    threads: ClassVar[int] = 2

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        RACES.append(cls())

    def setup(self, world: World) -> Any:
        return None

    def attempt(self, world: World, ctx: Any, i: int) -> Any:
        raise NotImplementedError

    def check(self, world: World, ctx: Any, outcomes: Outcomes) -> None:
        raise NotImplementedError


def assert_contract_error(response, *statuses: int) -> dict:
    assert response.status_code in statuses, (response.status_code, response.content[:500])
    body = response.json()
    assert body["type"] in ("validation_error", "client_error") and body["errors"], body
    return body


def stock_of(world: World) -> tuple[int, int]:
    stock = Stock.objects.get(product=world.product, location=world.location)
    return stock.on_hand, stock.reserved


# --- orders ------------------------------------------------------------------------------


class SameOrderPostedTwentyTimes(Race):
    """The same order posted 20 times at once makes one order: one 201, nineteen 200
    with the same number, stock reserved once, every post in the inbox."""

    threads = 20

    def setup(self, world):
        return {"body": order_body("SAME-20", lines=[{"sku": world.product.sku, "quantity": 2, "unit_price": "19.95"}])}

    def attempt(self, world, ctx, i):
        return world.client("channel_a").post(ORDERS_URL, ctx["body"], format="json")

    def check(self, world, ctx, outcomes):
        assert outcomes.errors == [] and outcomes.server_errors() == []
        assert sorted(outcomes.statuses()) == [200] * 19 + [201]
        assert len({r.json()["number"] for r in outcomes.values}) == 1
        order = Order.objects.get()
        assert order.lines.get().quantity == 2
        assert stock_of(world) == (1000, 2)
        assert OrderEvent.objects.filter(order=order, kind="created").count() == 1
        results = sorted(OrderInbox.objects.values_list("result", flat=True))
        assert results == ["created"] + ["duplicate"] * 19


class SameReferenceDifferentBodiesAtOnce(Race):
    """Two different orders under one external reference at once: one is taken, the
    other is a 409 conflict (never a second order, never a 500)."""

    threads = 2

    def setup(self, world):
        lines = [{"sku": world.product.sku, "quantity": 1, "unit_price": "19.95"}]
        bodies = [order_body("CLASH", lines=lines), order_body("CLASH", lines=[{**lines[0], "quantity": 3}])]
        return {"bodies": bodies}

    def attempt(self, world, ctx, i):
        return world.client("channel_a").post(ORDERS_URL, ctx["bodies"][i], format="json")

    def check(self, world, ctx, outcomes):
        assert outcomes.errors == [] and outcomes.server_errors() == []
        assert sorted(outcomes.statuses()) == [201, 409]
        loser = next(r for r in outcomes.values if r.status_code == 409)
        assert assert_contract_error(loser, 409)["errors"][0]["code"] == "idempotency_conflict"
        order = Order.objects.get()
        assert stock_of(world) == (1000, order.lines.get().quantity)


# --- shipments ---------------------------------------------------------------------------


def _shipment_post(world, fulfilment_code, tracking_code, quantity):
    return world.client("location").post(
        f"/api/v1/fulfilments/{fulfilment_code}/shipments/",
        {
            "carrier": "postnl",
            "tracking_code": tracking_code,
            "lines": [{"sku": world.product.sku, "quantity": quantity}],
        },
        format="json",
    )


class SameUnitsConfirmedAsTwoParcelsAtOnce(Race):
    """Two shipment confirmations for the same units at once (two parcels, different
    tracking codes): one ships, the other is refused — a 409 when the fulfilment has
    shipped by the time it looks, a 400 when it sees the units already taken. The stock
    moves once, one shipment, one invoice."""

    threads = 2

    def setup(self, world):
        order = world.order("a", quantity=3)
        return {"order": order, "fulfilment": order.fulfilments.get()}

    def attempt(self, world, ctx, i):
        return _shipment_post(world, ctx["fulfilment"].code, f"3SRACE{i:07d}", 3)

    def check(self, world, ctx, outcomes):
        assert outcomes.errors == [] and outcomes.server_errors() == []
        winner, loser = sorted(outcomes.values, key=lambda r: r.status_code)
        assert winner.status_code == 201
        code = assert_contract_error(loser, 400, 409)["errors"][0]["code"]
        assert code in ("exceeds_allocation", "invalid_transition"), code
        assert Shipment.objects.count() == 1
        assert stock_of(world) == (997, 0)
        assert StockMovement.objects.filter(kind=StockMovement.Kind.SHIPMENT).count() == 1
        line = ctx["order"].lines.get()
        assert line.quantity_shipped == 3
        assert ctx["order"].invoices.count() == 1
        assert Order.objects.get(pk=ctx["order"].pk).status == "shipped"


class SameParcelConfirmedTwiceAtOnce(Race):
    """The same parcel (carrier and tracking code) confirmed four times at once: one
    201 and three 200s with the same parcel (the contract's repeat), and the stock moves
    once, one shipment, one invoice."""

    threads = 4

    def setup(self, world):
        order = world.order("a", quantity=2)
        return {"order": order, "fulfilment": order.fulfilments.get()}

    def attempt(self, world, ctx, i):
        return _shipment_post(world, ctx["fulfilment"].code, "3SSAMEPARCEL", 2)

    def check(self, world, ctx, outcomes):
        assert outcomes.errors == [] and outcomes.server_errors() == []
        assert sorted(outcomes.statuses()) == [200, 200, 200, 201]
        assert {r.json()["tracking_code"] for r in outcomes.values} == {"3SSAMEPARCEL"}
        assert Shipment.objects.count() == 1
        assert stock_of(world) == (998, 0)
        assert StockMovement.objects.filter(kind=StockMovement.Kind.SHIPMENT).count() == 1
        assert ctx["order"].invoices.count() == 1


class CancelWhileTheLocationShips(Race):
    """The shop cancels while the location ships: either the order is cancelled and
    nothing shipped (the shipment is refused), or it shipped and the cancel is a 409.
    Never both, never a 500; the stock is right either way."""

    threads = 2

    def setup(self, world):
        order = world.order("a", quantity=1)
        return {"order": order, "fulfilment": order.fulfilments.get()}

    def attempt(self, world, ctx, i):
        if i == 0:
            return world.client("channel_a").post(f"{ORDERS_URL}{ctx['order'].number}/cancel/", {}, format="json")
        return _shipment_post(world, ctx["fulfilment"].code, "3SCANCELRACE", 1)

    def check(self, world, ctx, outcomes):
        assert outcomes.errors == [] and outcomes.server_errors() == []
        cancel, ship = outcomes.values
        order = Order.objects.get(pk=ctx["order"].pk)
        if order.cancelled_at is not None:
            assert cancel.status_code == 200
            assert_contract_error(ship, 400, 409)
            assert Shipment.objects.count() == 0
            assert stock_of(world) == (1000, 0)
        else:
            assert ship.status_code == 201
            assert_contract_error(cancel, 409)
            assert Shipment.objects.count() == 1
            assert stock_of(world) == (999, 0)


# --- payments ----------------------------------------------------------------------------


def _bank_transfer_order(world):
    order = world.order("a", method="bank_transfer", quantity=2)
    assert order.cleared_at is None
    return order


def _booked_once(order, amount):
    from payments.models import BankMatch, Payment, PaymentEvent

    order = Order.objects.get(pk=order.pk)
    assert order.cleared_at is not None
    assert OrderEvent.objects.filter(order=order, kind="cleared").count() == 1
    assert BankMatch.objects.filter(order=order).count() == 1
    payments = list(Payment.objects.filter(order=order, paid_amount__gt=0))
    assert sum(p.paid_amount for p in payments) == amount
    assert PaymentEvent.objects.filter(payment__order=order, kind="received").count() == 1


class StatementImportedTwiceAtOnce(Race):
    """One bank statement imported four times at once (two finance people, a retry):
    one import, each booking stored once, the order paid once."""

    threads = 4

    def setup(self, world):
        from payments.tests.factories import camt

        order = _bank_transfer_order(world)
        data = camt([{"amount": str(order.total_amount), "reference": order.payment_reference}], statement_id="RACE")
        return {"order": order, "data": data}

    def attempt(self, world, ctx, i):
        from payments.services.statements import bank_statement_import

        return bank_statement_import(data=ctx["data"], filename="race.xml", actor=world.staff["finance"])

    def check(self, world, ctx, outcomes):
        from payments.models import BankStatementImport, BankStatementLine

        assert outcomes.unexpected() == []
        assert sorted(r.already_imported for r in outcomes.values) == [False, True, True, True]
        assert BankStatementImport.objects.count() == 1
        assert BankStatementLine.objects.count() == 1
        _booked_once(ctx["order"], ctx["order"].total_amount)


class SameBookingsInTwoFilesAtOnce(Race):
    """The bank sends the same booking in two different files, imported at the same
    moment: two imports, the booking stored and matched once, the order paid once."""

    threads = 2

    def setup(self, world):
        from payments.tests.factories import camt

        order = _bank_transfer_order(world)
        data = camt([{"amount": str(order.total_amount), "reference": order.payment_reference}], statement_id="TWICE")
        return {"order": order, "files": [data, data.replace(b"<Document", b"\n<Document", 1)]}

    def attempt(self, world, ctx, i):
        from payments.services.statements import bank_statement_import

        return bank_statement_import(data=ctx["files"][i], filename=f"twice-{i}.xml", actor=world.staff["finance"])

    def check(self, world, ctx, outcomes):
        from payments.models import BankStatementLine

        assert outcomes.unexpected() == []
        assert sum(r.new_lines for r in outcomes.values) == 1
        assert BankStatementLine.objects.count() == 1
        _booked_once(ctx["order"], ctx["order"].total_amount)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("race", RACES, ids=[type(r).__name__ for r in RACES])
def test_race(world, race):
    # given
    ctx = race.setup(world)
    # when
    outcomes = at_once(race.threads, lambda i: race.attempt(world, ctx, i))
    # then
    race.check(world, ctx, outcomes)


@pytest.mark.django_db
def test_a_repeated_confirmation_of_the_last_parcel_is_a_200_repeat(world):
    # given a fulfilment whose last units shipped in parcel 3SREPEAT
    order = world.order("a", quantity=2)
    fulfilment = order.fulfilments.get()
    first = _shipment_post(world, fulfilment.code, "3SREPEAT", 2)
    assert first.status_code == 201
    # when the location retries the same confirmation (it never saw the answer)
    again = _shipment_post(world, fulfilment.code, "3SREPEAT", 2)
    # then it gets the same parcel back, and nothing shipped twice
    assert Shipment.objects.count() == 1 and stock_of(world) == (998, 0)
    assert again.status_code == 200, again.content
    assert again.json()["tracking_code"] == first.json()["tracking_code"]
