"""Settings for `make bench`: the production settings (DEBUG off, the same middleware,
authentication, permissions, throttling, database and cache) on the bench's own
PostgreSQL database and Redis db, plus the tiny `bench.ceiling` app that serves the
bare-DRF ceiling endpoint.

The database and Redis URLs come from BENCH_DATABASE_URL / BENCH_REDIS_URL, never from
DATABASE_URL / REDIS_URL: a benchmark must not touch the test or demo databases, also
when those variables are set in the environment."""

import os

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/backoffice_bench")
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789-abcdefghijklmnop")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # plain HTTP on loopback
os.environ.setdefault("API_THROTTLE_RATE", "1000000/min")  # the load must not be throttled
os.environ.setdefault("EMAIL_URL", "consolemail://")
os.environ.setdefault("VAR_DIR", str(__import__("pathlib").Path(__file__).resolve().parent.parent / "var" / "bench"))
os.environ["CARRIER_BACKEND"] = "simulator"  # track & trace never calls a real carrier
# One PostgreSQL backend per gunicorn worker for the whole run, so its CPU time can be read
# from /proc (production reconnects every minute: a cost too small to see here, but a
# backend that exits takes its CPU time with it).
os.environ.setdefault("CONN_MAX_AGE", "3600")

from .settings import *
from .settings import INSTALLED_APPS, STORAGES

INSTALLED_APPS = [*INSTALLED_APPS, "bench.ceiling"]
ROOT_URLCONF = "bench.ceiling.urls"
# The admin renders the same hashed static names as in production, without WhiteNoise's
# gzip and brotli copies: they only serve static files (never measured) and take a minute
# to make on a clean checkout.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
