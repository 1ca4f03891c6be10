"""A carrier's answer for a whole batch of parcels is recorded together: a fixed number of
queries whatever the number of parcels, one transaction, each order refreshed once, mails,
webhooks and issues once — also when the carrier repeats itself."""

import datetime

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from carriers.models import ShipmentEvent, ShipmentNotification, ShipmentTracking, TrackingIssue
from carriers.services.polling import tracking_poll_cycle
from carriers.statuses import ShipmentStatus as S
from carriers.tests.bulk import bulk_open_shipments, simulator_adapters
from carriers.tests.conftest import announced_now, code_for, first_event, life_cycle, ship, sim_poll
from core.models import OutboxMessage, SalesChannel
from orders.events import OrderEventKind
from orders.models import Order, OrderEvent, Shipment, WebhookDelivery
from orders.services.tracking import TrackingChange, shipments_tracking_apply
from orders.states import OrderStatus

NOW = datetime.datetime(2026, 11, 19, 14, 0, tzinfo=datetime.UTC)  # a Thursday afternoon
MINUTE = datetime.timedelta(minutes=1)
CARRIERS = ("postnl",)
# A cycle's own reads (backfill, due count, open count, rules, the due parcels) and, per
# carrier call, what recording its batch of up to 100 parcels may cost at most.
CYCLE_QUERIES = 10
BATCH_QUERIES = 30


def trail() -> tuple:
    """Everything recording a carrier's answer may write."""
    return (
        ShipmentEvent.objects.count(),
        OrderEvent.objects.count(),
        Order.history.count(),
        OutboxMessage.objects.count(),
        WebhookDelivery.objects.count(),
        TrackingIssue.objects.count(),
        TrackingIssue.history.count(),
        ShipmentNotification.objects.count(),
    )


def open_parcels(count: int):
    """`count` parcels shipped over the last three days (so the carrier has news of every
    phase), all due now, their shop with a webhook."""
    parcels = bulk_open_shipments(
        count=count,
        carriers=CARRIERS,
        announced_from=NOW - datetime.timedelta(days=3),
        every_seconds=3 * 24 * 3600 / count,
        first_poll_after=datetime.timedelta(0),
    )
    SalesChannel.objects.filter(code__startswith="bench-").update(
        webhook_url="https://shop.example.nl/hooks", webhook_secret="s3cret"
    )
    return parcels


def cycle_at(moment: datetime.datetime):
    return tracking_poll_cycle(now=moment, adapters=simulator_adapters(moment, CARRIERS), carriers=CARRIERS)


@pytest.mark.django_db
@pytest.mark.parametrize("count", [20, 100, 250])
def test_a_cycle_costs_a_fixed_number_of_queries_per_carrier_call_whatever_the_number_of_parcels(count):
    # given parcels in every phase, most of them with news
    open_parcels(count)

    # when
    with CaptureQueriesContext(connection) as queries:
        cycle = cycle_at(NOW)

    # then every parcel was recorded, in a number of queries that depends on the calls only
    totals = cycle.totals()
    assert totals["polled"] == count
    assert totals["status_changes"] > count / 3
    assert WebhookDelivery.objects.filter(event="shipment.status_changed").count() == totals["status_changes"]
    assert len(queries) <= CYCLE_QUERIES + BATCH_QUERIES * totals["calls"]


@pytest.mark.django_db
def test_a_repeated_answer_for_a_batch_adds_nothing():
    # given a batch polled once
    open_parcels(100)
    first = cycle_at(NOW).totals()
    assert first["events_stored"] > 0 and first["status_changes"] > 0
    before = trail()
    states = dict(ShipmentTracking.objects.values_list("shipment_id", "stop_reason"))

    # when the carrier is asked again at the same moment about every parcel still followed
    ShipmentTracking.objects.filter(stopped_at__isnull=True).update(next_poll_at=NOW)
    again = cycle_at(NOW).totals()

    # then it answers the same, and nothing is stored, changed, mailed or sent again
    assert again["polled"] == sum(1 for reason in states.values() if not reason) > 0
    assert (again["events_stored"], again["status_changes"], again["given_up"]) == (0, 0, 0)
    assert trail() == before
    assert dict(ShipmentTracking.objects.values_list("shipment_id", "stop_reason")) == states


def delivered_and_failed_codes(announced: datetime.datetime) -> tuple[str, str, datetime.datetime]:
    """A parcel delivered and a parcel whose first attempt failed, and a moment when the
    carrier shows both (the failed one not yet out for delivery again)."""
    for skip in range(30):
        failed = code_for("failed_then_delivered", announced, skip=skip)
        not_home = first_event(failed, "NOT_HOME").occurred_at
        next_round = [e for e in life_cycle(failed) if e.carrier_status_code == "OUT_FOR_DELIVERY"][1].occurred_at
        for other in range(30):
            delivered = code_for("delivered", announced, skip=other)
            delivered_at = life_cycle(delivered)[-1].occurred_at
            moment = max(not_home, delivered_at) + MINUTE
            if moment < next_round:
                return delivered, failed, moment
    raise AssertionError("no such pair of parcels")


def parcel_mails() -> list:
    return [m for m in mail.outbox if m.extra_headers.get("X-Backoffice-Template", "").startswith("carriers/")]


@pytest.mark.django_db
def test_one_batch_with_a_delivery_and_a_failed_attempt_mails_and_opens_issues_once(
    make_order, django_capture_on_commit_callbacks
):
    # given two parcels of two orders, asked about in one call
    delivered_code, failed_code, moment = delivered_and_failed_codes(announced_now())
    delivered_order, failed_order = make_order(1), make_order(1)
    delivered = ship(delivered_order, delivered_code)
    failed = ship(failed_order, failed_code)
    ShipmentTracking.objects.update(next_poll_at=moment)
    mail.outbox.clear()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        stats = sim_poll(moment)

    # then one call, both recorded
    assert (stats.calls, stats.polled, stats.status_changes) == (1, 2, 2)
    delivered.refresh_from_db()
    failed.refresh_from_db()
    assert (delivered.status, failed.status) == (S.DELIVERED, S.DELIVERY_FAILED)
    assert delivered.delivered_at == life_cycle(delivered_code)[-1].occurred_at
    # the delivered parcel's customer got the delivered mail, the other one nothing
    (message,) = parcel_mails()
    assert message.to == [delivered_order.email]
    assert message.extra_headers["X-Backoffice-Template"] == "carriers/mail/shipment_delivered"
    assert ShipmentNotification.objects.get(shipment=delivered, kind="delivered").sent_at is not None
    assert not ShipmentNotification.objects.filter(shipment=failed).exists()
    # the failed attempt is on the watch list, the delivered parcel is not
    (issue,) = TrackingIssue.objects.all()
    assert (issue.shipment_id, issue.kind, issue.resolved_at) == (failed.pk, "delivery_failed", None)
    assert issue.detail["description"] == first_event(failed_code, "NOT_HOME").description
    # only the delivered order is delivered
    assert Order.objects.get(pk=delivered_order.pk).status == OrderStatus.DELIVERED
    assert Order.objects.get(pk=failed_order.pk).status == OrderStatus.SHIPPED
    before = trail()

    # when the failed parcel is asked about again and the carrier repeats itself
    ShipmentTracking.objects.filter(shipment=failed).update(next_poll_at=moment)
    with django_capture_on_commit_callbacks(execute=True):
        again = sim_poll(moment)

    # then no second mail, issue or event
    assert (again.polled, again.events_stored, again.status_changes) == (1, 0, 0)
    assert trail() == before
    assert len(parcel_mails()) == 1


@pytest.mark.django_db
def test_an_order_whose_parcels_are_delivered_in_one_batch_changes_status_once(make_order, channel):
    # given an order of two parcels, both delivered by the time they are asked about
    channel.webhook_url = "https://shop.example.nl/hooks"
    channel.webhook_secret = "s3cret"
    channel.save(update_fields=["webhook_url", "webhook_secret"])
    order = make_order(2)
    announced = announced_now()
    codes = [code_for("delivered", announced), code_for("delivered", announced, skip=1)]
    parcels = [ship(order, code) for code in codes]
    moment = max(life_cycle(code)[-1].occurred_at for code in codes) + MINUTE
    ShipmentTracking.objects.update(next_poll_at=moment)

    # when
    stats = sim_poll(moment)

    # then
    assert (stats.calls, stats.status_changes) == (1, 2)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    (change,) = OrderEvent.objects.filter(order=order, kind=OrderEventKind.STATUS_CHANGED, to_status="delivered")
    assert (change.from_status, change.actor_label) == (OrderStatus.SHIPPED, "carrier:postnl")
    assert change.data["reason"] in {f"shipment:{code}" for code in codes}
    (history,) = order.history.filter(status=OrderStatus.DELIVERED)
    assert (history.history_type, history.history_actor, history.history_user) == ("~", "carrier:postnl", None)
    assert history.number == order.number
    hooks = WebhookDelivery.objects.filter(order=order)
    assert hooks.filter(event="order.status_changed", payload__data__to=OrderStatus.DELIVERED).count() == 1
    shipment_hooks = hooks.filter(event="shipment.status_changed")
    assert sorted(h.payload["data"]["tracking_code"] for h in shipment_hooks) == sorted(codes)
    assert OutboxMessage.objects.filter(task_name="documents.shipment_mail", kwargs__kind="delivered").count() == 2
    for parcel in parcels:
        assert ShipmentTracking.objects.get(shipment=parcel).stop_reason == "final"


@pytest.mark.django_db
def test_a_refused_change_in_a_batch_leaves_that_parcel_and_applies_the_others(make_order):
    # given three parcels: one delivered already
    announced = announced_now()
    final, moving, other = (ship(make_order(1), code_for("delivered", announced, skip=i)) for i in range(3))
    moment = datetime.datetime(2026, 11, 21, 11, 49, tzinfo=datetime.UTC)
    shipments_tracking_apply(changes=[TrackingChange(final.pk, S.DELIVERED, moment)])
    events = OrderEvent.objects.count()

    # when a batch tries to move it on, with a valid change and an invalid one (no moment of delivery)
    results = shipments_tracking_apply(
        changes=[
            TrackingChange(final.pk, S.RETURNED_TO_SENDER),
            TrackingChange(moving.pk, S.IN_TRANSIT, event={"carrier_status_code": "SORTED"}),
            TrackingChange(other.pk, S.DELIVERED, None),
        ]
    )

    # then the delivered parcel and the invalid change are refused, the other is applied
    refused, applied, invalid = results
    assert (refused.error.code, refused.status, refused.changed) == ("invalid_transition", S.DELIVERED, False)
    assert (applied.error, applied.status, applied.changed) == (None, S.IN_TRANSIT, True)
    assert (invalid.error.code, invalid.changed) == ("invalid_shipment", False)
    statuses = dict(Shipment.objects.values_list("pk", "status"))
    assert (statuses[final.pk], statuses[moving.pk], statuses[other.pk]) == (S.DELIVERED, S.IN_TRANSIT, S.PRE_TRANSIT)
    (event,) = OrderEvent.objects.all()[events:]
    assert (event.order_id, event.to_status, event.data["carrier_status_code"]) == (
        moving.fulfilment.order_id,
        S.IN_TRANSIT,
        "SORTED",
    )
