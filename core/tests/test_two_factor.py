import pytest
from django.core.management import call_command
from django.test import override_settings
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import roles
from core.exceptions import PermissionDenied
from core.tests.factories import UserFactory
from core.tests.utils import totp_code, totp_device
from core.twofactor import otp_devices_reset

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("two_factor_on")]

ENROL = "/admin/two-factor/set-up/"
VERIFY = "/admin/two-factor/verify/"


@pytest.fixture
def two_factor_on():
    with override_settings(STAFF_OTP_REQUIRED=True):
        yield


@pytest.mark.parametrize("role", [roles.FINANCE, roles.MANAGER, None])
def test_finance_manager_and_superusers_must_set_up_a_second_factor(client, role):
    # given: logged in with a password only
    user = UserFactory(username="u", role=role, is_superuser=role is None)
    client.force_login(user)
    # when
    response = client.get("/admin/customers/customer/")
    # then
    assert response.status_code == 302
    assert response.url == f"{ENROL}?next=%2Fadmin%2Fcustomers%2Fcustomer%2F"


@pytest.mark.parametrize("role", [roles.WAREHOUSE, roles.CUSTOMER_SERVICE])
def test_other_roles_go_straight_in(client, role):
    client.force_login(UserFactory(username="u", role=role))
    assert client.get("/admin/").status_code == 200


def test_enrolment_shows_a_qr_code_and_confirms_with_a_code(client):
    # given
    user = UserFactory(username="femke", role=roles.FINANCE)
    client.force_login(user)
    page = client.get(f"{ENROL}?next=/admin/core/saleschannel/")
    assert page.status_code == 200 and b"<svg" in page.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.get(ENROL).context["secret"] == page.context["secret"]  # reloading keeps the key
    # when: a wrong code, then the right one
    wrong = client.post(ENROL, {"token": "000000", "next": "/admin/core/saleschannel/"})
    assert wrong.status_code == 200 and b"errorlist" in wrong.content
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    device.refresh_from_db()
    too_soon = client.post(ENROL, {"token": totp_code(device), "next": "/admin/core/saleschannel/"})
    assert "codes" not in too_soon.context  # throttled after a wrong code, even with the right one
    device.throttle_reset()
    done = client.post(ENROL, {"token": totp_code(device), "next": "/admin/core/saleschannel/"})
    # then: confirmed, backup codes shown once, and the session is verified
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and codes[0] in done.content.decode()
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
    assert StaticDevice.objects.get(user=user).token_set.count() == 10
    assert client.get("/admin/core/saleschannel/").status_code == 200


def test_with_a_device_the_code_is_asked_after_the_password(client):
    # given
    user = UserFactory(username="marieke", role=roles.MANAGER)
    device = totp_device(user)
    client.force_login(user)
    # when / then
    assert client.get("/admin/").url == f"{VERIFY}?next=%2Fadmin%2F"
    assert client.get(ENROL).url.startswith(VERIFY)  # no second authenticator behind their back
    wrong = client.post(VERIFY, {"token": "123456", "next": "/admin/"})
    assert wrong.status_code == 200 and client.get("/admin/").status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    device.throttle_reset()
    ok = client.post(VERIFY, {"token": totp_code(device), "next": "/admin/"})
    assert ok.status_code == 302 and ok.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_backup_code_works_once(client):
    user = UserFactory(username="marieke", role=roles.MANAGER)
    totp_device(user)
    backup = StaticDevice.objects.create(user=user, name="backup codes")
    backup.token_set.create(token="abcd2345")
    client.force_login(user)
    assert client.post(VERIFY, {"token": "abcd 2345", "next": "/admin/"}).status_code == 302
    assert client.get("/admin/").status_code == 200
    client.logout()
    client.force_login(user)
    client.post(VERIFY, {"token": "abcd2345", "next": "/admin/"})
    assert client.get("/admin/").status_code == 302


def test_the_next_url_must_stay_on_this_site(client):
    user = UserFactory(username="marieke", role=roles.MANAGER)
    device = totp_device(user)
    client.force_login(user)
    response = client.post(VERIFY, {"token": totp_code(device), "next": "https://evil.example.com/"})
    assert response.url == "/admin/"


def test_the_api_and_the_login_page_are_not_held_up(client):
    user = UserFactory(username="femke", role=roles.FINANCE)
    client.force_login(user)
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/api/v1/customers/").status_code == 401  # the API has its own key authentication
    assert client.get("/admin/login/").status_code in (200, 302)


def test_only_another_superuser_resets_a_second_factor():
    root, other_root = UserFactory(username="root", is_superuser=True), UserFactory(username="root2", is_superuser=True)
    femke = UserFactory(username="femke", role=roles.FINANCE)
    totp_device(femke)
    totp_device(root)
    with pytest.raises(PermissionDenied):
        otp_devices_reset(user_id=femke.pk, actor=UserFactory(username="marieke", role=roles.MANAGER))
    with pytest.raises(PermissionDenied):
        otp_devices_reset(user_id=root.pk, actor=root)
    assert otp_devices_reset(user_id=femke.pk, actor=other_root) == 1
    assert not TOTPDevice.objects.filter(user=femke).exists()
    assert TOTPDevice.objects.filter(user=root).exists()


def test_switching_two_factor_off_is_a_deployment_warning():
    from core.checks import two_factor_on

    with override_settings(STAFF_OTP_REQUIRED=False):
        assert [w.id for w in two_factor_on(None)] == ["core.W001"]
    assert two_factor_on(None) == []
    call_command("check")  # the check is registered and passes here


def test_a_superuser_resets_a_lost_phone_from_the_staff_list(client):
    # given
    from django.contrib.admin.models import LogEntry

    from core.tests.utils import login_staff

    femke = UserFactory(username="femke", role=roles.FINANCE)
    totp_device(femke)
    StaticDevice.objects.create(user=femke, name="backup codes")
    root = UserFactory(username="root", is_superuser=True)
    login_staff(client, root)
    # when
    client.post("/admin/core/user/", {"action": "reset_two_factor", "_selected_action": [femke.pk], "index": "0"})
    # then
    assert not TOTPDevice.objects.filter(user=femke).exists()
    assert not StaticDevice.objects.filter(user=femke).exists()
    assert LogEntry.objects.filter(object_id=str(femke.pk), user=root).exists()
    client.force_login(femke)
    assert client.get("/admin/").url.startswith(ENROL)
