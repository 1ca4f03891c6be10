import pytest
from django.contrib.auth.models import Group, Permission

from core import roles
from core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _perm_names(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_every_role_exists_with_exactly_its_permissions():
    available = {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")}
    for role in roles.ROLE_NAMES:
        group = Group.objects.get(name=role)
        expected = roles.resolve(roles.ROLES[role], available)
        assert expected, role
        assert _perm_names(group) == expected, role


def test_every_permission_named_in_the_table_exists():
    # a typo in roles.py would silently grant nothing
    available = {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")}
    for role, patterns in roles.ROLES.items():
        for pattern in patterns:
            assert roles.resolve([pattern], available), f"{role}: {pattern} matches no permission"


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        (
            roles.MANAGER,
            ["core.view_dashboard", "customers.view_customer"],
            [
                "customers.delete_customer",
                "core.add_apikey",
            ],
        ),
        (roles.FINANCE, ["customers.view_customer"], ["customers.change_customer", "inventory.change_location"]),
        (roles.WAREHOUSE, ["inventory.view_location"], ["customers.view_customer", "core.view_dashboard"]),
        (
            roles.CUSTOMER_SERVICE,
            ["customers.change_customer", "customers.view_address"],
            [
                "customers.block_customer",
                "inventory.change_location",
                "core.view_dashboard",
            ],
        ),
    ],
)
def test_role_grants_its_work_and_nothing_more(role, allowed, denied):
    user = UserFactory(role=role)
    for perm in allowed:
        assert user.has_perm(perm), perm
    for perm in denied:
        assert not user.has_perm(perm), perm


def test_sync_restores_a_role_that_staff_widened():
    # given
    group = Group.objects.get(name=roles.WAREHOUSE)
    group.permissions.add(Permission.objects.get(codename="delete_customer"))
    # when
    roles.sync_roles()
    # then
    assert "customers.delete_customer" not in _perm_names(group)
