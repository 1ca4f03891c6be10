"""Dutch is the default language and every text has its Dutch translation."""

import importlib.util
from pathlib import Path

import pytest
from django.urls import reverse

BASE = Path(__file__).resolve().parents[1]


def _i18n():
    spec = importlib.util.spec_from_file_location("i18n", BASE / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_text_has_a_dutch_translation():
    i18n = _i18n()
    untranslated = []
    for app in [*i18n.APPS, "project"]:
        path = i18n.po_path(app)
        assert path.exists(), f"{app} has no Dutch catalogue"
        assert path.with_suffix(".mo").exists(), f"{app}: run scripts/i18n.py update (compile)"
        for match, msgid, msgstr in i18n.entries(app):
            if not msgstr or "fuzzy" in match.group(0).split("msgid")[0]:
                untranslated.append(f"{app}: {msgid}")
    assert not untranslated, untranslated


@pytest.mark.django_db
def test_api_speaks_dutch_by_default_and_english_on_request(api):
    dutch = api.get(reverse("api:customer-list")).json()["errors"][0]["detail"]
    english = api.get(reverse("api:customer-list"), HTTP_ACCEPT_LANGUAGE="en").json()["errors"][0]["detail"]
    assert dutch == "Authenticatiegegevens zijn niet opgegeven."
    assert english == "Authentication credentials were not provided."


@pytest.mark.django_db
def test_admin_login_is_dutch(client):
    assert "Gebruikersnaam" in client.get("/admin/login/").content.decode()
