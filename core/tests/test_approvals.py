import datetime

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings
from django.utils import translation

from core import roles
from core.approvals import (
    FourEyesViolation,
    approval_action,
    approval_carry_out,
    approval_decide,
    approval_execute,
    approval_notify,
    approval_request_create,
    approval_withdraw,
)
from core.exceptions import ApplicationError, Conflict, PermissionDenied
from core.models import ApprovalRequest, SalesChannel
from core.tests.factories import UserFactory
from core.tests.utils import login_staff

pytestmark = pytest.mark.django_db

RUNS: list[int] = []


@approval_action("tests.change_cutoff", label="Change a channel's cut-off", permission="core.change_saleschannel")
def _change_cutoff(payload: dict, *, approval: ApprovalRequest) -> dict:
    channel = SalesChannel.objects.select_for_update().get(pk=payload["channel_id"])
    if payload.get("fail"):
        channel.cutoff_time = datetime.time(1, 0)
        channel.save(update_fields=["cutoff_time"])  # must be rolled back
        raise ApplicationError("the channel refuses", code="refused")
    channel.cutoff_time = datetime.time.fromisoformat(payload["cutoff"])
    channel.save(update_fields=["cutoff_time", "updated_at"])
    RUNS.append(approval.pk)
    return {"cutoff": payload["cutoff"]}


@pytest.fixture
def requester():
    return UserFactory(username="requester")


@pytest.fixture
def decider():
    user = UserFactory(username="decider")
    user.user_permissions.add(Permission.objects.get(codename="change_saleschannel"))
    return user


def _ask(channel, requester, **extra):
    return approval_request_create(
        action="tests.change_cutoff",
        payload={"channel_id": channel.pk, "cutoff": "12:00", **extra},
        requested_by=requester,
        summary=f"Cut-off of {channel.code} to 12:00",
        subject=channel,
    )


def test_requester_cannot_approve_their_own_request(channel, requester):
    # given: the requester even holds the permission
    requester.user_permissions.add(Permission.objects.get(codename="change_saleschannel"))
    approval = _ask(channel, requester)
    # when / then
    with pytest.raises(FourEyesViolation):
        approval_decide(approval_id=approval.pk, decided_by=requester, approve=True)
    channel.refresh_from_db()
    approval.refresh_from_db()
    assert channel.cutoff_time == datetime.time(16, 0)
    assert approval.status == ApprovalRequest.Status.PENDING


def test_decider_needs_the_actions_permission(channel, requester):
    approval = _ask(channel, requester)
    with pytest.raises(PermissionDenied):
        approval_decide(approval_id=approval.pk, decided_by=UserFactory(), approve=True)
    channel.refresh_from_db()
    assert channel.cutoff_time == datetime.time(16, 0)


def test_unapproved_request_does_nothing(channel, requester):
    _ask(channel, requester)
    channel.refresh_from_db()
    assert channel.cutoff_time == datetime.time(16, 0)


def test_approved_request_runs_exactly_once(channel, requester, decider):
    # given
    approval = _ask(channel, requester)
    RUNS.clear()
    # when
    result = approval_decide(approval_id=approval.pk, decided_by=decider, approve=True, note="ok")
    again = approval_execute(approval_id=approval.pk)
    # then
    channel.refresh_from_db()
    assert channel.cutoff_time == datetime.time(12, 0)
    assert result.status == again.status == ApprovalRequest.Status.EXECUTED
    assert result.decided_by == decider and result.result == {"cutoff": "12:00"}
    assert [approval.pk] == RUNS
    with pytest.raises(Conflict):
        approval_decide(approval_id=approval.pk, decided_by=decider, approve=True)
    assert [approval.pk] == RUNS


def test_rejected_request_does_nothing(channel, requester, decider):
    approval = _ask(channel, requester)
    result = approval_decide(approval_id=approval.pk, decided_by=decider, approve=False, note="no")
    channel.refresh_from_db()
    assert result.status == ApprovalRequest.Status.REJECTED
    assert channel.cutoff_time == datetime.time(16, 0)


def test_failing_action_changes_nothing_and_is_marked_failed(channel, requester, decider):
    approval = _ask(channel, requester, fail=True)
    result = approval_decide(approval_id=approval.pk, decided_by=decider, approve=True)
    channel.refresh_from_db()
    assert result.status == ApprovalRequest.Status.FAILED
    assert "refuses" in result.error
    assert channel.cutoff_time == datetime.time(16, 0)


def test_one_pending_request_per_subject(channel, requester):
    first = _ask(channel, requester)
    second = _ask(channel, requester)
    assert first.pk == second.pk
    assert ApprovalRequest.objects.count() == 1


def test_withdraw_only_by_requester(channel, requester, decider):
    approval = _ask(channel, requester)
    with pytest.raises(PermissionDenied):
        approval_withdraw(approval_id=approval.pk, actor=decider)
    assert approval_withdraw(approval_id=approval.pk, actor=requester).status == ApprovalRequest.Status.WITHDRAWN


def test_admin_queue_decides_through_the_service(client, channel, requester, decider):
    # given
    decider.is_staff = True
    decider.save()
    decider.user_permissions.add(Permission.objects.get(codename="view_approvalrequest"))
    approval = _ask(channel, requester)
    client.force_login(decider)
    url = f"/admin/core/approvalrequest/{approval.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="_approve"' in page.content
    # when
    client.post(url, {"_approve": "1", "decision_note": "prima"})
    # then
    approval.refresh_from_db()
    channel.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.EXECUTED
    assert approval.decision_note == "prima"
    assert channel.cutoff_time == datetime.time(12, 0)


def test_admin_hides_the_buttons_from_the_requester(client, channel, requester):
    requester.is_superuser = True
    requester.save()
    approval = _ask(channel, requester)
    client.force_login(requester)
    url = f"/admin/core/approvalrequest/{approval.pk}/change/"
    page = client.get(url)
    assert b'name="_approve"' not in page.content
    client.post(url, {"_approve": "1"})  # forged POST
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING


# --- the real customers.unblock action, the queue and the notifications --------------------

BOOM: list[str] = []


@approval_action("tests.explode", label="Explode", permission="core.change_saleschannel")
def _explode(payload: dict, *, approval: ApprovalRequest) -> dict:
    SalesChannel.objects.filter(pk=payload["channel_id"]).update(name="half done")
    raise KeyError("a bug in the handler")


@pytest.fixture
def blocked_customer():
    from customers.services import customer_block
    from customers.tests.factories import CustomerFactory

    customer = CustomerFactory()
    return customer_block(
        customer_id=customer.pk, reason="fraud", actor=UserFactory(username="blocker", role=roles.FINANCE)
    )


@pytest.fixture
def service_user():
    return UserFactory(username="sanne", role=roles.CUSTOMER_SERVICE)


@pytest.fixture
def finance_user():
    return UserFactory(username="femke", role=roles.FINANCE)


@override_settings(STAFF_OTP_REQUIRED=True)
def test_unblock_through_the_admin_queue_four_eyes_and_once(client, blocked_customer, service_user, finance_user):
    from customers.services import customer_unblock

    # given: customer service asks
    approval = customer_unblock(customer_id=blocked_customer.pk, reason="identity checked", actor=service_user)
    url = f"/admin/core/approvalrequest/{approval.pk}/change/"
    # the requester sees the request but cannot decide it, not even with a forged POST
    login_staff(client, service_user)
    mine = client.get("/admin/core/approvalrequest/?queue=mine")
    assert mine.status_code == 200 and url in mine.content.decode()
    own_page = client.get(url)
    assert b'name="_approve"' not in own_page.content and b'name="_withdraw"' in own_page.content
    client.post(url, {"_approve": "1"})
    blocked_customer.refresh_from_db()
    assert blocked_customer.is_blocked
    # when: finance decides in the queue
    client.logout()
    login_staff(client, finance_user)
    queue = client.get("/admin/core/approvalrequest/?queue=decide")
    assert url in queue.content.decode()
    assert b'name="_approve"' in client.get(url).content
    client.post(url, {"_approve": "1", "decision_note": "belde zelf terug"})
    client.post(url, {"_approve": "1"})  # a double click
    # then
    approval.refresh_from_db()
    blocked_customer.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.EXECUTED and approval.decided_by == finance_user
    assert not blocked_customer.is_blocked
    assert blocked_customer.history.filter(history_type="~", is_blocked=False).count() == 1


@override_settings(STAFF_OTP_REQUIRED=True)
def test_the_queue_shows_each_user_only_what_concerns_them(client, blocked_customer, service_user, channel):
    from customers.services import customer_unblock

    # given: an unblock (finance decides) and a cut-off change (managers of channels decide)
    unblock = customer_unblock(customer_id=blocked_customer.pk, reason="checked", actor=service_user)
    cutoff = _ask(channel, UserFactory(username="requester2"))
    warehouse = UserFactory(username="willem", role=roles.WAREHOUSE)
    # when / then: warehouse sees the queue but none of these
    login_staff(client, warehouse)
    page = client.get("/admin/core/approvalrequest/").content.decode()
    assert f"/{unblock.pk}/change/" not in page and f"/{cutoff.pk}/change/" not in page
    assert client.get(f"/admin/core/approvalrequest/{unblock.pk}/change/").status_code == 302  # not found → index
    # the requester sees only their own
    client.logout()
    login_staff(client, service_user)
    page = client.get("/admin/core/approvalrequest/").content.decode()
    assert f"/{unblock.pk}/change/" in page and f"/{cutoff.pk}/change/" not in page


@override_settings(STAFF_OTP_REQUIRED=True)
def test_the_admin_index_counts_what_waits_for_me(client, blocked_customer, service_user, finance_user):
    from customers.services import customer_unblock

    customer_unblock(customer_id=blocked_customer.pk, reason="checked", actor=service_user)
    login_staff(client, finance_user)
    with translation.override("en"):
        html = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="approvals-panel"' in html and "1 request waits for your decision" in html
    client.logout()
    login_staff(client, service_user)
    html = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 of your requests waits for a second person" in html


def test_deciders_are_mailed_and_the_requester_hears_the_outcome(
    blocked_customer, service_user, finance_user, django_capture_on_commit_callbacks, mailoutbox
):
    from customers.services import customer_unblock

    # given
    UserFactory(username="no-permission", role=roles.WAREHOUSE)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        approval = customer_unblock(customer_id=blocked_customer.pk, reason="checked", actor=service_user)
    # then: who may decide (not the requester, not warehouse)
    assert len(mailoutbox) == 1
    assert set(mailoutbox[0].to) == {finance_user.email, "blocker@backoffice.example.nl"}
    assert f"/admin/core/approvalrequest/{approval.pk}/change/" in mailoutbox[0].body
    # when
    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(approval_id=approval.pk, decided_by=finance_user, approve=True)
    # then
    assert len(mailoutbox) == 2 and mailoutbox[1].to == [service_user.email]
    # a task that runs twice sends nothing twice
    assert approval_notify(approval_id=approval.pk, event="decided") == 0


def test_a_crashing_handler_rolls_back_and_marks_the_request_failed(channel, requester, decider, caplog):
    approval = approval_request_create(
        action="tests.explode", payload={"channel_id": channel.pk}, requested_by=requester, summary="boom"
    )
    result = approval_decide(approval_id=approval.pk, decided_by=decider, approve=True)
    channel.refresh_from_db()
    assert result.status == ApprovalRequest.Status.FAILED and "KeyError" in result.error
    assert channel.name == "Webshop NL"
    assert "approval action failed" in caplog.text


def test_an_approved_request_that_did_not_run_can_be_carried_out_once(channel, requester, decider):
    # given: approved, but the process died before it ran
    approval = _ask(channel, requester)
    ApprovalRequest.objects.filter(pk=approval.pk).update(status=ApprovalRequest.Status.APPROVED, decided_by=decider)
    approval.refresh_from_db()
    # when / then: not by the requester
    with pytest.raises(PermissionDenied):
        approval_carry_out(approval_id=approval.pk, actor=requester)
    RUNS.clear()
    assert approval_carry_out(approval_id=approval.pk, actor=decider).status == ApprovalRequest.Status.EXECUTED
    with pytest.raises(PermissionDenied):
        approval_carry_out(approval_id=approval.pk, actor=decider)
    assert [approval.pk] == RUNS
    row = channel.history.first()
    assert row.history_actor == f"approval:{approval.pk}:requester/decider" and row.history_user == decider
