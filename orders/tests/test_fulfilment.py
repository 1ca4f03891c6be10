import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from core.tests.test_api_base import assert_contract_error
from inventory.models import Stock, StockMovement
from orders.models import Order, Shipment
from orders.services.fulfilment import order_clear
from orders.tests.conftest import order_body, receive
from orders.tests.test_api_intake import URL


@pytest.fixture
def placed(api_for, channel, utr, tshirt, coat, hng):
    """A paid order of 3 t-shirts (UTR) and a coat (HNG)."""
    receive(tshirt, utr, 10)
    receive(coat, hng, 2)
    lines = [
        {"sku": tshirt.sku, "quantity": 3, "unit_price": "19.95"},
        {"sku": coat.sku, "quantity": 1, "unit_price": "149.00"},
    ]
    shop = api_for(channel=channel)
    body = shop.post(URL, order_body(lines=lines, method="pos"), format="json").json()
    return {"shop": shop, "order": body, "utr": api_for(location=utr), "hng": api_for(location=hng)}


def _fulfilment_at(order_body, code):
    return next(f for f in order_body["fulfilments"] if f["location"] == code)


def _ship(client, fulfilment_id, lines, tracking="3SABCD1234567", carrier="postnl", weight=None):
    payload = {"carrier": carrier, "tracking_code": tracking, "lines": lines}
    if weight is not None:
        payload["weight_grams"] = weight
    return client.post(f"/api/v1/fulfilments/{fulfilment_id}/shipments/", payload, format="json")


@pytest.mark.django_db
def test_each_location_sees_only_its_work_oldest_promise_first(placed, tshirt):
    utr_work = placed["utr"].get("/api/v1/fulfilments/", {"status": "released"}).json()["results"]
    assert [f["location"] for f in utr_work] == ["UTR"]
    assert utr_work[0]["lines"] == [{"sku": tshirt.sku, "quantity": 3, "quantity_shipped": 0}]
    hng_id = _fulfilment_at(placed["order"], "HNG")["id"]
    assert_contract_error(placed["utr"].get(f"/api/v1/fulfilments/{hng_id}/"), 404)
    assert_contract_error(_ship(placed["utr"], hng_id, [{"sku": "COAT-BLUE-L", "quantity": 1}]), 404)


@pytest.mark.django_db
def test_worklist_is_ordered_by_promise(api_for, channel, utr, tshirt):
    receive(tshirt, utr, 10)
    shop = api_for(channel=channel)
    late = order_body("LATE", lines=[{"sku": tshirt.sku, "quantity": 1, "unit_price": "1.00"}], method="pos")
    early = order_body("EARLY", lines=[{"sku": tshirt.sku, "quantity": 1, "unit_price": "1.00"}], method="pos")
    shop.post(URL, late, format="json")
    shop.post(URL, early, format="json")
    from orders.models import Fulfilment

    Fulfilment.objects.filter(order__external_reference="EARLY").update(promised_ship_date="2026-11-01")
    work = api_for(location=utr).get("/api/v1/fulfilments/").json()["results"]
    assert [f["promised_ship_date"] for f in work] == ["2026-11-01", work[1]["promised_ship_date"]]
    assert work[1]["promised_ship_date"] > "2026-11-01"


@pytest.mark.django_db
def test_partial_parcels_then_the_rest_ship_the_order(placed, tshirt, coat):
    utr_id = _fulfilment_at(placed["order"], "UTR")["id"]
    hng_id = _fulfilment_at(placed["order"], "HNG")["id"]
    # first parcel: 2 of 3 t-shirts
    first = _ship(placed["utr"], utr_id, [{"sku": tshirt.sku, "quantity": 2}], tracking="3SAAA0000001", weight=420)
    assert first.status_code == 201, first.json()
    assert first.json()["tracking_url"].startswith("https://")
    order = placed["shop"].get(f"{URL}{placed['order']['number']}/").json()
    assert order["status"] == "partially_shipped"
    assert _fulfilment_at(order, "UTR")["status"] == "released"
    # second parcel and the coat
    assert (
        _ship(placed["utr"], utr_id, [{"sku": tshirt.sku, "quantity": 1}], tracking="3SAAA0000002").status_code == 201
    )
    assert _ship(placed["hng"], hng_id, [{"sku": coat.sku, "quantity": 1}], tracking="3SAAA0000003").status_code == 201
    order = placed["shop"].get(f"{URL}{placed['order']['number']}/").json()
    assert order["status"] == "shipped"
    assert [line["quantity_shipped"] for line in order["lines"]] == [3, 1]
    assert len(_fulfilment_at(order, "UTR")["shipments"]) == 2
    # the stock left through the ledger
    stock = Stock.objects.get(product=tshirt)
    assert (stock.on_hand, stock.reserved) == (7, 0)
    assert StockMovement.objects.filter(stock=stock, kind="shipment").count() == 2


@pytest.mark.django_db
def test_shipping_more_than_allocated_is_400_and_changes_nothing(placed, tshirt):
    utr_id = _fulfilment_at(placed["order"], "UTR")["id"]
    response = _ship(placed["utr"], utr_id, [{"sku": tshirt.sku, "quantity": 4}])
    assert_contract_error(response, 400, code="exceeds_allocation", attr="lines.0.quantity")
    assert Shipment.objects.count() == 0
    assert Stock.objects.get(product=tshirt).reserved == 3
    response = _ship(placed["utr"], utr_id, [{"sku": "COAT-BLUE-L", "quantity": 1}])
    assert_contract_error(response, 400, attr="lines.0.sku")


@pytest.mark.django_db
def test_the_same_parcel_posted_twice_ships_once(placed, tshirt):
    utr_id = _fulfilment_at(placed["order"], "UTR")["id"]
    first = _ship(placed["utr"], utr_id, [{"sku": tshirt.sku, "quantity": 1}])
    again = _ship(placed["utr"], utr_id, [{"sku": tshirt.sku, "quantity": 1}])
    assert (first.status_code, again.status_code) == (201, 200)
    assert Shipment.objects.count() == 1
    assert Stock.objects.get(product=tshirt).on_hand == 9
    other = _ship(placed["utr"], utr_id, [{"sku": tshirt.sku, "quantity": 2}])
    assert_contract_error(other, 409, code="tracking_code_used")


@pytest.mark.django_db
def test_an_order_that_is_not_cleared_never_ships(api_for, channel, utr, tshirt):
    receive(tshirt, utr, 5)
    body = (
        api_for(channel=channel)
        .post(URL, order_body(lines=[{"sku": tshirt.sku, "quantity": 1, "unit_price": "5.00"}]), format="json")
        .json()
    )
    assert body["status"] == "awaiting_payment"
    fulfilment_id = body["fulfilments"][0]["id"]
    utr_client = api_for(location=utr)
    assert utr_client.get("/api/v1/fulfilments/", {"status": "released"}).json()["results"] == []
    assert_contract_error(
        _ship(utr_client, fulfilment_id, [{"sku": tshirt.sku, "quantity": 1}]), 409, code="not_cleared"
    )
    # when the money is confirmed, it is released
    order_clear(order_id=Order.objects.get().pk, source="test")
    assert utr_client.get("/api/v1/fulfilments/", {"status": "released"}).json()["results"][0]["id"] == fulfilment_id
    assert _ship(utr_client, fulfilment_id, [{"sku": tshirt.sku, "quantity": 1}]).status_code == 201


@pytest.mark.django_db
def test_weight_far_off_is_flagged(placed, tshirt):
    utr_id = _fulfilment_at(placed["order"], "UTR")["id"]
    response = _ship(placed["utr"], utr_id, [{"sku": tshirt.sku, "quantity": 3}], weight=2400)  # expected 600 g
    assert response.json()["weight_flagged"] is True
    order = Order.objects.get()
    assert order.events.filter(kind="weight_flagged").exists()


@pytest.mark.django_db
def test_pick_and_pack_move_forward_only(placed):
    utr_id = _fulfilment_at(placed["order"], "UTR")["id"]
    assert placed["utr"].post(f"/api/v1/fulfilments/{utr_id}/picked/").json()["status"] == "picked"
    assert placed["utr"].post(f"/api/v1/fulfilments/{utr_id}/packed/").json()["status"] == "packed"
    assert_contract_error(placed["utr"].post(f"/api/v1/fulfilments/{utr_id}/picked/"), 409, code="invalid_transition")


@pytest.mark.django_db
@pytest.mark.parametrize("document", ["pick-list", "packing-slip"])
def test_pick_list_and_packing_slip_render_as_pdf(placed, tshirt, document):
    utr_id = _fulfilment_at(placed["order"], "UTR")["id"]
    response = placed["utr"].get(f"/api/v1/fulfilments/{utr_id}/{document}.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert tshirt.sku in text
    assert placed["order"]["number"] in text
    if document == "packing-slip":
        assert "Oudegracht" in text and "3511 AB" in text


@pytest.mark.django_db
def test_staff_opens_the_pick_list_in_the_admin(client, placed):
    from core.tests.factories import UserFactory

    client.force_login(UserFactory(is_superuser=True))
    fulfilment = Order.objects.get().fulfilments.first()
    response = client.get(reverse("admin:orders_fulfilment_document", args=[fulfilment.pk, "pick-list"]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
