"""Each role's admin index shows exactly its models, and the superuser sees everything.

ADMIN_INDEX says, per app, which admin models each role sees on /admin/ (model names in
lower case). When your app registers an admin or core/roles.py gives a role a new
permission, add the lines for your app here:

    "orders": {
        roles.MANAGER: {"order", "fulfilment"},
        roles.FINANCE: {"order"},
        roles.CUSTOMER_SERVICE: {"order"},
    },

A role not named for an app sees none of its models.
"""

import pytest
from django.contrib import admin
from django.test import override_settings

from core import roles
from core.tests.factories import UserFactory
from core.tests.utils import login_staff

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("two_factor_on")]

ALL_ROLES = set(roles.ROLE_NAMES)

ADMIN_INDEX: dict[str, dict[str, set[str]]] = {
    "core": {
        roles.MANAGER: {
            "user",
            "saleschannel",
            "apikey",
            "closedday",
            "outboxmessage",
            "approvalrequest",
            "businessrule",
        },
        roles.FINANCE: {"saleschannel", "approvalrequest"},
        roles.WAREHOUSE: {"closedday", "approvalrequest"},
        roles.CUSTOMER_SERVICE: {"saleschannel", "approvalrequest"},
    },
    "customers": {
        roles.MANAGER: {"customer", "address"},
        roles.FINANCE: {"customer", "address"},
        roles.CUSTOMER_SERVICE: {"customer", "address"},
    },
    "catalog": {
        roles.MANAGER: {"brand", "category", "price", "pricelist", "product", "productmodel", "promotion", "vatrate"},
        roles.FINANCE: {"price", "pricelist", "product", "promotion", "vatrate"},
        roles.WAREHOUSE: {"brand", "category", "price", "pricelist", "product", "productmodel", "promotion", "vatrate"},
        roles.CUSTOMER_SERVICE: {"brand", "category", "price", "pricelist", "product", "promotion"},
    },
    "inventory": {
        roles.MANAGER: {"location", "inbounddelivery", "lowstockreport", "stock", "stockmovement"},
        roles.FINANCE: {"location", "stock", "stockmovement"},
        roles.WAREHOUSE: {"location", "inbounddelivery", "lowstockreport", "stock", "stockmovement"},
        roles.CUSTOMER_SERVICE: {"location", "inbounddelivery", "stock"},
    },
    "orders": {
        roles.MANAGER: {"order", "fulfilment", "shipment", "fraudblock", "orderinbox", "webhookdelivery"},
        roles.FINANCE: {"order", "fulfilment", "shipment", "fraudblock"},
        roles.WAREHOUSE: {"order", "fulfilment", "shipment"},
        roles.CUSTOMER_SERVICE: {"order", "fulfilment", "shipment", "orderinbox"},
    },
    "carriers": {
        roles.MANAGER: {"shipmentevent", "trackingissue"},
        roles.WAREHOUSE: {"shipmentevent", "trackingissue"},
        roles.CUSTOMER_SERVICE: {"shipmentevent", "trackingissue"},
    },
    "payments": {
        roles.MANAGER: {
            "payment",
            "refund",
            "invoice",
            "creditnote",
            "clearingpolicy",
            "bankstatementimport",
            "bankstatementline",
            "sepabatch",
            "financereport",
        },
        roles.FINANCE: {
            "payment",
            "refund",
            "invoice",
            "creditnote",
            "clearingpolicy",
            "bankstatementimport",
            "bankstatementline",
            "sepabatch",
            "financereport",
        },
        roles.CUSTOMER_SERVICE: {"payment", "refund", "invoice", "creditnote"},
    },
    "django_celery_beat": {
        roles.MANAGER: {"periodictask", "crontabschedule", "intervalschedule", "solarschedule", "clockedschedule"},
    },
}


def expected_models(role: str) -> set[str]:
    return {f"{app}.{model}" for app, by_role in ADMIN_INDEX.items() for model in by_role.get(role, set())}


@pytest.fixture
def two_factor_on():
    with override_settings(STAFF_OTP_REQUIRED=True):
        yield


def _index_models(client) -> tuple[set[str], str]:
    response = client.get("/admin/")
    assert response.status_code == 200
    shown = {
        f"{app['app_label']}.{model['object_name'].lower()}"
        for app in response.context["app_list"]
        for model in app["models"]
    }
    return shown, response.content.decode()


def test_the_table_names_only_roles_and_registered_models():
    registered = {m._meta.label_lower for m in admin.site._registry}
    for app, by_role in ADMIN_INDEX.items():
        assert set(by_role) <= ALL_ROLES, app
        for models in by_role.values():
            assert {f"{app}.{m}" for m in models} <= registered, f"{app}: not registered in the admin"


@pytest.mark.parametrize("role", roles.ROLE_NAMES)
def test_each_role_sees_exactly_its_models(client, role):
    # given
    user = UserFactory(username="staff", role=role)
    login_staff(client, user)
    # when
    shown, html = _index_models(client)
    # then
    expected = expected_models(role)
    assert shown == expected, (
        f"{role} sees {sorted(shown - expected)} too much and misses {sorted(expected - shown)}; "
        "update ADMIN_INDEX in tests/test_admin_roles.py or core/roles.py"
    )
    for label in expected:
        app, model = label.split(".")
        assert f'href="/admin/{app}/{model}/"' in html
        assert client.get(f"/admin/{app}/{model}/").status_code == 200, label


@pytest.mark.parametrize("role", roles.ROLE_NAMES)
def test_a_role_cannot_open_a_list_it_does_not_see(client, role):
    user = UserFactory(username="staff", role=role)
    login_staff(client, user)
    hidden = sorted({m._meta.label_lower for m in admin.site._registry} - expected_models(role))
    assert hidden
    for label in hidden:
        app, model = label.split(".")
        assert client.get(f"/admin/{app}/{model}/").status_code == 403, label


def test_the_superuser_sees_every_registered_model(client):
    login_staff(client, UserFactory(username="root", is_superuser=True))
    shown, _html = _index_models(client)
    assert shown == {m._meta.label_lower for m in admin.site._registry}


def test_role_groups_are_read_only_in_the_admin_even_for_a_superuser(client):
    from django.contrib.auth.models import Group

    login_staff(client, UserFactory(username="root", is_superuser=True))
    finance = Group.objects.get(name=roles.FINANCE)
    before = set(finance.permissions.values_list("pk", flat=True))
    response = client.post(f"/admin/auth/group/{finance.pk}/change/", {"name": "Finance", "permissions": []})
    assert response.status_code == 403
    assert set(finance.permissions.values_list("pk", flat=True)) == before
