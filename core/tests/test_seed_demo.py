import json

import pytest
from django.apps import apps
from django.core.management import call_command

from core.models import User


def _snapshot() -> dict:
    """Every project table: its row count and newest change."""
    state = {}
    for model in apps.get_models():
        if model._meta.app_label in ("sessions", "admin", "contenttypes", "auth", "django_celery_beat"):
            continue
        qs = model.objects.all()
        fields = {f.name for f in model._meta.fields}
        newest = (
            qs.order_by("-updated_at").values_list("updated_at", flat=True).first() if "updated_at" in fields else None
        )
        state[model._meta.label] = (qs.count(), newest)
    return state


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing(settings, tmp_path):
    # given
    settings.VAR_DIR = tmp_path
    settings.DEMO_MODE = True
    call_command("seed_demo")
    first = _snapshot()
    hashes = dict(User.objects.values_list("username", "password"))
    logins = json.loads((tmp_path / "demo_logins.json").read_text())
    # when
    call_command("seed_demo")
    # then
    assert _snapshot() == first
    assert dict(User.objects.values_list("username", "password")) == hashes
    assert json.loads((tmp_path / "demo_logins.json").read_text()) == logins


@pytest.mark.django_db
def test_seed_demo_makes_one_working_login_per_role(settings, tmp_path, client):
    settings.VAR_DIR = tmp_path
    settings.DEMO_MODE = True
    call_command("seed_demo")
    logins = json.loads((tmp_path / "demo_logins.json").read_text())["staff"]
    for role in ("Manager", "Finance", "Warehouse", "Customer service"):
        user = User.objects.get(groups__name=role)
        assert client.login(username=user.username, password=logins[user.username]["password"])
        client.logout()
    # no two users share a password, and none is a fixed one
    passwords = [entry["password"] for entry in logins.values()]
    assert len(set(passwords)) == len(passwords)


@pytest.mark.django_db
def test_outside_demo_mode_no_password_is_set(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.DEMO_MODE = False
    call_command("seed_demo")
    assert all(not u.has_usable_password() for u in User.objects.filter(is_staff=True))
    assert "staff" not in json.loads((tmp_path / "demo_logins.json").read_text())


@pytest.mark.django_db
def test_demo_data_is_dutch_and_valid(settings, tmp_path):
    from customers.addresses import address_normalise
    from customers.models import Address
    from inventory.models import Location

    settings.VAR_DIR = tmp_path
    call_command("seed_demo")
    assert set(Location.objects.values_list("code", flat=True)) == {"UTR", "HNG", "SEC"}
    assert "hanging" in Location.objects.get(code="HNG").storage_kinds
    assert Location.objects.get(code="SEC").storage_kinds == ["secure"]
    for address in Address.objects.all()[:50]:
        normalised = address_normalise(
            street=address.street,
            house_number=address.house_number,
            postal_code=address.postal_code,
            city=address.city,
            country=address.country,
        )
        assert normalised.postal_code == address.postal_code
