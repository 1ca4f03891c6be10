"""Repeats of an order post are recognised by the reference's unique constraint (no
look-up before a new order), and the inbox entry records the outcome."""

import pytest

from core.tests.test_api_base import assert_contract_error
from inventory.models import StockMovement
from orders.models import Order, OrderInbox
from orders.tests.conftest import order_body, receive

URL = "/api/v1/orders/"


@pytest.fixture
def shop(api_for, channel, utr, tshirt):
    receive(tshirt, utr, 10)
    return api_for(channel=channel)


@pytest.mark.django_db
def test_a_new_order_is_recorded_on_its_inbox_entry(shop):
    # when
    response = shop.post(URL, order_body(), format="json")
    # then
    assert response.status_code == 201
    inbox = OrderInbox.objects.get()
    assert (inbox.result, inbox.order.number, inbox.processed_at is not None) == (
        OrderInbox.Result.CREATED,
        response.json()["number"],
        True,
    )


@pytest.mark.django_db
def test_a_repeat_is_answered_with_the_order_and_changes_nothing(shop):
    # given
    first = shop.post(URL, order_body(), format="json").json()
    movements = StockMovement.objects.count()
    # when
    again = shop.post(URL, order_body(), format="json")
    # then
    assert again.status_code == 200 and again.json() == first
    assert Order.objects.count() == 1 and StockMovement.objects.count() == movements
    assert list(OrderInbox.objects.order_by("pk").values_list("result", "order__number")) == [
        (OrderInbox.Result.CREATED, first["number"]),
        (OrderInbox.Result.DUPLICATE, first["number"]),
    ]


@pytest.mark.django_db
def test_a_repeat_of_an_order_whose_sku_was_withdrawn_since_still_gets_its_order(shop, tshirt):
    # given: the order was taken, then the SKU went out of sale
    first = shop.post(URL, order_body(), format="json").json()
    tshirt.is_active = False
    tshirt.save(update_fields=["is_active"])
    # when: the shop posts the same order again (it never saw the answer)
    again = shop.post(URL, order_body(), format="json")
    # then: the answer is the order made before, not a rejection
    assert again.status_code == 200 and again.json()["number"] == first["number"]
    # and with a different body it is a conflict, as for any repeat
    changed = order_body()
    changed["lines"][0]["quantity"] = 1
    assert_contract_error(shop.post(URL, changed, format="json"), 409, attr="external_reference")
    # while a new order for the SKU is refused
    assert_contract_error(shop.post(URL, order_body("WS-NEW"), format="json"), 400, attr="lines.0.sku")
    assert Order.objects.count() == 1
