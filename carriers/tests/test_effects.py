"""What the customer and the shop see: mails when shipped, delivered and waiting at a
pickup point (in the customer's language), and the shop's webhook."""

import datetime

import pytest
from django.core import mail

from carriers.models import ShipmentNotification
from carriers.services.notifications import shipment_mail_send
from carriers.statuses import ShipmentStatus as S
from carriers.tests.conftest import announced_now, code_for, first_event, life_cycle, ship, sim_poll
from core.models import OutboxMessage
from customers.services import customer_update
from orders.models import WebhookDelivery

MINUTE = datetime.timedelta(minutes=1)


def parcel_mails() -> list:
    """The mails of this app (other apps mail too when a parcel ships, e.g. the invoice)."""
    return [m for m in mail.outbox if m.extra_headers.get("X-Backoffice-Template", "").startswith("carriers/")]


def html_of(message) -> str:
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return html


@pytest.mark.django_db
def test_the_shipping_mail_has_the_tracking_link_in_dutch(make_order, django_capture_on_commit_callbacks):
    # given
    order = make_order(1)
    code = code_for("delivered", announced_now())

    # when the parcel ships (the mail goes through the outbox after commit)
    with django_capture_on_commit_callbacks(execute=True):
        shipment = ship(order, code)

    # then
    (message,) = parcel_mails()
    assert message.to == [order.email]
    assert message.subject == f"Je bestelling {order.number} is onderweg"
    assert message.extra_headers["Content-Language"] == "nl"
    assert message.extra_headers["X-Backoffice-Template"] == "carriers/mail/shipment_shipped"
    url = f"https://jouw.postnl.nl/track-and-trace/{code}-NL-3511AB?language=nl"
    assert url in message.body
    assert "Hallo An," in message.body
    assert "1 × " in message.body and "PostNL" in message.body
    assert f'href="{url}"' in html_of(message)
    assert ShipmentNotification.objects.get(shipment=shipment, kind="shipped").sent_at is not None
    assert OutboxMessage.objects.filter(task_name="documents.shipment_mail", sent_at__isnull=False).count() == 1


@pytest.mark.django_db
def test_an_english_customer_gets_english_mails(make_order, django_capture_on_commit_callbacks):
    # given a customer who reads English
    order = make_order(1)
    customer_update(customer_id=order.customer_id, actor=None, language="en")
    announced = announced_now()
    code = code_for("delivered", announced)
    with django_capture_on_commit_callbacks(execute=True):
        ship(order, code)
    delivered = life_cycle(code)[-1]

    # when the parcel is delivered
    with django_capture_on_commit_callbacks(execute=True):
        sim_poll(delivered.occurred_at + MINUTE)

    # then both mails are in English
    shipped, arrived = parcel_mails()
    assert shipped.subject == f"Your order {order.number} is on its way"
    assert "language=en" in shipped.body
    assert arrived.subject == f"Your parcel for order {order.number} has been delivered"
    assert "was delivered on" in arrived.body
    assert arrived.extra_headers["Content-Language"] == "en"
    assert "Hello An," in html_of(arrived)


@pytest.mark.django_db
def test_the_delivered_mail_is_dutch_and_sent_once(make_order, django_capture_on_commit_callbacks):
    # given a shipped parcel
    order = make_order(1)
    code = code_for("delivered", announced_now())
    shipment = ship(order, code)
    last = life_cycle(code)[-1]

    # when it is delivered
    with django_capture_on_commit_callbacks(execute=True):
        sim_poll(last.occurred_at + MINUTE)

    # then
    (message,) = parcel_mails()
    assert message.subject == f"Je pakket voor bestelling {order.number} is bezorgd"
    assert "is bezorgd op" in message.body
    notice = ShipmentNotification.objects.get(shipment=shipment, kind="delivered")
    assert (notice.recipient, notice.language) == (order.email, "nl")
    # and a second run of the mail task (a lost worker, a drained outbox) sends nothing
    assert shipment_mail_send(shipment_id=shipment.pk, kind="delivered") is False
    assert len(parcel_mails()) == 1


@pytest.mark.django_db
def test_a_parcel_held_at_a_pickup_point_mails_where_to_collect_it(make_order, django_capture_on_commit_callbacks):
    # given a parcel that will go to a pickup point after a failed attempt
    order = make_order(1)
    code = code_for("failed_then_pickup_point", announced_now())
    shipment = ship(order, code)
    at_point = first_event(code, "AT_PICKUP_POINT")

    # when the poller sees it at the pickup point
    with django_capture_on_commit_callbacks(execute=True):
        sim_poll(at_point.occurred_at + MINUTE)

    # then
    shipment.refresh_from_db()
    assert shipment.status == S.AT_PICKUP_POINT
    assert shipment.delivered_at is None  # not collected yet: the withdrawal period has not started
    (message,) = parcel_mails()
    assert message.subject == f"Je pakket voor bestelling {order.number} ligt klaar bij een afhaalpunt"
    assert at_point.location in message.body
    assert at_point.location in html_of(message)


@pytest.mark.django_db
def test_the_shop_gets_a_webhook_for_each_status_change(make_order, channel):
    # given a channel with a webhook
    channel.webhook_url = "https://shop.example.nl/hooks"
    channel.webhook_secret = "s3cret"
    channel.save(update_fields=["webhook_url", "webhook_secret"])
    order = make_order(1)
    code = code_for("delivered", announced_now())
    ship(order, code)
    sorted_at = first_event(code, "SORTED").occurred_at

    # when the poller sees it in transit
    sim_poll(sorted_at + MINUTE)

    # then
    (delivery,) = WebhookDelivery.objects.filter(event="shipment.status_changed")
    data = delivery.payload["data"]
    assert (data["from"], data["to"]) == (S.PRE_TRANSIT, S.IN_TRANSIT)
    assert data["tracking_code"] == code
    assert data["tracking_url"].startswith("https://jouw.postnl.nl/")
    assert data["carrier_status_code"] == "SORTED"
    assert data["occurred_at"] == sorted_at.isoformat()
    assert delivery.payload["order"]["number"] == order.number
    assert OutboxMessage.objects.filter(task_name="orders.webhook_deliver", kwargs__delivery_id=delivery.pk).exists()
