"""For operators: `manage.py poll_carriers`, the beat tasks, and the watch list in the
customer's history."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone
from django.utils.text import capfirst

from carriers import rules
from carriers.models import ShipmentEvent, ShipmentTracking, TrackingIssue
from carriers.services.tracking import tracking_states_backfill
from carriers.services.watch import tracking_issue_resolve
from carriers.tasks import poll_due_task, stalled_check_task
from carriers.tests.conftest import announced_now, code_for, life_cycle, ship, sim_poll
from core.schedule import DEFAULT_SCHEDULE
from core.services import business_rule_create
from core.tests.factories import UserFactory
from customers.selectors import customer_history

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def poll_at_once(db):
    """Staff set the first poll to right after shipping."""
    business_rule_create(
        key=rules.FIRST_POLL_MINUTES, value=0, valid_from=timezone.now() - datetime.timedelta(days=1), actor=None
    )


@pytest.mark.django_db
def test_poll_carriers_once_prints_what_it_did_per_carrier(make_order, poll_at_once):
    # given a PostNL and a DHL parcel shipped just now (simulated carriers, real time)
    announced = announced_now()
    ship(make_order(1), code_for("delivered", announced), carrier="postnl")
    ship(make_order(1), code_for("delivered", announced, skip=1), carrier="dhl")
    out = io.StringIO()

    # when
    call_command("poll_carriers", "--once", stdout=out)

    # then the carriers saw the labels: one event each
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["dhl", "postnl"]
    for line in lines:
        assert "due 1, polled 1 (0 early), feed 0, calls 1, events stored 1, status changes 0" in line
        assert "skipped (quota) 0, skipped (backoff) 0" in line
    assert ShipmentEvent.objects.count() == 2


@pytest.mark.django_db
def test_poll_carriers_for_one_carrier_in_backoff(make_order, poll_at_once):
    ship(make_order(1), code_for("delivered", announced_now()), carrier="dhl")
    out = io.StringIO()

    with override_settings(CARRIER_SIMULATOR_FAULTS={"dhl": "server_error"}):
        call_command("poll_carriers", "--once", "--carrier", "dhl", stdout=out)
        call_command("poll_carriers", "--once", "--carrier", "dhl", stdout=out)

    failed, waiting = out.getvalue().splitlines()
    assert "calls 1" in failed and "error carrier_server_error" in failed and "backing off until" in failed
    assert "calls 0" in waiting and "skipped (backoff) 1" in waiting
    assert not ShipmentEvent.objects.exists()


@pytest.mark.django_db
def test_poll_carriers_without_once_keeps_polling_until_stopped(make_order, poll_at_once, monkeypatch):
    # given a parcel, and an operator who stops the loop (Ctrl-C) during its first pause
    ship(make_order(1), code_for("delivered", announced_now()))
    pauses = []

    def pause(seconds):
        pauses.append(seconds)
        raise KeyboardInterrupt

    monkeypatch.setattr("carriers.management.commands.poll_carriers.time.sleep", pause)
    out = io.StringIO()

    # when
    call_command("poll_carriers", "--interval", "30", stdout=out)

    # then one cycle ran, the watch list was checked, and it paused for the interval
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("postnl: due 1, polled 1")
    assert lines[-1] == "Stopped."
    assert pauses == [30]
    assert ShipmentEvent.objects.count() == 1


def test_poll_carriers_refuses_an_unknown_carrier():
    with pytest.raises(CommandError, match="Unknown carrier"):
        call_command("poll_carriers", "--once", "--carrier", "pigeon")


@pytest.mark.django_db
def test_the_beat_task_fans_out_one_poll_per_carrier(make_order, poll_at_once):
    # given parcels of two carriers, one of them down
    announced = announced_now()
    postnl = ship(make_order(1), code_for("delivered", announced), carrier="postnl")
    dhl = ship(make_order(1), code_for("delivered", announced, skip=1), carrier="dhl")

    # when beat runs the fan-out (tasks run inline in the tests)
    with override_settings(CARRIER_SIMULATOR_FAULTS={"dhl": "timeout"}):
        first = poll_due_task()
        second = poll_due_task()

    # then both carriers were polled; DHL failed and is left out of the next fan-out
    assert first == ["dhl", "postnl"]
    assert second == []  # postnl is not due again yet, dhl backs off
    assert ShipmentEvent.objects.filter(shipment=postnl).count() == 1
    assert not ShipmentEvent.objects.filter(shipment=dhl).exists()


@pytest.mark.django_db
def test_the_hourly_check_starts_tracking_parcels_without_a_state(make_order):
    shipment = ship(make_order(1), code_for("delivered", announced_now()))
    ShipmentTracking.objects.filter(shipment=shipment).delete()

    stalled_check_task()

    state = ShipmentTracking.objects.get(shipment=shipment)
    assert state.carrier == "postnl" and state.stopped_at is None
    assert tracking_states_backfill() == 0


def test_the_beat_schedule_has_the_polling_and_the_watch_list():
    tasks = {entry["task"]: entry for entry in DEFAULT_SCHEDULE.values()}
    assert tasks["carriers.poll_due"]["every_seconds"] == 60
    assert tasks["carriers.stalled_check"]["every_seconds"] == 3600


@pytest.mark.django_db
def test_the_stalled_check_task_runs_the_watch_list():
    assert stalled_check_task() == 0


@pytest.mark.django_db
def test_a_resolved_issue_shows_in_the_customers_history(make_order):
    # given a parcel returned to sender, resolved by staff
    order = make_order(1)
    code = code_for("returned_address_unknown", announced_now())
    shipment = ship(order, code)
    ShipmentTracking.objects.filter(shipment=shipment).update(next_poll_at=life_cycle(code)[-1].occurred_at)
    sim_poll(life_cycle(code)[-1].occurred_at + MINUTE)
    issue = TrackingIssue.objects.get(shipment=shipment, kind="returned_to_sender")
    manager = UserFactory(is_superuser=True)
    tracking_issue_resolve(issue_id=issue.pk, actor=manager, note="Sent again to the corrected address")

    # when
    entries = customer_history(customer_id=order.customer_id)

    # then
    label = str(capfirst(TrackingIssue._meta.verbose_name))  # an order's id may be the issue's
    resolved, opened = [e for e in entries if e.object_id == issue.pk and e.model_label == label]
    assert (opened.kind, opened.actor) == ("+", "carrier:postnl")
    assert (resolved.kind, resolved.actor) == ("~", manager.username)
    assert "Sent again to the corrected address" in [change.new for change in resolved.changes]
