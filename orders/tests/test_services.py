import datetime
import http.server
import json
import threading
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from core.approvals import approval_decide
from core.exceptions import Conflict, PermissionDenied
from core.models import ApprovalRequest, BusinessRule
from core.tests.factories import UserFactory
from core.tests.test_api_base import assert_contract_error
from customers.models import Customer
from inventory.models import Stock
from orders.models import FraudBlock, Fulfilment, Order, OrderInbox, WebhookDelivery
from orders.services.fraud import ORDER_VALUE_ABOVE
from orders.services.holds import (
    order_hold_add,
    order_hold_release,
    order_shipping_address_change_request,
)
from orders.services.sla import promised_ship_date, sla_watch
from orders.services.totals import LineAmounts, order_amounts, split_over_rates
from orders.services.webhooks import webhook_deliver, webhook_signature_is_valid
from orders.tests.conftest import order_body, receive
from orders.tests.test_api_intake import URL

AMS = timezone.get_fixed_timezone(60)


@pytest.fixture
def shop(api_for, channel, utr, tshirt):
    receive(tshirt, utr, 10)
    return api_for(channel=channel)


def _place(shop, reference="WS-1", **kwargs):
    response = shop.post(URL, order_body(reference, **kwargs), format="json")
    assert response.status_code == 201, response.json()
    return Order.objects.get(number=response.json()["number"])


# --- cancellation ----------------------------------------------------------------------


@pytest.mark.django_db
def test_cancel_releases_the_stock_through_the_ledger(shop, tshirt):
    order = _place(shop, method="pos")
    assert Stock.objects.get(product=tshirt).reserved == 2
    response = shop.post(f"{URL}{order.number}/cancel/", {"reason": "customer changed mind"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    stock = Stock.objects.get(product=tshirt)
    assert (stock.on_hand, stock.reserved) == (10, 0)
    assert stock.movements.filter(kind="release", reference=f"order:{order.number}:cancel").exists()
    assert set(Fulfilment.objects.filter(order=order).values_list("status", flat=True)) == {"cancelled"}


@pytest.mark.django_db
def test_cancel_after_shipping_is_refused_and_changes_nothing(shop, tshirt, utr, api_for):
    order = _place(shop, method="pos")
    fulfilment = order.fulfilments.get()
    api_for(location=utr).post(
        f"/api/v1/fulfilments/{fulfilment.code}/shipments/",
        {"carrier": "postnl", "tracking_code": "3SX1", "lines": [{"sku": tshirt.sku, "quantity": 1}]},
        format="json",
    )
    assert_contract_error(shop.post(f"{URL}{order.number}/cancel/", {}, format="json"), 409, code="already_shipped")
    order.refresh_from_db()
    assert order.cancelled_at is None
    assert Stock.objects.get(product=tshirt).reserved == 1


# --- fraud holds -----------------------------------------------------------------------


@pytest.mark.django_db
def test_order_above_the_value_limit_waits_for_review(shop):
    BusinessRule.objects.create(key=ORDER_VALUE_ABOVE, value=Decimal("30.00"), valid_from=timezone.now())
    order = _place(shop, method="pos")
    assert order.status == "on_hold"
    assert order.hold_reasons == ["fraud_review"]
    assert "order_value_above_limit" in order.fraud_signals
    assert set(order.fulfilments.values_list("status", flat=True)) == {"waiting"}


@pytest.mark.django_db
def test_new_shipping_address_that_differs_from_billing_is_held(shop):
    other = {
        "street": "Kalverstraat",
        "house_number": "1",
        "postal_code": "1012 NX",
        "city": "Amsterdam",
        "country": "NL",
    }
    order = _place(shop, method="pos", shipping_address=other)
    assert "new_shipping_address" in order.fraud_signals and order.status == "on_hold"


@pytest.mark.django_db
def test_blocked_customer_and_blocked_email(shop, channel):
    Customer.objects.create(channel=channel, email="an@example.nl", is_blocked=True, blocked_reason="fraud")
    order = _place(shop, method="pos")
    assert order.hold_reasons == ["customer_blocked"]
    FraudBlock.objects.create(kind="email", value="bo@example.nl")
    body = order_body("WS-2", method="pos")
    body["customer"]["email"] = "Bo@Example.nl"
    held = shop.post(URL, body, format="json").json()
    assert held["hold_reasons"] == ["fraud_review"]


@pytest.mark.django_db
def test_many_names_at_one_address_in_a_short_time(shop):
    for i, name in enumerate(["Jansen", "de Vries", "Bakker"]):
        body = order_body(f"N{i}", method="pos")
        body["customer"].update(last_name=name, email=f"p{i}@example.nl")
        result = shop.post(URL, body, format="json").json()
    assert result["hold_reasons"] == ["fraud_review"]
    assert "many_names_one_address" in Order.objects.get(external_reference="N2").fraud_signals
    assert Order.objects.get(external_reference="N0").hold_reasons == []


@pytest.mark.django_db
def test_reviewer_releases_a_hold_and_the_order_ships(shop):
    BusinessRule.objects.create(key=ORDER_VALUE_ABOVE, value=Decimal("30.00"), valid_from=timezone.now())
    order = _place(shop, method="pos")
    with pytest.raises(PermissionDenied):
        order_hold_release(order_id=order.pk, reasons=["fraud_review"], actor=UserFactory())
    reviewer = UserFactory(role="Finance")
    released = order_hold_release(order_id=order.pk, reasons=["fraud_review"], actor=reviewer, note="called customer")
    assert released.status == "released"
    assert set(order.fulfilments.values_list("status", flat=True)) == {"released"}
    assert order.events.filter(kind="hold_released", actor=reviewer).exists()


@pytest.mark.django_db
def test_releasing_a_high_value_hold_needs_a_second_person(shop):
    from orders.services.fraud import HOLD_RELEASE_APPROVAL_ABOVE

    BusinessRule.objects.create(key=ORDER_VALUE_ABOVE, value=Decimal("30.00"), valid_from=timezone.now())
    BusinessRule.objects.create(key=HOLD_RELEASE_APPROVAL_ABOVE, value=Decimal("40.00"), valid_from=timezone.now())
    order = _place(shop, method="pos")
    reviewer, manager = UserFactory(role="Finance"), UserFactory(role="Manager")
    approval = order_hold_release(order_id=order.pk, reasons=["fraud_review"], actor=reviewer)
    assert isinstance(approval, ApprovalRequest)
    order.refresh_from_db()
    assert order.hold_reasons == ["fraud_review"]  # nothing happened yet
    approval_decide(approval_id=approval.pk, decided_by=manager, approve=True)
    order.refresh_from_db()
    assert order.hold_reasons == [] and order.status == "released"


@pytest.mark.django_db
def test_a_hold_after_release_takes_the_fulfilment_back(shop):
    order = _place(shop, method="pos")
    order_hold_add(order_id=order.pk, reason="manual", note="customer called: wrong size")
    order.refresh_from_db()
    assert order.status == "on_hold"
    assert order.fulfilments.get().status == "waiting"


# --- address change with four eyes -----------------------------------------------------


@pytest.mark.django_db
def test_shipping_address_change_needs_a_second_person(shop):
    order = _place(shop, method="pos")
    requester, approver = UserFactory(role="Customer service"), UserFactory(role="Manager")
    new = {"street": "Kalverstraat", "house_number": "1", "postal_code": "1012NX", "city": "Amsterdam", "country": "NL"}
    approval = order_shipping_address_change_request(order_id=order.pk, address=new, actor=requester, reason="moved")
    order.refresh_from_db()
    assert order.shipping_address.postal_code == "3511 AB"  # unchanged until approved
    with pytest.raises(PermissionDenied):
        approval_decide(approval_id=approval.pk, decided_by=requester, approve=True)
    approval_decide(approval_id=approval.pk, decided_by=approver, approve=True)
    order.refresh_from_db()
    assert order.shipping_address.postal_code == "1012 NX"
    assert order.addresses.filter(kind="shipping").count() == 2
    assert order.events.filter(kind="address_changed").count() == 1


# --- service levels --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("placed", "expected"),
    [
        (datetime.datetime(2026, 11, 23, 15, 59, tzinfo=AMS), datetime.date(2026, 11, 23)),  # Monday before 16:00
        (datetime.datetime(2026, 11, 23, 16, 0, tzinfo=AMS), datetime.date(2026, 11, 24)),  # at the cut-off
        (datetime.datetime(2026, 11, 27, 17, 0, tzinfo=AMS), datetime.date(2026, 11, 30)),  # Friday late → Monday
        (datetime.datetime(2026, 11, 28, 9, 0, tzinfo=AMS), datetime.date(2026, 11, 30)),  # Saturday → Monday
        (datetime.datetime(2026, 12, 24, 18, 0, tzinfo=AMS), datetime.date(2026, 12, 28)),  # Christmas in between
    ],
)
def test_promised_ship_date(placed, expected, db):
    assert (
        promised_ship_date(ready_at=placed, channel_cutoff=datetime.time(16), location_cutoff=datetime.time(17))
        == expected
    )


@pytest.mark.django_db
def test_sla_watch_flags_at_risk_and_late(shop):
    order = _place(shop, method="pos")
    fulfilment = order.fulfilments.get()
    fulfilment.location.cutoff_time = datetime.time(17)
    fulfilment.location.save()
    Fulfilment.objects.filter(pk=fulfilment.pk).update(promised_ship_date=datetime.date(2026, 11, 23))
    at_risk = sla_watch(now=datetime.datetime(2026, 11, 23, 16, 30, tzinfo=AMS))
    fulfilment.refresh_from_db()
    assert fulfilment.sla_status == "at_risk" and at_risk["at_risk"] == 1
    sla_watch(now=datetime.datetime(2026, 11, 24, 9, 0, tzinfo=AMS))
    fulfilment.refresh_from_db()
    assert fulfilment.sla_status == "late"
    assert order.events.filter(kind="sla_changed").count() == 2


# --- webhooks to the shop --------------------------------------------------------------


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    _Receiver.status = 200
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.mark.django_db(transaction=True)
def test_status_changes_are_posted_signed_and_retried(channel, api_for, utr, tshirt, receiver):
    # given a channel with a webhook
    channel.webhook_url = f"http://127.0.0.1:{receiver.server_port}/hooks"
    channel.webhook_secret = "s3cret"
    channel.save()
    receive(tshirt, utr, 5)
    # when an order comes in (outbox → eager task → HTTP)
    api_for(channel=channel).post(URL, order_body(method="pos"), format="json")
    # then
    assert _Receiver.received, "nothing was posted"
    headers, body = _Receiver.received[0]
    assert headers["X-Backoffice-Event"] == "order.created"
    assert webhook_signature_is_valid(secret="s3cret", header=headers["X-Backoffice-Signature"], body=body)
    assert not webhook_signature_is_valid(secret="wrong", header=headers["X-Backoffice-Signature"], body=body)
    assert json.loads(body)["order"]["status"] == "released"
    assert WebhookDelivery.objects.filter(status="delivered").count() == 1
    # a failing receiver: the delivery stays pending with a next attempt, then succeeds
    _Receiver.status = 500
    order = Order.objects.get()
    order_hold_add(order_id=order.pk, reason="manual")
    failed = WebhookDelivery.objects.get(event="order.status_changed")
    assert (failed.status, failed.attempts, failed.last_status_code) == ("pending", 1, 500)
    assert failed.next_attempt_at > timezone.now()
    _Receiver.status = 200
    assert webhook_deliver(delivery_id=failed.pk).status == "delivered"


# --- inbox -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rejected_post_is_processed_again_after_the_cause_is_fixed(shop):
    from catalog.tests.factories import ProductFactory
    from orders.api.intake import order_inbox_reprocess

    body = order_body(lines=[{"sku": "NEW-SKU", "quantity": 1, "unit_price": "9.95"}])
    assert shop.post(URL, body, format="json").status_code == 400
    inbox = OrderInbox.objects.get()
    assert inbox.result == "rejected"
    ProductFactory(sku="NEW-SKU")  # the product was missing from the catalog
    result = order_inbox_reprocess(inbox_id=inbox.pk, actor=UserFactory())
    assert result.result == "created" and result.order.external_reference == "WS-10001"
    with pytest.raises(Conflict):
        order_inbox_reprocess(inbox_id=inbox.pk)


# --- amounts ---------------------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=2000, places=2)


@given(
    lines=st.lists(
        st.tuples(amounts, st.integers(1, 20), st.sampled_from([Decimal(21), Decimal(9), Decimal(0)])),
        min_size=1,
        max_size=8,
    ),
    shipping=amounts,
)
def test_order_amounts_reconcile_to_the_cent(lines, shipping):
    items = [
        LineAmounts(unit_price=p, quantity=q, discount=(p * q / 3).quantize(Decimal("0.01")), vat_rate=r)
        for p, q, r in lines
    ]
    result = order_amounts(items, shipping)
    assert result.total == result.goods - result.discount + result.shipping
    assert sum(row.gross for row in result.breakdown.values()) == result.total
    assert sum(row.vat for row in result.breakdown.values()) == result.vat
    assert all(row.vat >= 0 and row.net >= 0 for row in result.breakdown.values())


@given(
    amount=amounts, weights=st.dictionaries(st.sampled_from([Decimal(21), Decimal(9), Decimal(0)]), amounts, min_size=1)
)
def test_shipping_split_adds_up(amount, weights):
    assert sum(split_over_rates(amount, weights).values()) == amount
