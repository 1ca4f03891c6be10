from celery import shared_task
from django.db import OperationalError

from inventory.services.reports import low_stock_report_send


@shared_task(
    name="inventory.low_stock_report",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=5,
    autoretry_for=(OperationalError, ConnectionError, TimeoutError),
    retry_backoff=True,
)
def low_stock_report_task(self, **kwargs) -> int:
    """Daily: mail the buyer the stock below its reorder point (once a day)."""
    report = low_stock_report_send()
    return report.item_count if report else 0
