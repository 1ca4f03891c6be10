"""The staff screens: the parcel's timeline on the shipment page, the event list and the
watch list, with their query counts pinned (no N+1)."""

import datetime

import pytest
from django.urls import reverse

from carriers.models import ShipmentTracking, TrackingIssue
from carriers.tests.conftest import announced_now, code_for, life_cycle, ship, sim_poll
from core.tests.factories import UserFactory

MINUTE = datetime.timedelta(minutes=1)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_superuser=True))
    return client


@pytest.fixture
def tracked(make_order):
    """Five parcels followed to the end one after the other (each seen at every event):
    delivered ones, a failed attempt, a return."""
    announced = announced_now()
    order = make_order(5)
    codes = [code_for("delivered", announced, skip=i) for i in range(3)]
    codes += [code_for("failed_then_delivered", announced), code_for("returned_address_unknown", announced)]
    shipments = []
    for code in codes:
        shipment = ship(order, code)
        shipments.append(shipment)
        for event in life_cycle(code):
            ShipmentTracking.objects.filter(shipment=shipment).update(next_poll_at=event.occurred_at)
            stats = sim_poll(event.occurred_at + MINUTE)
            assert (stats.polled, stats.error, stats.already_running) == (1, "", False), stats
    return shipments, codes


@pytest.mark.django_db
def test_the_shipment_page_shows_the_track_and_trace_timeline(staff, tracked, django_assert_max_num_queries):
    shipments, codes = tracked
    shipment, code = shipments[3], codes[3]  # the failed attempt

    with django_assert_max_num_queries(16):
        response = staff.get(reverse("admin:orders_shipment_change", args=[shipment.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    for event in life_cycle(code):
        assert event.description in page
    assert "Dagenlang geen scan" not in page
    assert "Bezorging mislukt" in page  # the (closed) issue of the failed attempt
    assert "Eindstatus bereikt" in page  # polling stopped: delivered


@pytest.mark.django_db
def test_the_event_list_filters_by_carrier_and_status_and_finds_a_tracking_code(
    staff, tracked, django_assert_max_num_queries
):
    _shipments, codes = tracked
    url = reverse("admin:carriers_shipmentevent_changelist")

    with django_assert_max_num_queries(8):
        response = staff.get(url)
    assert response.status_code == 200

    with django_assert_max_num_queries(8):
        response = staff.get(url, {"carrier": "postnl", "status__exact": "delivery_failed"})
    page = response.content.decode()
    assert codes[3] in page and codes[4] in page and codes[0] not in page

    response = staff.get(url, {"q": codes[4]})
    assert response.context["cl"].result_count == len(life_cycle(codes[4]))
    assert staff.get(url, {"carrier": "dhl"}).context["cl"].result_count == 0


@pytest.mark.django_db
def test_the_watch_list_shows_open_issues_and_staff_resolve_one_with_a_reason(
    staff, tracked, django_assert_max_num_queries
):
    _shipments, codes = tracked
    url = reverse("admin:carriers_trackingissue_changelist")

    # the open issues by default: only the return (the failed attempt closed itself)
    with django_assert_max_num_queries(10):
        response = staff.get(url)
    assert response.status_code == 200
    (issue,) = response.context["cl"].result_list
    assert issue.kind == TrackingIssue.Kind.RETURNED_TO_SENDER
    assert staff.get(url, {"state": "all"}).context["cl"].result_count == 3  # two failed attempts, closed

    page = staff.get(reverse("admin:carriers_trackingissue_change", args=[issue.pk]))
    assert page.status_code == 200
    assert codes[4] in page.content.decode()

    # resolve it: first the reason page, then confirmed
    form = {"action": "resolve", "_selected_action": [issue.pk]}
    assert "reason" in staff.post(url, form).content.decode()
    staff.post(url, {**form, "_confirm": "1", "reason": "Parcel back in stock, refund issued"})

    issue.refresh_from_db()
    assert issue.resolution == TrackingIssue.Resolution.STAFF
    assert issue.note == "Parcel back in stock, refund issued"
    assert staff.get(url).context["cl"].result_count == 0
