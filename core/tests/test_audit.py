import datetime

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings
from django.utils import translation

from core import roles
from core.audit import acting_as, audited, history_entries
from core.models import ClosedDay, User
from core.tests.factories import UserFactory
from core.tests.utils import login_staff
from customers.models import Customer
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_service_names_its_actor_outside_a_request(channel):
    # given
    ann = UserFactory(username="ann")
    # when
    with audited(ann):
        channel.name = "Webshop Nederland"
        channel.save(update_fields=["name", "updated_at"])
    # then
    row = channel.history.first()
    assert (row.history_user, row.history_actor, row.history_type) == (ann, "ann", "~")


def test_an_outer_caller_keeps_its_richer_label(channel):
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    with acting_as(bob, "approval:7:ann/bob"), audited(ann):
        channel.name = "Webshop NL 2"
        channel.save(update_fields=["name", "updated_at"])
    row = channel.history.first()
    assert (row.history_user, row.history_actor) == (bob, "approval:7:ann/bob")


def test_an_api_client_or_task_is_named_by_its_label(channel):
    with acting_as(None, "channel:webshop-nl"):
        channel.cutoff_time = datetime.time(12, 0)
        channel.save(update_fields=["cutoff_time", "updated_at"])
    row = channel.history.first()
    assert (row.history_user, row.history_actor) == (None, "channel:webshop-nl")


def test_nobody_named_is_system(channel):
    channel.name = "x"
    channel.save(update_fields=["name", "updated_at"])
    assert channel.history.first().history_actor == "system"


def test_a_login_writes_no_history_row_and_no_password_is_kept(client):
    # given
    user = UserFactory(username="ann")
    rows = user.history.count()
    # when
    client.force_login(user)  # saves last_login only
    user.set_password("a new long password 123")
    user.save()
    # then
    assert user.history.count() == rows + 1
    history_fields = {f.name for f in User.history.model._meta.fields}
    assert "password" not in history_fields and "last_login" not in history_fields


def test_role_and_permission_changes_are_in_the_users_history():
    # given
    ann, root = UserFactory(username="ann", role=roles.CUSTOMER_SERVICE), UserFactory(username="root")
    # when
    with audited(root):
        ann.groups.set([Group.objects.get(name=roles.FINANCE)])
    # then
    last = ann.history.first()
    assert (last.history_user, last.history_actor) == (root, "root")
    assert [g.group.name for g in last.groups.all()] == [roles.FINANCE]
    changes = {c.field: c for c in last.diff_against(last.prev_record).changes}
    assert "groups" in changes


def test_role_groups_are_synced_under_their_own_label():
    group = Group.objects.get(name=roles.WAREHOUSE)
    group.permissions.clear()
    roles.sync_roles()
    assert group.history.first().history_actor == "roles:sync"


def test_history_entries_give_before_and_after_with_names(channel, other_channel):
    # given
    customer = CustomerFactory(channel=channel, first_name="Jan")
    ann = UserFactory(username="ann")
    with audited(ann):
        customer.first_name = "Johan"
        customer.channel = other_channel
        customer.is_blocked = True
        customer.save(update_fields=["first_name", "channel", "is_blocked", "updated_at"])
    # when
    with translation.override("en"):
        entries = history_entries(Customer.history.filter(id=customer.pk))
    # then
    latest, created = entries
    assert (created.kind, created.changes) == ("+", [])
    assert latest.kind == "~" and latest.actor == "ann" and latest.actor_user_id == ann.pk
    changes = {c.field: (c.old, c.new) for c in latest.changes}
    assert changes == {
        "Blocked": ("no", "yes"),
        "First name": ("Jan", "Johan"),
        "Sales channel": (str(channel), str(other_channel)),
    }
    assert latest.url == f"/admin/customers/customer/{customer.pk}/change/"


def test_history_entries_pair_each_object_with_its_own_previous_row():
    a, b = CustomerFactory(first_name="A"), CustomerFactory(first_name="B")
    for customer, name in ((a, "A2"), (b, "B2"), (a, "A3")):
        customer.first_name = name
        customer.save(update_fields=["first_name"])
    entries = history_entries(Customer.history.filter(id__in=[a.pk, b.pk]))
    changed = [(e.object_id, e.changes[0].old, e.changes[0].new) for e in entries if e.kind == "~"]
    assert changed == [(a.pk, "A2", "A3"), (b.pk, "B", "B2"), (a.pk, "A", "A2")]


@override_settings(STAFF_OTP_REQUIRED=True)
def test_the_history_tab_shows_who_changed_what_and_cannot_revert(client, channel):
    # given
    manager = UserFactory(username="marieke", role=roles.MANAGER)
    with audited(UserFactory(username="ann")):
        channel.name = "Webshop Nederland"
        channel.save(update_fields=["name", "updated_at"])
    login_staff(client, manager)
    # when
    page = client.get(f"/admin/core/saleschannel/{channel.pk}/history/")
    # then
    html = page.content.decode()
    assert page.status_code == 200
    assert "ann" in html and "Webshop NL" in html and "Webshop Nederland" in html
    version = channel.history.first()
    form = client.get(f"/admin/core/saleschannel/{channel.pk}/history/{version.history_id}/")
    assert b"_change_history" not in form.content  # no revert button
    oldest = channel.history.last()
    forged = client.post(
        f"/admin/core/saleschannel/{channel.pk}/history/{oldest.history_id}/",
        {"name": "Webshop NL", "kind": "webshop", "cutoff_time": "16:00", "order_number_prefix": "WEB"},
    )
    assert forged.status_code == 403
    channel.refresh_from_db()
    assert channel.name == "Webshop Nederland"


def test_a_calendar_exception_is_traced():
    ann = UserFactory(username="ann")
    with audited(ann):
        day = ClosedDay.objects.create(date=datetime.date(2026, 12, 24), purpose=ClosedDay.Purpose.WAREHOUSE)
    assert day.history.first().history_user == ann
