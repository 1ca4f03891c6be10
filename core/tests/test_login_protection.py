"""Lock-out after repeated failed logins (django-axes) and the idle session timeout."""

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.utils import timezone

from core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple"  # the factory's


@pytest.fixture
def axes_on():
    from axes.models import AccessAttempt

    with override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3):
        yield
    AccessAttempt.objects.all().delete()


def _login(client, username, password, ip="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.usefixtures("axes_on")
def test_repeated_failures_lock_the_account_from_that_address_in_dutch(client):
    # given
    UserFactory(username="sanne")
    for _attempt in range(2):
        assert _login(client, "sanne", "wrong").status_code == 200  # the form again
    # when
    third = _login(client, "sanne", "wrong")
    right_password = _login(client, "sanne", PASSWORD)
    # then
    assert third.status_code == 429 and right_password.status_code == 429
    assert "Te veel mislukte" in right_password.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.usefixtures("axes_on")
def test_the_lock_is_per_username_and_address(client):
    UserFactory(username="sanne")
    UserFactory(username="sem")
    for _attempt in range(3):
        _login(client, "sanne", "wrong")
    # another address may still try sanne, and sem may log in from the same address
    assert _login(client, "sanne", PASSWORD, ip="198.51.100.1").status_code == 302
    client.logout()
    assert _login(client, "sem", PASSWORD).status_code == 302


@pytest.mark.usefixtures("axes_on")
def test_a_success_resets_the_count(client):
    UserFactory(username="sanne")
    _login(client, "sanne", "wrong")
    _login(client, "sanne", "wrong")
    assert _login(client, "sanne", PASSWORD).status_code == 302
    client.logout()
    _login(client, "sanne", "wrong")
    _login(client, "sanne", "wrong")
    assert _login(client, "sanne", PASSWORD).status_code == 302


def test_lockout_defaults_per_username_and_address():
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert datetime.timedelta(minutes=30) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_the_session_times_out_after_idle_time_and_each_request_extends_it(client):
    # given
    user = UserFactory(username="sanne")
    client.force_login(user)
    session = Session.objects.get(session_key=client.session.session_key)
    session.expire_date = timezone.now() + datetime.timedelta(minutes=1)
    session.save()
    # when: a request within the idle time
    assert client.get("/admin/").status_code == 200
    # then: the clock starts again
    renewed = Session.objects.get(session_key=client.session.session_key).expire_date
    assert renewed > timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
    # when: idle past the timeout
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    # then
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")
