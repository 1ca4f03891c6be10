import pytest
from django.core import mail

from catalog.tests.factories import ProductFactory
from core.schedule import DEFAULT_SCHEDULE
from inventory.models import LowStockReport
from inventory.services.reports import low_stock_report_send
from inventory.tasks import low_stock_report_task
from inventory.tests.factories import LocationFactory, stocked

pytestmark = pytest.mark.django_db


def test_the_buyer_gets_the_low_stock_list_in_dutch_once_a_day(settings):
    # given
    settings.BUYER_EMAIL = "inkoper@example.nl"
    location = LocationFactory(code="UTR")
    stocked(ProductFactory(sku="LOW-1", name_nl="Regenjas"), location, 1, reorder_point=4)
    stocked(ProductFactory(sku="OK-1"), location, 10, reorder_point=4)
    # when
    low_stock_report_task.delay()
    low_stock_report_task.delay()
    # then
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["inkoper@example.nl"]
    assert "1" in message.subject and "bestelpunt" in message.subject.lower()
    assert "LOW-1 Regenjas @ UTR" in message.body and "OK-1" not in message.body
    assert LowStockReport.objects.get().item_count == 1


def test_no_mail_when_nothing_is_low():
    stocked(ProductFactory(), LocationFactory(), 10, reorder_point=4)
    assert low_stock_report_send() is None
    assert mail.outbox == []


def test_the_job_is_in_the_default_schedule():
    entries = [e for e in DEFAULT_SCHEDULE.values() if e["task"] == "inventory.low_stock_report"]
    assert len(entries) == 1 and "crontab" in entries[0]
