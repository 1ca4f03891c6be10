import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from core import roles
from core.admin_utils import (
    BackofficeModelAdmin,
    _rendering_for,
    admin_link,
    changelist_link,
    related_link,
    run_for_each,
    run_service,
)
from core.exceptions import ApplicationError
from core.models import ApprovalRequest
from core.tests.factories import UserFactory
from customers.models import Customer
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _request(user):
    request = RequestFactory().post("/admin/")
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


class _ApprovalAdmin(BackofficeModelAdmin):
    protected_fields = ["reason"]


def test_money_status_and_named_fields_are_read_only_even_when_adding():
    model_admin = _ApprovalAdmin(ApprovalRequest, admin.site)
    readonly = model_admin.get_readonly_fields(_request(UserFactory(is_superuser=True)), obj=None)
    assert {"status", "amount", "reason"} <= set(readonly)
    assert "summary" not in readonly


def test_a_money_or_status_field_in_list_editable_fails_the_checks():
    class EditableStatus(BackofficeModelAdmin):
        list_display = ["summary", "status"]
        list_editable = ["status"]

    errors = EditableStatus(ApprovalRequest, admin.site).check()
    assert [e.id for e in errors] == ["core.E001"]


def test_links_are_shown_only_to_who_may_open_them(channel):
    customer = CustomerFactory(channel=channel)
    column = related_link("channel", description="channel")
    with _rendering_for(_request(UserFactory(username="sanne", role=roles.CUSTOMER_SERVICE))):
        assert f'href="/admin/core/saleschannel/{channel.pk}/change/"' in column(customer)
    with _rendering_for(_request(UserFactory(username="willem", role=roles.WAREHOUSE))):
        assert column(customer) == str(channel)
        assert admin_link(customer) == str(customer)
        assert changelist_link(Customer, "3 customers", channel__id__exact=channel.pk) == "3 customers"
    with _rendering_for(_request(UserFactory(username="femke", role=roles.FINANCE))):
        link = changelist_link(Customer, "3 customers", channel__id__exact=channel.pk)
        assert f'href="/admin/customers/customer/?channel__id__exact={channel.pk}"' in link


def test_run_for_each_reports_successes_and_each_refusal():
    # given
    good, bad = CustomerFactory(first_name="Goed"), CustomerFactory(first_name="Fout")
    request = _request(UserFactory())
    model_admin = BackofficeModelAdmin(Customer, admin.site)
    done = []

    def service(*, customer_id, note):
        if customer_id == bad.pk:
            raise ApplicationError("refused")
        done.append((customer_id, note))

    # when
    count = run_for_each(
        model_admin,
        request,
        Customer.objects.order_by("pk"),
        service,
        id_kwarg="customer_id",
        success="%(count)d done.",
        note="x",
    )
    # then
    assert count == 1 and done == [(good.pk, "x")]
    messages = [str(m) for m in get_messages(request)]
    assert "1 done." in messages
    assert any(m.endswith(": refused") and "Fout" in m for m in messages)


def test_run_service_turns_an_application_error_into_a_message():
    request = _request(UserFactory())
    model_admin = BackofficeModelAdmin(Customer, admin.site)

    def refuse():
        raise ApplicationError("not now")

    assert run_service(model_admin, request, refuse) is None
    assert run_service(model_admin, request, lambda: 42, success="ok") == 42
    assert [str(m) for m in get_messages(request)] == ["not now", "ok"]
