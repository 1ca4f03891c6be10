"""The order representation is built by hand for speed; the serializer documents it in
the OpenAPI schema. They must say the same."""

import pytest

from orders.api.representation import fulfilment_representation, order_representation
from orders.api.serializers import FulfilmentOutputSerializer, OrderOutputSerializer
from orders.selectors import access_order
from orders.services.fulfilment import shipment_create
from orders.services.holds import order_hold_add
from orders.tests.fixtures import order_body, receive
from orders.tests.test_api_intake import URL


@pytest.mark.django_db
def test_hand_built_representation_equals_the_documented_serializer(api_for, channel, utr, hng, tshirt, coat):
    receive(tshirt, utr, 5)
    receive(coat, hng, 1)
    shop = api_for(channel=channel)
    lines = [
        {"sku": tshirt.sku, "quantity": 3, "unit_price": "19.95", "discount": "1.50"},
        {"sku": coat.sku, "quantity": 2, "unit_price": "149.00"},
    ]
    other = {
        "street": "Kalverstraat",
        "house_number": "1",
        "postal_code": "1012 NX",
        "city": "Amsterdam",
        "country": "NL",
    }
    number = shop.post(URL, order_body(lines=lines, method="pos"), format="json").json()["number"]
    held = shop.post(URL, order_body("H", method="ideal", shipping_address=other), format="json").json()["number"]
    order = access_order(number=number)
    utr_fulfilment = order.fulfilments.get(location=utr)
    shipment_create(
        fulfilment_id=utr_fulfilment.pk,
        carrier="postnl",
        tracking_code="3SREP1",
        lines=[{"sku": tshirt.sku, "quantity": 1}],
        weight_grams=300,
    )
    order_hold_add(order_id=access_order(number=held).pk, reason="manual")
    for n in (number, held):
        order = access_order(number=n)
        assert order_representation(order) == OrderOutputSerializer(order).data
        for fulfilment in order.fulfilments.all():
            assert fulfilment_representation(fulfilment) == FulfilmentOutputSerializer(fulfilment).data
