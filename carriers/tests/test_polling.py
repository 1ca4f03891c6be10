"""Polling with the simulated carrier over simulated time: events stored once, statuses
follow, the order is delivered when every parcel is."""

import datetime
import itertools

import pytest

from carriers.models import ShipmentEvent, ShipmentTracking
from carriers.statuses import ShipmentStatus as S
from carriers.tests.conftest import announced_now, code_for, first_event, life_cycle, ship, sim_poll, sim_poll_until
from orders.events import OrderEventKind
from orders.models import Order, OrderEvent, Shipment
from orders.states import OrderStatus

HOUR = datetime.timedelta(hours=1)


def stored_keys(shipment: Shipment) -> list[str]:
    return list(ShipmentEvent.objects.filter(shipment=shipment).order_by("occurred_at").values_list("key", flat=True))


@pytest.mark.django_db
def test_a_new_parcel_is_tracked_from_the_moment_it_ships(make_order):
    # given
    order = make_order(1)
    announced = announced_now()

    # when
    shipment = ship(order, code_for("delivered", announced))

    # then: first asked about about 30 minutes later (±10%), nothing stored yet
    state = ShipmentTracking.objects.get(shipment=shipment)
    assert state.carrier == "postnl"
    assert state.stopped_at is None
    assert datetime.timedelta(minutes=27) <= state.next_poll_at - shipment.shipped_at <= datetime.timedelta(minutes=33)
    assert not ShipmentEvent.objects.exists()


@pytest.mark.django_db
def test_polling_over_two_days_stores_every_event_once_and_delivers_the_order(make_order):
    # given an order of two t-shirts in two parcels with the simulated PostNL
    order = make_order(2)
    announced = announced_now()
    codes = [code_for("delivered", announced), code_for("delivered", announced, skip=1)]
    shipments = [ship(order, code) for code in codes]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED
    delivered = [
        first_event(code, code_events[-1].carrier_status_code)
        for code, code_events in ((c, life_cycle(c)) for c in codes)
    ]
    end = max(e.occurred_at for e in delivered) + 2 * HOUR

    # when the poller runs every half hour until both are delivered (and a while longer)
    runs = sim_poll_until(end, announced, step_minutes=30)

    # then every event of the life cycle is stored exactly once
    for shipment, code in zip(shipments, codes, strict=True):
        assert stored_keys(shipment) == [e.key for e in life_cycle(code)]
    assert sum(r.events_stored for r in runs) == sum(len(life_cycle(c)) for c in codes)
    # the parcels are delivered at the carrier's moment, and no longer polled
    for shipment, event in zip(shipments, delivered, strict=True):
        shipment.refresh_from_db()
        assert shipment.status == S.DELIVERED
        assert shipment.delivered_at == event.occurred_at
        state = ShipmentTracking.objects.get(shipment=shipment)
        assert (state.stop_reason, state.next_poll_at) == ("final", None)
    # the order followed: delivered once every parcel is
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    status_events = list(
        OrderEvent.objects.filter(order=order, kind=OrderEventKind.STATUS_CHANGED).values_list("to_status", flat=True)
    )
    assert status_events[-1] == OrderStatus.DELIVERED
    # each parcel's status changes are a chain from pre_transit to delivered
    for shipment in shipments:
        changes = list(
            OrderEvent.objects.filter(
                order=order, kind=OrderEventKind.SHIPMENT_STATUS, data__tracking_code=shipment.tracking_code
            )
            .order_by("id")
            .values_list("from_status", "to_status")
        )
        assert changes[0][0] == S.PRE_TRANSIT
        assert changes[-1][1] == S.DELIVERED
        assert all(a[1] == b[0] for a, b in itertools.pairwise(changes))
    # and it asked only when parcels were due: far fewer questions than runs × parcels
    assert sum(r.polled for r in runs) < len(runs) * len(codes) / 2


@pytest.mark.django_db
def test_a_repeated_answer_adds_nothing(make_order):
    # given a parcel polled once while in transit
    order = make_order(1)
    announced = announced_now()
    code = code_for("delivered", announced)
    shipment = ship(order, code)
    moment = first_event(code, "SORTED").occurred_at + HOUR
    first = sim_poll(moment)
    assert first.polled == 1 and first.events_stored == 3
    shipment.refresh_from_db()
    assert shipment.status == S.IN_TRANSIT
    counts = (ShipmentEvent.objects.count(), OrderEvent.objects.count())

    # when it is asked about again at the same moment (the carrier repeats itself)
    ShipmentTracking.objects.filter(shipment=shipment).update(next_poll_at=moment)
    again = sim_poll(moment)

    # then nothing new is stored or changed
    assert (again.polled, again.events_stored, again.status_changes) == (1, 0, 0)
    assert (ShipmentEvent.objects.count(), OrderEvent.objects.count()) == counts
    shipment.refresh_from_db()
    assert shipment.status == S.IN_TRANSIT


@pytest.mark.django_db
def test_the_next_poll_follows_the_phase(make_order):
    order = make_order(1)
    announced = announced_now()
    code = code_for("delivered", announced)
    shipment = ship(order, code)
    state = lambda: ShipmentTracking.objects.get(shipment=shipment)  # noqa: E731

    # announced, not collected: every 2 hours
    moment = announced + HOUR
    sim_poll(moment)
    assert 1.8 * HOUR <= state().next_poll_at - moment <= 2.2 * HOUR
    # in transit: every 4 hours
    moment = first_event(code, "SORTED").occurred_at + datetime.timedelta(minutes=5)
    ShipmentTracking.objects.filter(shipment=shipment).update(next_poll_at=moment)
    sim_poll(moment)
    assert 3.6 * HOUR <= state().next_poll_at - moment <= 4.4 * HOUR
    # out for delivery: every hour
    moment = first_event(code, "OUT_FOR_DELIVERY").occurred_at + datetime.timedelta(minutes=1)
    ShipmentTracking.objects.filter(shipment=shipment).update(next_poll_at=moment)
    sim_poll(moment)
    shipment.refresh_from_db()
    assert shipment.status == S.OUT_FOR_DELIVERY
    assert 0.9 * HOUR <= state().next_poll_at - moment <= 1.1 * HOUR


@pytest.mark.django_db
def test_a_parcel_the_carrier_does_not_know_yet_is_asked_about_again_later(make_order):
    # given a parcel whose label the carrier will only see in three hours
    order = make_order(1)
    announced = announced_now() + 3 * HOUR
    shipment = ship(order, code_for("delivered", announced))

    # when the poller runs before it is due, and again when it is due
    early = sim_poll(shipment.shipped_at + datetime.timedelta(minutes=5))
    due_at = shipment.shipped_at + datetime.timedelta(minutes=40)
    later = sim_poll(due_at)

    # then: not asked before it was due; "not found" is an answer, not an error
    assert (early.due, early.calls) == (0, 0)
    assert (later.polled, later.events_stored, later.failed_calls) == (1, 0, 0)
    state = ShipmentTracking.objects.get(shipment=shipment)
    assert state.attempts == 1 and state.stopped_at is None
    assert 1.8 * HOUR <= state.next_poll_at - due_at <= 2.2 * HOUR
    shipment.refresh_from_db()
    assert shipment.status == S.PRE_TRANSIT
