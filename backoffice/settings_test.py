"""Settings for the test suite: the real PostgreSQL and Redis on this machine.

`make test` sets DATABASE_URL / REDIS_URL; these defaults make a bare `pytest` do the same.
Each parallel run may point DATABASE_URL at its own database name (the test database is
`test_<name>`)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/backoffice")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("EMAIL_URL", "consolemail://")

from .settings import *
from .settings import REST_FRAMEWORK

STATIC_ROOT.mkdir(parents=True, exist_ok=True)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tasks run inline in tests (on commit, as in production); the broker itself is tested
# explicitly where it matters.
CELERY_TASK_ALWAYS_EAGER = True
# Tests change keys, rules and rates and expect the effect at once; the caching itself has
# its own tests (core/tests/test_localcache.py).
LOCAL_CACHE_SECONDS = 0
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "100000/min", "anonymous": "100000/min"}}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# Tests log in with client.login / force_login, which pass no request (axes) and no second
# factor. The lock-out and the two-factor tests switch these on with override_settings
# (core/tests/test_login_protection.py, core/tests/test_two_factor.py, tests/test_admin_roles.py).
AXES_ENABLED = False
STAFF_OTP_REQUIRED = False
