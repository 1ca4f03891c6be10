import pytest
from django.contrib.messages import get_messages
from django.test import override_settings
from django.utils.html import escape

from core import roles
from core.approvals import approval_decide
from core.models import ApprovalRequest
from core.tests.factories import UserFactory
from core.tests.utils import login_staff
from customers.services import customer_block
from customers.tests.factories import AddressFactory, CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("two_factor_on")]

CHANGELIST = "/admin/customers/customer/"


@pytest.fixture
def two_factor_on():
    with override_settings(STAFF_OTP_REQUIRED=True):
        yield


@pytest.fixture
def finance():
    return UserFactory(username="femke", role=roles.FINANCE)


@pytest.fixture
def service():
    return UserFactory(username="sanne", role=roles.CUSTOMER_SERVICE)


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _customer_form(customer, **changes) -> dict:
    data = {
        "type": customer.type,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "company_name": customer.company_name,
        "vat_number": customer.vat_number,
        "phone": customer.phone,
        "language": customer.language,
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
        "_save": "1",
    }
    data.update(changes)
    return data


def test_block_asks_for_a_reason_then_blocks_through_the_service(client, finance):
    # given
    customer = CustomerFactory()
    login_staff(client, finance)
    selection = {"action": "block_customers", "_selected_action": [customer.pk]}
    # when: the action first shows the reason page
    page = client.post(CHANGELIST, {**selection, "index": "0"})
    assert page.status_code == 200 and b'name="reason"' in page.content
    customer.refresh_from_db()
    assert not customer.is_blocked
    # when: confirmed with a reason
    done = client.post(CHANGELIST, {**selection, "_confirm": "yes", "reason": "stolen card"}, follow=True)
    # then
    customer.refresh_from_db()
    assert customer.is_blocked and customer.blocked_reason == "stolen card"
    assert customer.history.first().history_user == finance
    assert any("1" in m for m in _messages(done))


def test_block_without_a_reason_shows_the_form_again_and_changes_nothing(client, finance):
    customer = CustomerFactory()
    login_staff(client, finance)
    page = client.post(
        CHANGELIST, {"action": "block_customers", "_selected_action": [customer.pk], "_confirm": "yes", "reason": ""}
    )
    customer.refresh_from_db()
    assert page.status_code == 200 and b"errorlist" in page.content
    assert not customer.is_blocked


def test_a_refused_block_is_an_error_message(client, finance):
    # given
    customer = CustomerFactory()
    customer_block(customer_id=customer.pk, reason="first", actor=finance)
    rows = customer.history.count()
    login_staff(client, finance)
    # when
    done = client.post(
        CHANGELIST,
        {"action": "block_customers", "_selected_action": [customer.pk], "_confirm": "yes", "reason": "again"},
        follow=True,
    )
    # then
    customer.refresh_from_db()
    assert customer.blocked_reason == "first" and customer.history.count() == rows
    assert any(m.startswith(escape(str(customer))) for m in _messages(done)), _messages(done)


def test_customer_service_cannot_block_but_can_ask_for_an_unblock(client, service, finance):
    # given
    customer = CustomerFactory()
    customer_block(customer_id=customer.pk, reason="fraud", actor=finance)
    login_staff(client, service)
    page_url = f"{CHANGELIST}{customer.pk}/change/"
    page = client.get(page_url).content.decode()
    assert 'value="request_unblock"' in page and 'value="block_customers"' not in page
    forged = client.post(
        CHANGELIST,
        {"action": "block_customers", "_selected_action": [customer.pk], "index": "0"},
    )
    assert b'name="reason"' not in forged.content
    # when: the button on the customer's page, then the reason
    client.post(CHANGELIST, {"action": "request_unblock", "_selected_action": [customer.pk], "index": "0"})
    done = client.post(
        CHANGELIST,
        {
            "action": "request_unblock",
            "_selected_action": [customer.pk],
            "_confirm": "yes",
            "reason": "identity checked by phone",
            "next": page_url,
        },
    )
    # then: back on the page, still blocked, a request waits
    assert done.status_code == 302 and done.url == page_url
    customer.refresh_from_db()
    assert customer.is_blocked
    approval = ApprovalRequest.objects.get(action="customers.unblock")
    assert approval.requested_by == service and approval.status == ApprovalRequest.Status.PENDING
    assert f"/admin/core/approvalrequest/{approval.pk}/change/" in client.get(page_url).content.decode()


def test_block_fields_stay_read_only_in_the_form(client, service, finance):
    # given
    customer = CustomerFactory(phone="")
    customer_block(customer_id=customer.pk, reason="fraud", actor=finance)
    login_staff(client, service)
    url = f"{CHANGELIST}{customer.pk}/change/"
    assert b'name="is_blocked"' not in client.get(url).content
    # when: a forged POST tries to lift the block along with a real change
    response = client.post(url, _customer_form(customer, phone="0612345678", is_blocked="", blocked_reason=""))
    # then
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.phone == "0612345678"
    assert customer.is_blocked and customer.blocked_reason == "fraud"
    assert customer.history.first().history_user == service


def test_an_address_edited_on_the_customer_page_is_normalised_and_traced(client, service):
    # given
    address = AddressFactory(postal_code="3511 AB")
    customer = address.customer
    login_staff(client, service)
    data = _customer_form(
        customer,
        **{
            "addresses-TOTAL_FORMS": "1",
            "addresses-INITIAL_FORMS": "1",
            "addresses-0-id": address.pk,
            "addresses-0-customer": customer.pk,
            "addresses-0-street": address.street,
            "addresses-0-house_number": "7b",
            "addresses-0-house_number_addition": "",
            "addresses-0-postal_code": "3512ae",
            "addresses-0-city": address.city,
            "addresses-0-country": "NL",
        },
    )
    # when
    response = client.post(f"{CHANGELIST}{customer.pk}/change/", data)
    # then
    assert response.status_code == 302, response.content.decode()[:3000]
    address.refresh_from_db()
    assert (address.house_number, address.house_number_addition, address.postal_code) == ("7", "B", "3512 AE")
    assert address.history.first().history_user == service


def test_an_invalid_address_shows_at_its_field(client, service):
    address = AddressFactory(postal_code="3511 AB")
    login_staff(client, service)
    response = client.post(
        f"/admin/customers/address/{address.pk}/change/",
        {
            "street": "Oudegracht",
            "house_number": "1",
            "house_number_addition": "",
            "postal_code": "ABC",
            "city": "Utrecht",
            "country": "NL",
        },
    )
    assert response.status_code == 200 and b"errorlist" in response.content
    address.refresh_from_db()
    assert address.postal_code == "3511 AB"


def test_the_customer_page_shows_its_history_with_who(client, service, finance):
    customer = CustomerFactory()
    customer_block(customer_id=customer.pk, reason="fraud", actor=finance)
    AddressFactory(customer=customer)
    login_staff(client, service)
    html = client.get(f"{CHANGELIST}{customer.pk}/change/").content.decode()
    assert 'class="timeline"' in html and "femke" in html and "system" in html


def test_the_customer_list_needs_the_same_queries_for_more_rows(client, service, django_assert_num_queries):
    login_staff(client, service)
    CustomerFactory.create_batch(3)
    client.get(CHANGELIST)  # warm caches (content types, session)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(CHANGELIST)
    CustomerFactory.create_batch(12)
    with CaptureQueriesContext(connection) as many:
        client.get(CHANGELIST)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_unblock_requested_in_the_admin_is_decided_in_the_queue(client, service, finance):
    # given
    customer = CustomerFactory()
    customer_block(customer_id=customer.pk, reason="fraud", actor=finance)
    login_staff(client, service)
    client.post(
        CHANGELIST,
        {"action": "request_unblock", "_selected_action": [customer.pk], "_confirm": "yes", "reason": "checked"},
    )
    approval = ApprovalRequest.objects.get()
    decider = UserFactory(username="frank", role=roles.FINANCE)
    # when
    approval_decide(approval_id=approval.pk, decided_by=decider, approve=True)
    # then
    customer.refresh_from_db()
    assert not customer.is_blocked
