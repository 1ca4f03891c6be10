"""Settings of the Celery workers the fault tests start: the test settings (the test
database and a private Redis come from DATABASE_URL / REDIS_URL) with tasks really sent
to the broker, and a visibility timeout of a few seconds, so a message whose worker died
is delivered again within seconds instead of the production hour. acks_late and
reject-on-worker-lost are production's (backoffice/settings.py)."""

import os

from backoffice.settings_test import *  # noqa: F403
from backoffice.settings_test import CELERY_BROKER_TRANSPORT_OPTIONS

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "visibility_timeout": int(os.environ.get("RELIABILITY_VISIBILITY_TIMEOUT", "6")),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
CONN_MAX_AGE = 0
