"""Settings of the gunicorn the fault tests start: production's (DEBUG off, the same
middleware, authentication, exception handling and database settings), plain HTTP on
loopback, throttling raised for a burst. DATABASE_URL and REDIS_URL come from the test
(a private PostgreSQL cluster, a private Redis)."""

import os

os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "reliability-only-secret-key-not-for-production-0123456789-abcdefgh")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("API_THROTTLE_RATE", "1000000/min")
os.environ.setdefault("EMAIL_URL", "consolemail://")

from backoffice.settings import *  # noqa: F403
