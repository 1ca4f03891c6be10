import pytest

from core import roles
from core.approvals import FourEyesViolation, approval_decide, approval_execute, approval_withdraw
from core.exceptions import ApplicationError, PermissionDenied
from core.models import ApprovalRequest
from core.tests.factories import UserFactory
from customers.addresses import AddressInvalid
from customers.models import Address, Customer
from customers.services import (
    CustomerAlreadyBlocked,
    CustomerNotBlocked,
    address_create,
    address_delete,
    address_update,
    customer_block,
    customer_unblock,
    customer_unblock_execute,
    customer_update,
)
from customers.tests.factories import AddressFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance():
    return UserFactory(username="femke", role=roles.FINANCE)


@pytest.fixture
def finance2():
    return UserFactory(username="frank", role=roles.FINANCE)


@pytest.fixture
def service():
    return UserFactory(username="sanne", role=roles.CUSTOMER_SERVICE)


@pytest.fixture
def blocked(finance):
    customer = CustomerFactory()
    return customer_block(customer_id=customer.pk, reason="chargebacks", actor=finance)


def test_block_records_reason_time_and_who(finance):
    # given
    customer = CustomerFactory()
    # when
    customer_block(customer_id=customer.pk, reason="  three chargebacks  ", actor=finance)
    # then
    customer.refresh_from_db()
    assert customer.is_blocked and customer.blocked_reason == "three chargebacks" and customer.blocked_at
    row = customer.history.first()
    assert (row.history_user, row.history_actor, row.is_blocked) == (finance, "femke", True)


@pytest.mark.parametrize(
    ("who", "reason", "error"),
    [("sanne", "fraud", PermissionDenied), ("femke", "   ", ApplicationError)],
)
def test_block_refused_changes_nothing(who, reason, error, finance, service):
    customer = CustomerFactory()
    rows = customer.history.count()
    actor = {"sanne": service, "femke": finance}[who]
    with pytest.raises(error):
        customer_block(customer_id=customer.pk, reason=reason, actor=actor)
    customer.refresh_from_db()
    assert not customer.is_blocked and customer.history.count() == rows


def test_blocking_twice_is_refused(blocked, finance):
    with pytest.raises(CustomerAlreadyBlocked):
        customer_block(customer_id=blocked.pk, reason="again", actor=finance)


def test_asking_for_an_unblock_changes_nothing_until_approved(blocked, service):
    # given
    rows = blocked.history.count()
    # when
    approval = customer_unblock(customer_id=blocked.pk, reason="identity checked", actor=service)
    # then
    blocked.refresh_from_db()
    assert blocked.is_blocked and blocked.history.count() == rows
    assert (approval.status, approval.action, approval.requested_by) == (
        ApprovalRequest.Status.PENDING,
        "customers.unblock",
        service,
    )
    assert approval.payload == {"customer_id": blocked.pk, "reason": "identity checked"}


def test_the_requester_cannot_approve_their_own_unblock(blocked, finance):
    # given: the requester holds the block permission themselves
    approval = customer_unblock(customer_id=blocked.pk, reason="paid after all", actor=finance)
    # when / then
    with pytest.raises(FourEyesViolation):
        approval_decide(approval_id=approval.pk, decided_by=finance, approve=True)
    blocked.refresh_from_db()
    approval.refresh_from_db()
    assert blocked.is_blocked and approval.status == ApprovalRequest.Status.PENDING


def test_a_decider_without_the_block_permission_is_refused(blocked, service):
    approval = customer_unblock(customer_id=blocked.pk, reason="identity checked", actor=service)
    other_service = UserFactory(username="sem", role=roles.CUSTOMER_SERVICE)
    with pytest.raises(PermissionDenied):
        approval_decide(approval_id=approval.pk, decided_by=other_service, approve=True)
    blocked.refresh_from_db()
    assert blocked.is_blocked


def test_an_approved_unblock_runs_exactly_once(blocked, service, finance2):
    # given
    approval = customer_unblock(customer_id=blocked.pk, reason="identity checked", actor=service)
    # when
    decided = approval_decide(approval_id=approval.pk, decided_by=finance2, approve=True, note="ok")
    again = approval_execute(approval_id=approval.pk)
    # then
    blocked.refresh_from_db()
    assert not blocked.is_blocked and blocked.blocked_reason == "" and blocked.blocked_at is None
    assert decided.status == again.status == ApprovalRequest.Status.EXECUTED
    unblocked_rows = blocked.history.filter(is_blocked=False, history_type="~")
    assert unblocked_rows.count() == 1
    row = unblocked_rows.get()
    assert row.history_user == finance2
    assert row.history_actor == f"approval:{approval.pk}:sanne/frank"


def test_a_rejected_or_withdrawn_unblock_does_nothing(blocked, service, finance2):
    first = customer_unblock(customer_id=blocked.pk, reason="please", actor=service)
    approval_decide(approval_id=first.pk, decided_by=finance2, approve=False, note="no proof")
    second = customer_unblock(customer_id=blocked.pk, reason="please again", actor=service)
    approval_withdraw(approval_id=second.pk, actor=service)
    blocked.refresh_from_db()
    assert blocked.is_blocked
    assert first.pk != second.pk


def test_an_unblock_approved_after_someone_else_unblocked_fails_cleanly(blocked, service, finance2):
    # given: two requests can not be pending for one customer, so lift the block another way first
    approval = customer_unblock(customer_id=blocked.pk, reason="identity checked", actor=service)
    Customer.objects.filter(pk=blocked.pk).update(is_blocked=False)
    # when
    result = approval_decide(approval_id=approval.pk, decided_by=finance2, approve=True)
    # then
    assert result.status == ApprovalRequest.Status.FAILED
    assert result.error
    assert blocked.history.filter(history_type="~", is_blocked=False).count() == 0


def test_unblock_needs_a_blocked_customer_and_a_permission(service):
    customer = CustomerFactory()
    with pytest.raises(CustomerNotBlocked):
        customer_unblock(customer_id=customer.pk, reason="x", actor=service)
    warehouse = UserFactory(username="willem", role=roles.WAREHOUSE)
    with pytest.raises(PermissionDenied):
        customer_unblock(customer_id=customer.pk, reason="x", actor=warehouse)
    assert not ApprovalRequest.objects.exists()


def test_the_unblock_itself_cannot_run_without_an_approved_request(blocked, service):
    approval = customer_unblock(customer_id=blocked.pk, reason="x", actor=service)
    with pytest.raises(PermissionDenied):
        customer_unblock_execute(approval=approval)  # still pending
    blocked.refresh_from_db()
    assert blocked.is_blocked


def test_customer_update_changes_only_the_given_details(service):
    customer = CustomerFactory(first_name="Jan")
    customer_update(customer_id=customer.pk, actor=service, first_name="Johan", phone="0612345678")
    customer.refresh_from_db()
    assert (customer.first_name, customer.phone) == ("Johan", "0612345678")
    assert customer.history.first().history_user == service
    with pytest.raises(ApplicationError):
        customer_update(customer_id=customer.pk, actor=service, is_blocked=False)


def test_address_create_and_update_normalise_and_trace(service):
    # given
    customer = CustomerFactory()
    # when
    address = address_create(
        customer_id=customer.pk,
        actor=service,
        street=" Oudegracht ",
        house_number="12a",
        postal_code="3511ab",
        city="Utrecht",
        country="nl",
    )
    address_update(address_id=address.pk, actor=service, postal_code="3512ae")
    # then
    address.refresh_from_db()
    assert (address.house_number, address.house_number_addition, address.postal_code, address.country) == (
        "12",
        "A",
        "3512 AE",
        "NL",
    )
    assert [r.history_user for r in address.history.all()] == [service, service]


def test_an_invalid_address_change_changes_nothing(service):
    address = AddressFactory(postal_code="3511 AB")
    rows = address.history.count()
    with pytest.raises(AddressInvalid):
        address_update(address_id=address.pk, actor=service, postal_code="12345")
    address.refresh_from_db()
    assert address.postal_code == "3511 AB" and address.history.count() == rows


def test_address_delete_leaves_a_history_row(service):
    address = AddressFactory()
    address_delete(address_id=address.pk, actor=service)
    assert not Address.objects.filter(pk=address.pk).exists()
    row = Address.history.filter(id=address.pk).first()
    assert (row.history_type, row.history_user) == ("-", service)
