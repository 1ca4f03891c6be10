"""`Model.history` (django-simple-history) is made from one manager class per model, not
a new class at every access (each history row written reads it)."""

import pytest

from core.models import SalesChannel
from orders.models import Order


def test_the_history_manager_class_is_made_once():
    assert type(Order.history) is type(Order.history)
    assert Order.history.model.__name__ == "HistoricalOrder"


@pytest.mark.django_db
def test_history_of_an_object_still_reads_its_own_rows(channel):
    # when
    channel.name = "Webshop NL (new name)"
    channel.save(update_fields=["name", "updated_at"])
    other = SalesChannel.objects.create(code="other", name="Other", order_number_prefix="OTH")
    # then
    assert [h.name for h in channel.history.order_by("history_date")][-1] == "Webshop NL (new name)"
    assert channel.history.count() >= 1 and other.history.count() == 1
    assert type(channel.history) is type(other.history)
