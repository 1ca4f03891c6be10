from celery import shared_task
from django.db import OperationalError

from orders.services.backorders import order_backorders_allocate
from orders.services.sla import sla_watch
from orders.services.webhooks import webhook_deliver, webhook_retry_due


@shared_task(
    name="orders.webhook_deliver",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def webhook_deliver_task(delivery_id: int, **kwargs) -> str:
    return webhook_deliver(delivery_id=delivery_id).status


@shared_task(name="orders.webhook_retry_due", acks_late=True, ignore_result=True)
def webhook_retry_due_task(**kwargs) -> int:
    return webhook_retry_due()


@shared_task(
    name="orders.sla_watch",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def sla_watch_task(**kwargs) -> dict:
    return sla_watch()


@shared_task(
    name="orders.backorders_allocate",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def backorders_allocate_task(product_ids: list[int] | None = None, **kwargs) -> int:
    return order_backorders_allocate(product_ids=product_ids)
