"""Thin Celery tasks that call the payments services. Each is idempotent: the work is
keyed (payment events, refund states, mailed-at claims) so a second run changes
nothing. Documents (PDFs and mails) run on the `documents` queue (`documents.` names)."""

from decimal import Decimal

from celery import shared_task
from django.db import OperationalError

from core.audit import acting_as
from payments.exceptions import ProviderUnavailable, WebhookDeliveryFailed
from payments.services.simulator import simulated_payment_webhook_deliver, simulated_payments_expire_due

RETRY = {
    "bind": True,
    "acks_late": True,
    "ignore_result": True,
    "max_retries": 8,
    "autoretry_for": (ProviderUnavailable, OperationalError),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
}


@shared_task(
    name="payments.simulator_deliver_webhook",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=10,
    autoretry_for=(WebhookDeliveryFailed, OperationalError),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
)
def simulator_deliver_webhook_task(self, provider_id: str, **kwargs) -> bool:
    """Deliver the simulator's webhook for one payment, retried like a real provider
    does while the receiver is down."""
    return simulated_payment_webhook_deliver(provider_id=provider_id)


@shared_task(name="payments.simulator_expire_due", acks_late=True, ignore_result=True)
def simulator_expire_due_task(**kwargs) -> int:
    """Expire simulated payments whose time is up (and send their webhooks)."""
    return simulated_payments_expire_due()


@shared_task(name="payments.payment_start", **RETRY)
def payment_start_task(self, payment_id: int, **kwargs) -> None:
    from payments.services.payments import payment_start

    with acting_as(label="task:payments.payment_start"):
        payment_start(payment_id=payment_id)


@shared_task(name="payments.payment_sync", **RETRY)
def payment_sync_task(self, provider: str, provider_id: str, **kwargs) -> None:
    from payments.services.payments import payment_sync

    with acting_as(label=kwargs.get("label") or f"provider:{provider}"):
        payment_sync(provider=provider, provider_id=provider_id)


@shared_task(name="payments.payment_capture", **RETRY)
def payment_capture_task(self, payment_id: int, amount: str, key: str, **kwargs) -> None:
    from payments.services.payments import payment_capture

    with acting_as(label="task:payments.payment_capture"):
        payment_capture(payment_id=payment_id, amount=Decimal(amount), key=key)


@shared_task(name="payments.refund_execute", **RETRY)
def refund_execute_task(self, refund_id: int, **kwargs) -> None:
    from payments.services.refunds import refund_execute

    with acting_as(label="task:payments.refund_execute"):
        refund_execute(refund_id=refund_id)


@shared_task(name="payments.sync_open_payments", acks_late=True, ignore_result=True)
def sync_open_payments_task(**kwargs) -> int:
    """Safety net beside the webhooks: ask the providers about payments still open."""
    from payments.services.sweep import payments_sync_open

    with acting_as(label="task:payments.sync_open_payments"):
        return payments_sync_open()


@shared_task(name="documents.invoice_send", **{**RETRY, "autoretry_for": (OperationalError, OSError)})
def invoice_send_task(self, invoice_id: int, **kwargs) -> bool:
    from payments.services.documents import invoice_send

    return invoice_send(invoice_id=invoice_id)


@shared_task(name="documents.credit_note_send", **{**RETRY, "autoretry_for": (OperationalError, OSError)})
def credit_note_send_task(self, credit_note_id: int, **kwargs) -> bool:
    from payments.services.documents import credit_note_send

    return credit_note_send(credit_note_id=credit_note_id)


@shared_task(name="documents.payment_instructions_send", **{**RETRY, "autoretry_for": (OperationalError, OSError)})
def payment_instructions_send_task(self, payment_id: int, **kwargs) -> bool:
    from payments.services.documents import payment_instructions_send

    return payment_instructions_send(payment_id=payment_id)


@shared_task(name="documents.payment_link_send", **{**RETRY, "autoretry_for": (OperationalError, OSError)})
def payment_link_send_task(self, payment_id: int, **kwargs) -> bool:
    from payments.services.documents import payment_link_send

    return payment_link_send(payment_id=payment_id)
