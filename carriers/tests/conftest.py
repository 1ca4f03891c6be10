"""Orders and parcels for the track & trace tests, made through orders' services (an order
posted by the shop, paid at the till, shipped by the location), and the simulated carrier
on a clock the test moves."""

import datetime
import itertools

import pytest
from django.utils import timezone

from carriers.adapters.simulator import (
    SimulatorAdapter,
    simulated_life_cycle,
    simulated_scenario,
    simulated_tracking_code,
)
from carriers.services.polling import PollStats, carrier_poll
from orders.models import Order, Shipment
from orders.services.fulfilment import shipment_create
from orders.tests.conftest import order_body, receive, tshirt, utr  # noqa: F401  (fixtures)
from orders.tests.test_api_intake import URL

_references = itertools.count(1)


@pytest.fixture
def shop(api_for, channel):
    return api_for(channel=channel)


@pytest.fixture
def make_order(shop, utr, tshirt):  # noqa: F811
    """make_order(quantity) → a paid, released order of `quantity` t-shirts at UTR."""

    def make(quantity: int = 1) -> Order:
        receive(tshirt, utr, quantity)
        body = order_body(
            f"TT-{next(_references)}",
            lines=[{"sku": tshirt.sku, "quantity": quantity, "unit_price": "19.95"}],
            method="pos",
        )
        response = shop.post(URL, body, format="json")
        assert response.status_code == 201, response.json()
        return Order.objects.get(number=response.json()["number"])

    return make


def ship(order: Order, tracking_code: str, *, carrier: str = "postnl", quantity: int = 1) -> Shipment:
    """One parcel of `quantity` t-shirts of the order, through orders' shipment service."""
    fulfilment = order.fulfilments.get()
    shipment, created = shipment_create(
        fulfilment_id=fulfilment.pk,
        carrier=carrier,
        tracking_code=tracking_code,
        lines=[{"sku": "TSHIRT-RED-M", "quantity": quantity}],
    )
    assert created
    return shipment


def announced_now() -> datetime.datetime:
    """The minute a parcel shipped now is announced to the (simulated) carrier."""
    return timezone.now().replace(second=0, microsecond=0)


def code_for(scenario: str, announced: datetime.datetime, *, skip: int = 0) -> str:
    """A simulated tracking code announced at `announced` whose life cycle is `scenario`
    (the (skip+1)-th such code)."""
    for seed in range(100_000):
        code = simulated_tracking_code(announced, seed=seed)
        if simulated_scenario(code) == scenario:
            if skip == 0:
                return code
            skip -= 1
    raise AssertionError(f"no simulated code with scenario {scenario}")


def life_cycle(code: str) -> list:
    return simulated_life_cycle(code)


def first_event(code: str, carrier_status_code: str):
    return next(e for e in simulated_life_cycle(code) if e.carrier_status_code == carrier_status_code)


def sim_poll(at: datetime.datetime, carrier: str = "postnl") -> PollStats:
    """One run for `carrier`, the simulated carrier seeing the moment `at`."""
    return carrier_poll(carrier=carrier, now=at, adapter=SimulatorAdapter(carrier, clock=lambda: at))


def sim_poll_until(end: datetime.datetime, start: datetime.datetime, *, step_minutes: int = 30, carrier="postnl"):
    """Run the poller every `step_minutes` from `start` to `end` (it asks only about the
    parcels that are due); returns the stats of every run."""
    runs = []
    moment = start
    while moment <= end:
        runs.append(sim_poll(moment, carrier))
        moment += datetime.timedelta(minutes=step_minutes)
    return runs
