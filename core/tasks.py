from smtplib import SMTPException

from celery import shared_task

from core.services import outbox_drain, worker_heartbeat_record


@shared_task(name="core.outbox_drain", acks_late=True, ignore_result=True)
def outbox_drain_task(**kwargs) -> int:
    return outbox_drain()


@shared_task(name="core.worker_heartbeat", acks_late=True, ignore_result=True)
def worker_heartbeat_task(**kwargs) -> str:
    """Proves a worker is consuming: /healthz shows when it last ran."""
    return worker_heartbeat_record()


@shared_task(
    name="core.approval_notify",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OSError, SMTPException),
    retry_backoff=True,
    max_retries=5,
)
def approval_notify_task(approval_id: int, event: str, **kwargs) -> int:
    """Mail who may decide on a new approval request, or the requester its outcome."""
    from core.approvals import approval_notify

    return approval_notify(approval_id=approval_id, event=event)
