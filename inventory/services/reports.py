"""The daily low-stock list for the buyer."""

import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from inventory.models import LowStockReport
from inventory.selectors import low_stock_items


def low_stock_report_send(*, today: datetime.date | None = None) -> LowStockReport | None:
    """Mail the buyer (settings.BUYER_EMAIL) the stock below its reorder point, in Dutch,
    once per day: running it again that day (or twice at once) sends nothing more. Nothing
    is sent when nothing is low. Returns the day's report row when a mail went out."""
    day = today or timezone.localdate()
    try:
        with transaction.atomic():
            LowStockReport.objects.create(report_date=day)
    except IntegrityError:
        pass  # another run made the day's row; the lock below decides who sends
    with transaction.atomic():
        report = LowStockReport.objects.select_for_update().get(report_date=day)
        if report.sent_at is not None:
            return None
        items = low_stock_items()
        if not items:
            return None
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Low stock on %(date)s: %(count)d items below their reorder point") % {
                "date": day.strftime("%d-%m-%Y"),
                "count": len(items),
            }
            body = render_to_string("inventory/low_stock_mail.txt", {"items": items, "date": day})
        # Sent while the day's row is locked, so a second run waits and then sees it sent;
        # a failure rolls back and the next run tries again.
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [settings.BUYER_EMAIL])
        report.sent_at = timezone.now()
        report.item_count = len(items)
        report.recipient = settings.BUYER_EMAIL
        report.save(update_fields=["sent_at", "item_count", "recipient"])
        return report
