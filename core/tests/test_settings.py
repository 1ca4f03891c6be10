"""Settings in both modes, and production safety. Each case imports the settings in a
fresh interpreter with a controlled environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
_CONTROLLED = ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "EMAIL_URL")
PRODUCTION_KEY = "prod-" + "x9Kq3vL8mZ2pR7tY1wB6nC4dF0gH5jS" * 2


def _settings(env: dict, expr: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in _CONTROLLED}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({expr}, default=str))"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=clean, capture_output=True, text=True)


def test_embedded_mode_uses_sqlite_in_var_and_a_file_broker(tmp_path):
    result = _settings(
        {"DEBUG": "true", "VAR_DIR": str(tmp_path)},
        '{"db": s.DATABASES["default"], "broker": s.CELERY_BROKER_URL, '
        '"opts": s.CELERY_BROKER_TRANSPORT_OPTIONS, "cache": s.CACHES["default"]["BACKEND"]}',
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["db"]["ENGINE"] == "django.db.backends.sqlite3"
    assert config["db"]["NAME"] == str(tmp_path / "db.sqlite3")
    assert "journal_mode=WAL" in config["db"]["OPTIONS"]["init_command"]
    assert config["db"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert config["db"]["OPTIONS"]["timeout"] >= 10
    assert config["broker"] == "filesystem://"
    assert config["opts"]["data_folder_in"].startswith(str(tmp_path))
    assert "FileBasedCache" in config["cache"]


def test_served_mode_uses_postgres_and_redis():
    result = _settings(
        {
            "DEBUG": "true",
            "DATABASE_URL": "postgres://shop:pw@db.internal:5432/backoffice",
            "REDIS_URL": "redis://cache.internal:6379/1",
        },
        '{"db": s.DATABASES["default"], "broker": s.CELERY_BROKER_URL, "cache": s.CACHES["default"]}',
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["db"]["ENGINE"] == "django.db.backends.postgresql"
    assert config["db"]["HOST"] == "db.internal"
    assert config["broker"] == "redis://cache.internal:6379/1"
    assert config["cache"]["LOCATION"] == "redis://cache.internal:6379/1"


def test_locale_defaults_are_dutch_amsterdam_and_euro():
    result = _settings({"DEBUG": "true"}, "[s.LANGUAGE_CODE, s.TIME_ZONE, s.CURRENCY, [c for c, _ in s.LANGUAGES]]")
    assert json.loads(result.stdout) == ["nl", "Europe/Amsterdam", "EUR", ["nl", "en"]]


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = _settings({"DEBUG": "false"}, "s.DEBUG")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    env = {k: v for k, v in os.environ.items() if k not in _CONTROLLED}
    env.update(
        DJANGO_SETTINGS_MODULE="backoffice.settings",
        DEBUG="false",
        SECRET_KEY=PRODUCTION_KEY,
        ALLOWED_HOSTS="backoffice.example.nl",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/backoffice",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("debug", ["false"])
def test_production_cookies_and_hsts(debug):
    result = _settings(
        {"DEBUG": debug, "SECRET_KEY": PRODUCTION_KEY},
        "[s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT]",
    )
    secure_session, secure_csrf, hsts, redirect = json.loads(result.stdout)
    assert secure_session and secure_csrf and redirect
    assert hsts >= 31536000


def test_login_protection_is_configured_from_the_environment():
    result = _settings(
        {"DEBUG": "true", "AXES_FAILURE_LIMIT": "7", "AXES_COOLOFF_MINUTES": "15", "AXES_IPWARE_PROXY_COUNT": "1"},
        "[s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), s.AXES_IPWARE_PROXY_COUNT, "
        "list(s.AXES_IPWARE_META_PRECEDENCE_ORDER), s.STAFF_OTP_REQUIRED, s.SIMPLE_HISTORY_REVERT_DISABLED]",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [7, 900.0, 1, ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"], True, True]
