"""The block list and the many-names check at intake (orders.services.fraud), asked of
the database in one query."""

import datetime

import pytest
from django.utils import timezone

from orders.models import FraudBlock, Order, OrderAddress
from orders.tests.conftest import order_body, receive

URL = "/api/v1/orders/"


@pytest.fixture
def shop(api_for, channel, utr, tshirt):
    receive(tshirt, utr, 50)
    return api_for(channel=channel)


def _post(shop, reference, **customer):
    body = order_body(reference, method="pos")
    body["customer"].update(customer)
    response = shop.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    return Order.objects.get(number=response.json()["number"])


@pytest.mark.django_db
def test_a_blocked_address_holds_the_order(shop):
    # given: the contract example's address (Oudegracht 12 A, 3511 AB) on the block list
    FraudBlock.objects.create(kind=FraudBlock.Kind.ADDRESS, value="NL|3511AB|12|A")
    FraudBlock.objects.create(kind=FraudBlock.Kind.IBAN, value="an@example.nl")  # another kind: no match
    # when
    order = _post(shop, "WS-B")
    # then
    assert order.fraud_signals == ["blocked_address"] and order.hold_reasons == ["fraud_review"]


@pytest.mark.django_db
def test_names_count_once_each_and_only_within_the_window(shop):
    # given: two orders to the address under one name (in another case), one under another
    _post(shop, "N1", last_name="Jansen", email="p1@example.nl")
    _post(shop, "N2", last_name="JANSEN", email="p2@example.nl")
    old = _post(shop, "N3", last_name="Bakker", email="p3@example.nl")
    # and that last one reached us before the window
    OrderAddress.objects.filter(order=old).update(created_at=timezone.now() - datetime.timedelta(days=2))
    # when: a third name orders there
    order = _post(shop, "N4", last_name="de Vries", email="p4@example.nl")
    # then: two names in the window ("jansen", "de vries"), below the limit of three
    assert order.fraud_signals == []
    # while a fourth name makes three in the window
    assert _post(shop, "N5", last_name="Visser", email="p5@example.nl").fraud_signals == ["many_names_one_address"]
