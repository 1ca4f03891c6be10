"""The Celery application. Tasks live in each app's tasks.py; the default beat schedule
is defined once, in core/schedule.py, and copied into django-celery-beat's tables where
staff can change it."""

import os

from celery import Celery
from celery.signals import task_prerun, worker_process_init
from kombu import Exchange, Queue

from core.logging import request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Queues per kind of work, so a burst of PDFs or a slow carrier never starves the rest.
app.conf.task_queues = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in ("default", "documents", "carriers")
)
app.conf.task_default_exchange = "default"
app.conf.task_default_routing_key = "default"
app.conf.worker_hijack_root_logger = False  # log through Django's LOGGING (JSON lines)
app.conf.task_routes = {
    "documents.*": {"queue": "documents", "routing_key": "documents"},
    "carriers.*": {"queue": "carriers", "routing_key": "carriers"},
}
app.autodiscover_tasks()


def ensure_broker_folders() -> None:
    """The file broker needs its folders before the first message."""
    from django.conf import settings

    broker_dir = getattr(settings, "CELERY_BROKER_DIR", None)
    if broker_dir:
        os.makedirs(broker_dir, exist_ok=True)
        os.makedirs(settings.CELERY_BROKER_TRANSPORT_OPTIONS["control_folder"], exist_ok=True)


@task_prerun.connect
def _log_with_task_id(task_id=None, **kwargs) -> None:
    request_id_var.set(task_id)


@worker_process_init.connect
def _tune_the_collector(**kwargs) -> None:
    """A worker process keeps what it loaded for its whole life (core.runtime)."""
    from core.runtime import gc_tune

    gc_tune()
