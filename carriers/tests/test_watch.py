"""The watch list: failed deliveries, returns, stalled and lost parcels open issues; they
close when the parcel moves on or staff resolve them."""

import datetime

import pytest

from carriers.models import ShipmentTracking, TrackingIssue
from carriers.selectors import tracking_issue_counts
from carriers.services.tracking import shipment_tracking_resume
from carriers.services.watch import stalled_cutoff, tracking_issue_resolve, tracking_stalled_check
from carriers.statuses import ShipmentStatus as S
from carriers.tests.conftest import announced_now, code_for, first_event, life_cycle, ship, sim_poll, sim_poll_until
from core.exceptions import Conflict, PermissionDenied
from core.tests.factories import UserFactory
from orders.models import Order
from orders.states import OrderStatus

MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
Kind = TrackingIssue.Kind


def quiet_lost_code(announced, *, missing: bool = False) -> str:
    """A lost parcel's code: silent after sorting, or with the carrier's "missing" report."""
    for skip in range(50):
        code = code_for("lost", announced, skip=skip)
        if (life_cycle(code)[-1].carrier_status_code == "MISSING") == missing:
            return code
    raise AssertionError("no such lost parcel")


def issues(shipment, **filters):
    return list(TrackingIssue.objects.filter(shipment=shipment, **filters).order_by("id"))


def due_poll(shipment, moment):
    """Ask about the parcel at `moment` whatever its schedule says."""
    ShipmentTracking.objects.filter(shipment=shipment).update(next_poll_at=moment)
    return sim_poll(moment)


@pytest.mark.django_db
def test_a_failed_delivery_opens_an_issue_that_closes_when_the_next_attempt_starts(make_order):
    # given a parcel whose first attempt fails
    code = code_for("failed_then_delivered", announced_now())
    shipment = ship(make_order(1), code)
    not_home = first_event(code, "NOT_HOME")

    # when the poller sees the failed attempt
    due_poll(shipment, not_home.occurred_at + MINUTE)

    # then
    (issue,) = issues(shipment)
    assert (issue.kind, issue.resolved_at) == (Kind.DELIVERY_FAILED, None)
    assert issue.detail["description"] == not_home.description
    assert tracking_issue_counts()[Kind.DELIVERY_FAILED] == 1

    # when it is out for delivery again the next day
    second_round = [e for e in life_cycle(code) if e.carrier_status_code == "OUT_FOR_DELIVERY"][1]
    due_poll(shipment, second_round.occurred_at + MINUTE)

    # then the issue closed by itself
    (issue,) = issues(shipment)
    assert issue.resolved_at is not None
    assert issue.resolution == TrackingIssue.Resolution.MOVED_ON
    assert tracking_issue_counts()[Kind.DELIVERY_FAILED] == 0


@pytest.mark.django_db
def test_a_return_to_sender_stays_on_the_watch_list_and_stops_polling(make_order):
    # given a parcel with an unknown address
    order = make_order(1)
    code = code_for("returned_address_unknown", announced_now())
    shipment = ship(order, code)
    address_unknown = first_event(code, "ADDRESS_UNKNOWN")
    returned = first_event(code, "RETURNED_TO_SENDER")

    # when the poller sees the failed attempt, then the return
    due_poll(shipment, address_unknown.occurred_at + MINUTE)
    due_poll(shipment, returned.occurred_at + MINUTE)

    # then the failed-delivery issue made way for the return, which stays open for staff
    failed, back = issues(shipment)
    assert (failed.kind, failed.resolution) == (Kind.DELIVERY_FAILED, TrackingIssue.Resolution.MOVED_ON)
    assert (back.kind, back.resolved_at) == (Kind.RETURNED_TO_SENDER, None)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.delivered_at) == (S.RETURNED_TO_SENDER, None)
    state = ShipmentTracking.objects.get(shipment=shipment)
    assert (state.stop_reason, state.next_poll_at) == ("final", None)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED  # never delivered


@pytest.mark.django_db
def test_a_lost_parcel_becomes_stalled_then_lost_and_polling_stops(make_order):
    # given a parcel that stops moving after sorting
    code = quiet_lost_code(announced_now())
    shipment = ship(make_order(1), code)
    events = life_cycle(code)
    sorted_at = first_event(code, "SORTED").occurred_at
    announced = events[0].occurred_at

    # when the poller follows it for a week (and the hourly check runs each day)
    opened = []
    day_start = announced
    for _day in range(7):
        end = day_start + DAY
        sim_poll_until(end, day_start, step_minutes=60)
        opened.append(tracking_stalled_check(now=end))
        day_start = end

    # then it went on the watch list once, after three whole carrier business days without a scan
    (stalled,) = issues(shipment, kind=Kind.STALLED)
    assert stalled.resolved_at is None
    assert sum(opened) == 1
    assert stalled.opened_at >= stalled_cutoff(stalled.opened_at, 3)
    assert stalled.opened_at - sorted_at >= 3 * DAY
    assert datetime.datetime.fromisoformat(stalled.detail["last_scan_at"]) == events[-1].occurred_at

    # when two weeks pass without news
    runs = sim_poll_until(events[-1].occurred_at + 15 * DAY, day_start, step_minutes=12 * 60)

    # then the poller gave up: a lost issue replaces the stalled one and polling stops
    assert sum(r.given_up for r in runs) == 1
    state = ShipmentTracking.objects.get(shipment=shipment)
    assert state.stop_reason == "given_up" and state.next_poll_at is None
    (lost,) = issues(shipment, kind=Kind.LOST)
    assert lost.resolved_at is None
    stalled.refresh_from_db()
    assert stalled.resolution == TrackingIssue.Resolution.SUPERSEDED
    assert tracking_issue_counts() == {
        "stalled": 0,
        "delivery_failed": 0,
        "returned_to_sender": 0,
        "exception": 0,
        "lost": 1,
    }
    # a given-up parcel is not asked about again
    later = sim_poll(events[-1].occurred_at + 20 * DAY)
    assert later.due == 0 and later.calls == 0


@pytest.mark.django_db
def test_a_parcel_the_carrier_reports_missing_opens_an_exception_issue(make_order):
    code = quiet_lost_code(announced_now(), missing=True)
    shipment = ship(make_order(1), code)
    missing = life_cycle(code)[-1]

    due_poll(shipment, missing.occurred_at + MINUTE)

    (issue,) = issues(shipment)
    assert (issue.kind, issue.detail["description"]) == (Kind.EXCEPTION, missing.description)
    shipment.refresh_from_db()
    assert shipment.status == S.EXCEPTION
    assert ShipmentTracking.objects.get(shipment=shipment).stopped_at is None  # not final: still followed


@pytest.mark.django_db
def test_a_parcel_the_carrier_did_not_answer_about_is_not_called_stalled(make_order):
    # given a parcel last polled right after sorting (then the carrier was unreachable)
    code = code_for("lost", announced_now())
    shipment = ship(make_order(1), code)
    sorted_at = first_event(code, "SORTED").occurred_at
    due_poll(shipment, sorted_at + HOUR)

    # when the check runs a week later
    opened = tracking_stalled_check(now=sorted_at + 7 * DAY)

    # then: no answer since the cutoff, so no verdict
    assert opened == 0
    assert issues(shipment) == []


@pytest.mark.django_db
def test_staff_resolve_an_issue_with_a_note_and_can_track_a_lost_parcel_again(make_order):
    # given a lost parcel on the watch list
    code = code_for("lost", announced_now())
    shipment = ship(make_order(1), code)
    last = life_cycle(code)[-1]
    due_poll(shipment, last.occurred_at + HOUR)
    due_poll(shipment, last.occurred_at + 15 * DAY)
    (lost,) = issues(shipment, kind=Kind.LOST)
    clerk = UserFactory()  # staff without the resolve permission
    manager = UserFactory(is_superuser=True)

    # a user without the permission may not resolve; a reason is required
    with pytest.raises(PermissionDenied):
        tracking_issue_resolve(issue_id=lost.pk, actor=clerk, note="claimed")
    with pytest.raises(Conflict):
        tracking_issue_resolve(issue_id=lost.pk, actor=manager, note=" ")
    lost.refresh_from_db()
    assert lost.resolved_at is None

    # when staff resolve it
    tracking_issue_resolve(issue_id=lost.pk, actor=manager, note="Claim filed at PostNL, new parcel sent")

    # then
    lost.refresh_from_db()
    assert (lost.resolution, lost.resolved_by, lost.note) == (
        TrackingIssue.Resolution.STAFF,
        manager,
        "Claim filed at PostNL, new parcel sent",
    )
    assert lost.history.first().history_user == manager
    with pytest.raises(Conflict):
        tracking_issue_resolve(issue_id=lost.pk, actor=manager, note="again")

    # and the parcel can be tracked again (the carrier found it)
    state = shipment_tracking_resume(shipment_id=shipment.pk, actor=manager)
    assert (state.stopped_at, state.stop_reason) == (None, "")
    assert state.next_poll_at is not None
