"""Celery tasks of track & trace: thin, idempotent, acknowledged late, with time limits.
Names starting with `carriers.` go to the carriers queue, `documents.` to the documents
queue (backoffice/celery.py)."""

from smtplib import SMTPException

from celery import shared_task
from django.db import OperationalError

from carriers.services.notifications import shipment_mail_send
from carriers.services.polling import carrier_poll, tracking_poll_fanout
from carriers.services.tracking import tracking_states_backfill
from carriers.services.watch import tracking_stalled_check

# A carrier's run stops taking new batches after this, well inside the task's time limits.
POLL_TIME_BUDGET_SECONDS = 200
# A fanned-out poll that waited this long in the queue is dropped: the next fan-out sends a new one.
POLL_EXPIRES_SECONDS = 120


@shared_task(name="carriers.poll_due", acks_late=True, ignore_result=True, soft_time_limit=50, time_limit=60)
def poll_due_task(**kwargs) -> list[str]:
    """Beat, every minute: one `carriers.poll_carrier` per carrier with work, so a carrier
    that is down or slow never holds up the others."""
    carriers = tracking_poll_fanout()
    for carrier in carriers:
        poll_carrier_task.apply_async(kwargs={"carrier": carrier}, expires=POLL_EXPIRES_SECONDS)
    return carriers


@shared_task(
    name="carriers.poll_carrier",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=POLL_TIME_BUDGET_SECONDS + 60,
    time_limit=POLL_TIME_BUDGET_SECONDS + 90,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def poll_carrier_task(carrier: str, **kwargs) -> dict:
    """One polling run for one carrier (its due parcels, its change feed)."""
    return carrier_poll(carrier=carrier, time_budget_seconds=POLL_TIME_BUDGET_SECONDS).as_dict()


@shared_task(
    name="carriers.stalled_check",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=240,
    time_limit=300,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def stalled_check_task(**kwargs) -> int:
    """Beat, hourly: parcels without a scan for N business days go on the watch list. Also
    starts tracking open parcels that have none (a safety net beside the shipment hook)."""
    tracking_states_backfill()
    return tracking_stalled_check()


@shared_task(
    name="documents.shipment_mail",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(OSError, SMTPException, OperationalError),
    retry_backoff=True,
    max_retries=5,
)
def shipment_mail_task(shipment_id: int, kind: str, **kwargs) -> bool:
    """The customer's mail about a parcel (shipped, delivered, at a pickup point), once."""
    return shipment_mail_send(shipment_id=shipment_id, kind=kind)
