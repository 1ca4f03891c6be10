"""orders.services.tracking.shipment_tracking_apply: the one way track & trace changes a
shipment and its order."""

import datetime

import pytest
from django.core.exceptions import ObjectDoesNotExist

from carriers.statuses import ShipmentStatus as S
from carriers.tests.conftest import announced_now, code_for, ship
from core.exceptions import InvalidTransition, NotFound
from core.models import OutboxMessage
from orders.events import OrderEventKind
from orders.exceptions import ShipmentInvalid
from orders.models import OrderEvent, Shipment
from orders.services.tracking import shipment_tracking_apply
from orders.states import OrderStatus

MOMENT = datetime.datetime(2026, 11, 21, 11, 49, tzinfo=datetime.UTC)


def snapshot(shipment):
    shipment = Shipment.objects.get(pk=shipment.pk)
    return (shipment.status, shipment.delivered_at, OrderEvent.objects.count(), OutboxMessage.objects.count())


@pytest.mark.django_db
def test_delivered_sets_delivered_at_writes_the_event_and_delivers_the_order(make_order):
    # given
    order = make_order(1)
    shipment = ship(order, code_for("delivered", announced_now()))
    mails_before = OutboxMessage.objects.filter(task_name="documents.shipment_mail").count()

    # when
    result = shipment_tracking_apply(
        shipment_id=shipment.pk,
        status=S.DELIVERED,
        delivered_at=MOMENT,
        actor="carrier:postnl",
        event={"occurred_at": MOMENT, "carrier_status_code": "DELIVERED", "description": "Bezorgd", "location": "x"},
    )

    # then
    assert (result.status, result.delivered_at) == (S.DELIVERED, MOMENT)
    event = OrderEvent.objects.get(order=order, kind=OrderEventKind.SHIPMENT_STATUS)
    assert (event.from_status, event.to_status, event.actor_label) == (S.PRE_TRANSIT, S.DELIVERED, "carrier:postnl")
    assert event.data["delivered_at"] == MOMENT.isoformat()
    assert event.data["description"] == "Bezorgd"
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert OutboxMessage.objects.filter(task_name="documents.shipment_mail").count() == mails_before + 1


@pytest.mark.django_db
def test_the_same_status_again_changes_nothing(make_order):
    shipment = ship(make_order(1), code_for("delivered", announced_now()))
    shipment_tracking_apply(shipment_id=shipment.pk, status=S.IN_TRANSIT, delivered_at=None)
    before = snapshot(shipment)

    shipment_tracking_apply(shipment_id=shipment.pk, status=S.IN_TRANSIT, delivered_at=None)

    assert snapshot(shipment) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "delivered_at", "error"),
    [
        (S.DELIVERED, None, ShipmentInvalid),
        (S.DELIVERED, datetime.datetime(2026, 11, 21, 11, 49), ShipmentInvalid),  # naive
        ("lost_in_space", None, ShipmentInvalid),
    ],
)
def test_invalid_input_changes_nothing(make_order, status, delivered_at, error):
    shipment = ship(make_order(1), code_for("delivered", announced_now()))
    before = snapshot(shipment)

    with pytest.raises(error):
        shipment_tracking_apply(shipment_id=shipment.pk, status=status, delivered_at=delivered_at)

    assert snapshot(shipment) == before


@pytest.mark.django_db
def test_a_final_status_stays(make_order):
    shipment = ship(make_order(1), code_for("delivered", announced_now()))
    shipment_tracking_apply(shipment_id=shipment.pk, status=S.DELIVERED, delivered_at=MOMENT)
    before = snapshot(shipment)

    with pytest.raises(InvalidTransition):
        shipment_tracking_apply(shipment_id=shipment.pk, status=S.RETURNED_TO_SENDER, delivered_at=None)

    assert snapshot(shipment) == before


@pytest.mark.django_db
def test_an_unknown_shipment_is_not_found():
    with pytest.raises(NotFound):
        shipment_tracking_apply(shipment_id=999_999, status=S.IN_TRANSIT, delivered_at=None)
    with pytest.raises(ObjectDoesNotExist):
        Shipment.objects.get(pk=999_999)


@pytest.mark.django_db
def test_a_partly_delivered_order_is_not_delivered(make_order):
    order = make_order(2)
    first = ship(order, code_for("delivered", announced_now()))
    ship(order, code_for("delivered", announced_now(), skip=1))

    shipment_tracking_apply(shipment_id=first.pk, status=S.DELIVERED, delivered_at=MOMENT)

    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
