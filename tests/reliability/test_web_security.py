"""Web security that is not proven elsewhere (docs/reliability.md links what is):

- guessing: the staff login lock-out and the per-address budgets cannot be dodged with a
  made-up X-Forwarded-For; a second factor guessed wrong is throttled, so the right code
  is refused too for a while;
- the API is reached only with a key: a staff session cookie opens nothing there (so the
  API needs no CSRF protection), and an unknown Host is a 400, not a 500;
- the signature on our webhooks to shops is compared in constant time
  (`hmac.compare_digest`), and every tampered form of it is refused;
- secrets come only from the environment: every key and password setting is empty
  unless the environment sets it, and `.env` is never committed;
- production transport security: HSTS for a year with subdomains and preload, cookies
  only over HTTPS, plain HTTP redirected to HTTPS (the health check excepted).

Already proven, not repeated: the lock-out itself (core/tests/test_login_protection.py),
the per-key API throttle (core/tests/test_api_base.py::test_throttle_is_per_key), the
payment webhook's per-address throttle and its untrusted body
(payments/tests/test_webhooks.py), the refusal of the insecure default SECRET_KEY and a
clean `manage.py check --deploy` (core/tests/test_settings.py), security headers, CSP and
CSRF on the staff screens (tests/test_security.py).
"""

import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from django.test import Client, override_settings

from core import roles
from core.tests.factories import UserFactory
from core.tests.test_api_base import assert_contract_error
from core.tests.utils import login_staff, totp_code, totp_device
from orders.services import webhooks
from orders.services.webhooks import webhook_signature, webhook_signature_is_valid

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple"  # the user factory's
WEBHOOK = "/api/v1/payments/webhooks/mollie/"
FORM = "application/x-www-form-urlencoded"


# --- guessing ------------------------------------------------------------------------------------


@pytest.fixture
def axes_on():
    from axes.models import AccessAttempt

    with override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3):
        yield
    AccessAttempt.objects.all().delete()


@pytest.mark.django_db
@pytest.mark.usefixtures("axes_on")
def test_the_login_lock_out_cannot_be_dodged_with_a_made_up_forwarded_for(client):
    # given an attacker who sends a new X-Forwarded-For with every guess
    UserFactory(username="sanne")

    def guess(password, n):
        return client.post(
            LOGIN,
            {"username": "sanne", "password": password},
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )

    # when
    statuses = [guess("wrong", n).status_code for n in range(3)]
    right = guess(PASSWORD, 99)
    # then the lock counts the real address: locked after three, even with the password
    assert statuses == [200, 200, 429]
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@override_settings(PAYMENT_WEBHOOK_THROTTLE_RATE="3/min")
def test_a_per_address_budget_cannot_be_dodged_with_a_made_up_forwarded_for():
    # given a caller without a key that invents a new X-Forwarded-For for every call
    client = Client()
    statuses = [
        client.post(
            WEBHOOK,
            "id=sim_tr_AAAAAAAAAAAAAAAA",
            content_type=FORM,
            REMOTE_ADDR="203.0.113.9",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(5)
    ]
    # then the budget is the real address's
    assert statuses == [200, 200, 200, 429, 429]
    # and another real address has its own
    assert client.post(WEBHOOK, "id=sim_tr_AAAAAAAAAAAAAAAA", content_type=FORM, REMOTE_ADDR="203.0.113.10").status_code
    assert_contract_error(
        client.post(WEBHOOK, "id=sim_tr_AAAAAAAAAAAAAAAA", content_type=FORM, REMOTE_ADDR="203.0.113.9"),
        429,
        code="throttled",
    )


@pytest.mark.django_db
@override_settings(STAFF_OTP_REQUIRED=True)
def test_a_second_factor_guessed_wrong_is_throttled_so_the_right_code_waits_too(client):
    # given a manager past the password, asked for a code
    user = UserFactory(username="marieke", role=roles.MANAGER)
    device = totp_device(user)
    client.force_login(user)
    verify = "/admin/two-factor/verify/"
    # when two wrong guesses are made
    for _guess in range(2):
        client.post(verify, {"token": "000000", "next": "/admin/"})
    right = client.post(verify, {"token": totp_code(device), "next": "/admin/"})
    # then even the right code is refused until the throttle's wait is over
    assert right.status_code == 200
    assert "Wacht" in right.content.decode()  # "Too many wrong codes. Wait … seconds"
    assert client.get("/admin/").status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # the second guess came too soon to be tried at all


# --- the API: keys only ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_staff_session_opens_nothing_in_the_api(world):
    # given a superuser logged in to the staff screens (session cookie, CSRF token and all)
    client = Client(enforce_csrf_checks=True)
    login_staff(client, UserFactory(username="api-session", is_superuser=True))
    assert client.get("/admin/").status_code == 200
    # when the browser calls the API with that session (what a cross-site form would do)
    read = client.get("/api/v1/orders/")
    write = client.post("/api/v1/orders/", data="{}", content_type="application/json")
    # then it is not authenticated: the API knows keys only, so there is nothing to forge
    assert_contract_error(read, 401, code="not_authenticated")
    assert_contract_error(write, 401, code="not_authenticated")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/orders/", "/admin/login/"])
def test_an_unknown_host_is_a_400(client, path):
    response = client.get(path, HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert_contract_error(response, 400)


# --- our signature on webhooks to shops ---------------------------------------------------------------

SECRET = "shop-secret"
BODY = json.dumps({"event": "order.shipped", "order": {"number": "WEB-2026-000123"}}).encode()


def _tampered(now: int) -> dict[str, tuple[str, bytes]]:
    good = webhook_signature(secret=SECRET, timestamp=now, body=BODY)
    mac = good.split("v1=")[1]
    return {
        "another secret": (webhook_signature(secret="other-secret", timestamp=now, body=BODY), BODY),
        "another body": (good, BODY.replace(b"shipped", b"delivered")),
        "another time": (f"t={now + 1},v1={mac}", BODY),
        "stale (a replay)": (webhook_signature(secret=SECRET, timestamp=now - 301, body=BODY), BODY),
        "from the future": (webhook_signature(secret=SECRET, timestamp=now + 301, body=BODY), BODY),
        "one character off": (f"t={now},v1={mac[:-1]}{'0' if mac[-1] != '0' else '1'}", BODY),
        "shortened": (f"t={now},v1={mac[:32]}", BODY),
        "upper case": (f"t={now},v1={mac.upper()}", BODY),
        "no v1": (f"t={now}", BODY),
        "no time": (f"v1={mac}", BODY),
        "not a number": (f"t=soon,v1={mac}", BODY),
        "empty": ("", BODY),
        "garbage": ("\x00\xff,,==,", BODY),
    }


def test_our_webhook_signature_is_checked_in_constant_time_and_every_tampered_form_is_refused():
    now = int(time.time())
    good = webhook_signature(secret=SECRET, timestamp=now, body=BODY)
    with mock.patch.object(webhooks.hmac, "compare_digest", wraps=hmac.compare_digest) as compare:
        # the right signature passes, through compare_digest
        assert webhook_signature_is_valid(secret=SECRET, header=good, body=BODY)
        assert compare.call_count == 1
        # and every tampered one is refused
        accepted = [
            name
            for name, (header, body) in _tampered(now).items()
            if webhook_signature_is_valid(secret=SECRET, header=header, body=body)
        ]
    assert accepted == []
    # and the comparison of the MAC itself is never a plain ==
    source = Path(webhooks.__file__).read_text()
    assert "compare_digest(expected, received)" in source
    assert "expected == received" not in source and "received == expected" not in source


# --- secrets only from the environment -------------------------------------------------------------

SECRETS = [
    "MOLLIE_API_KEY",
    "POSTNL_API_KEY",
    "DHL_API_KEY",
    "DHL_ECOMMERCE_API_KEY",
    "DPD_PASSWORD",
    "GLS_CLIENT_SECRET",
]
PRODUCTION_KEY = "prod-" + "x9Kq3vL8mZ2pR7tY1wB6nC4dF0gH5jS" * 2


def _production_settings(env: dict, expression: str):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {*SECRETS, "SECRET_KEY", "DEBUG", "EMAIL_URL", "DATABASE_URL", "REDIS_URL", "SECURE_SSL_REDIRECT"}
    }
    clean.update(DJANGO_SETTINGS_MODULE="backoffice.settings", DEBUG="false", VAR_DIR="/tmp/backoffice-var-security")
    clean.update(env)
    code = (
        f"import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({expression}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_secret_setting_is_empty_unless_the_environment_sets_it():
    names = json.dumps(SECRETS)
    expression = f"{{n: getattr(s, n) for n in {names}}} | {{'EMAIL_HOST_PASSWORD': s.EMAIL_HOST_PASSWORD}}"
    # given production without any secret in the environment
    empty = _production_settings({"SECRET_KEY": PRODUCTION_KEY}, expression)
    assert {name: value for name, value in empty.items() if value} == {}
    # when the environment has them
    given = {name: f"from-the-environment-{name.lower()}" for name in SECRETS}
    filled = _production_settings(
        {"SECRET_KEY": PRODUCTION_KEY, "EMAIL_URL": "smtp://mailer:env-mail-password@smtp.example.nl:587", **given},
        expression,
    )
    # then each is exactly what the environment says
    assert filled == {**given, "EMAIL_HOST_PASSWORD": "env-mail-password"}


def test_the_secret_key_is_the_environments_and_dot_env_is_never_committed():
    assert _production_settings({"SECRET_KEY": PRODUCTION_KEY}, "s.SECRET_KEY") == PRODUCTION_KEY
    ignored = (ROOT / ".gitignore").read_text().split()
    assert ".env" in ignored
    if (ROOT / ".git").exists():
        tracked = subprocess.run(["git", "ls-files", ".env", "*.env"], cwd=ROOT, capture_output=True, text=True)
        assert tracked.stdout.strip() == ""


# --- transport security in production --------------------------------------------------------------


@pytest.mark.django_db
def test_hsts_for_a_year_with_subdomains_and_preload_on_every_https_answer(client):
    # (the test settings are production's, DEBUG off, without the HTTPS redirect)
    for path in ("/admin/login/", "/api/v1/me/", "/healthz"):
        response = client.get(path, secure=True)
        hsts = response["Strict-Transport-Security"]
        directives = [part.strip() for part in hsts.split(";")]
        max_age = int(directives[0].removeprefix("max-age="))
        assert max_age >= 31_536_000, hsts
        assert "includeSubDomains" in directives and "preload" in directives, hsts


@pytest.mark.django_db
def test_the_session_and_csrf_cookies_travel_only_over_https():
    UserFactory(username="cookie-user", is_superuser=True)
    client = Client()
    page = client.get("/admin/login/", secure=True)
    csrf = page.cookies["csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax"
    login = client.post("/admin/login/", {"username": "cookie-user", "password": PASSWORD}, secure=True)
    assert login.status_code == 302
    session = login.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_is_redirected_to_https_except_the_health_check(client):
    response = client.get("/admin/login/")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    assert client.get("/api/v1/me/").status_code == 301
    assert client.get("/healthz").status_code == 200
    # behind the proxy that ended TLS, the forwarded protocol is trusted
    assert client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


# --- dependencies: make audit ------------------------------------------------------------------------


def _audit_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("audit", ROOT / "scripts" / "audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _FakeService:
    """A vulnerability service on 127.0.0.1 that answers every release with `answer`."""

    def __init__(self, answer: bytes, status: int = 200):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from threading import Thread

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(status)
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/pypi/amqp/5.4.2/json"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_make_audit_runs_pip_audit_strictly_on_the_pinned_requirements_and_fails_on_a_finding(monkeypatch):
    audit = _audit_script()
    ran = []
    monkeypatch.setattr(audit, "service_problem", lambda url: None)
    monkeypatch.setattr(
        audit.subprocess, "run", lambda command, **kw: ran.append(command) or subprocess.CompletedProcess(command, 1)
    )
    assert audit.main([]) == 1  # pip-audit's own status: 1 when it found something
    (command,) = ran
    assert command[0].endswith("pip-audit") and command[1:4] == ["-r", "requirements.txt", "--strict"]
    assert audit.probe_url().startswith("https://pypi.org/pypi/") and audit.probe_url().endswith("/json")


def test_make_audit_is_skipped_with_a_warning_when_the_service_cannot_be_reached(monkeypatch, capsys):
    audit = _audit_script()
    monkeypatch.setattr(audit.subprocess, "run", lambda *a, **kw: pytest.fail("pip-audit must not run"))
    # nothing listening, a mirror without the release JSON, an answer that is not the service's
    no_service = "http://127.0.0.1:9/pypi/amqp/5.4.2/json"
    mirror, html = _FakeService(b"not found", status=404), _FakeService(b"<html>captive portal</html>")
    try:
        for url in (no_service, mirror.url, html.url):
            assert audit.service_problem(url, timeout=2) is not None, url
        monkeypatch.setattr(audit, "probe_url", lambda: no_service)
        assert audit.main([]) == 0
    finally:
        mirror.close()
        html.close()
    assert "audit skipped: vulnerability service unreachable" in capsys.readouterr().err


def test_the_real_service_answer_counts_as_reachable():
    audit = _audit_script()
    service = _FakeService(json.dumps({"info": {}, "vulnerabilities": []}).encode())
    try:
        assert audit.service_problem(service.url, timeout=2) is None
    finally:
        service.close()
