"""The customer's mails about a parcel: shipped (with the tracking link), delivered, and
waiting at a pickup point, in the customer's language.

Queued through the outbox (task `documents.shipment_mail`) by the shipment's transaction
(shipped: the SHIPMENT_HOOK below) or by `orders.services.tracking.shipments_tracking_apply`
(delivered, at a pickup point). Each mail goes out at most once per parcel and kind: a
ShipmentNotification row is claimed before sending and marked sent after, so a task run
twice (a lost worker, a drained outbox) does not mail twice; a send that failed releases
the claim for the retry.
"""

import datetime
import logging

from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from carriers.exceptions import CarrierError
from carriers.models import ShipmentEvent, ShipmentNotification
from carriers.registry import CARRIER_NAMES, get_adapter
from carriers.services.tracking import tracking_state_start
from core.exceptions import ApplicationError
from core.mail import mail_language, mail_send
from core.services import outbox_enqueue
from orders.models import Shipment, ShipmentLine
from orders.services.tracking import MAIL_TASK

logger = logging.getLogger(__name__)

Kind = ShipmentNotification.Kind
CLAIM_TIMEOUT = datetime.timedelta(minutes=15)
TEMPLATES = {
    Kind.SHIPPED: "carriers/mail/shipment_shipped",
    Kind.DELIVERED: "carriers/mail/shipment_delivered",
    Kind.AT_PICKUP_POINT: "carriers/mail/shipment_at_pickup_point",
}
SUBJECTS = {
    Kind.SHIPPED: _("Your order %(number)s is on its way"),
    Kind.DELIVERED: _("Your parcel for order %(number)s has been delivered"),
    Kind.AT_PICKUP_POINT: _("Your parcel for order %(number)s is waiting at a pickup point"),
}


def shipment_shipped(*, shipment: Shipment, order, actor=None) -> None:
    """SHIPMENT_HOOK (inside the shipment's transaction): start tracking the parcel and
    queue the customer's shipping mail."""
    tracking_state_start(shipment=shipment, now=shipment.shipped_at)
    outbox_enqueue(MAIL_TASK, shipment_id=shipment.pk, kind=Kind.SHIPPED)


def _tracking_url(shipment: Shipment, language: str) -> str:
    try:
        return get_adapter(shipment.carrier).tracking_url(
            shipment.tracking_code,
            postal_code=shipment.postal_code or None,
            country=shipment.country or None,
            language=language,
        )
    except CarrierError:
        return shipment.tracking_url


def _context(shipment: Shipment, kind: str, language: str) -> dict:
    order = shipment.fulfilment.order
    lines = [
        {
            "name": line.fulfilment_line.order_line.name,
            "sku": line.fulfilment_line.order_line.sku,
            "quantity": line.quantity,
        }
        for line in ShipmentLine.objects.filter(shipment=shipment)
        .select_related("fulfilment_line__order_line")
        .order_by("fulfilment_line__order_line__line_number", "pk")
    ]
    event = None
    if kind != Kind.SHIPPED:
        event = ShipmentEvent.objects.filter(shipment=shipment, status=kind).order_by("-occurred_at", "-pk").first()
    return {
        "order_number": order.number,
        "first_name": order.first_name,
        "shop_name": order.channel.name,
        "carrier_name": CARRIER_NAMES.get(shipment.carrier, shipment.carrier),
        "tracking_code": shipment.tracking_code,
        "tracking_url": _tracking_url(shipment, language),
        "lines": lines,
        "delivered_at": shipment.delivered_at,
        "event_at": event.occurred_at if event else None,
        "location": event.location if event else "",
    }


def shipment_mail_send(*, shipment_id: int, kind: str, now: datetime.datetime | None = None) -> bool:
    """Send the customer's mail of `kind` for a parcel, once. Returns whether it was sent
    now (False: sent before, being sent by another worker, or the parcel is gone)."""
    if kind not in TEMPLATES:
        raise ApplicationError(f"No shipment mail of kind {kind!r}.", code="unknown_mail")
    now = now or timezone.now()
    shipment = (
        Shipment.objects.select_related("fulfilment__order__channel", "fulfilment__order__customer")
        .filter(pk=shipment_id)
        .first()
    )
    if shipment is None:
        logger.warning("shipment mail for a shipment that does not exist", extra={"shipment": shipment_id})
        return False
    notice, _created = ShipmentNotification.objects.get_or_create(shipment=shipment, kind=kind)
    claimed = (
        ShipmentNotification.objects.filter(pk=notice.pk, sent_at__isnull=True)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT))
        .update(claimed_at=now)
    )
    if not claimed:
        return False
    order = shipment.fulfilment.order
    language = mail_language(order.customer.language)
    try:
        context = _context(shipment, kind, language)
        with translation.override(language):
            subject = str(SUBJECTS[kind]) % {"number": order.number}
        mail_send(
            to=[order.email],
            subject=subject,
            template=TEMPLATES[kind],
            context=context,
            language=language,
            reply_to=[settings.SELLER["email"]] if getattr(settings, "SELLER", {}).get("email") else None,
        )
    except BaseException:
        ShipmentNotification.objects.filter(pk=notice.pk).update(claimed_at=None)
        raise
    ShipmentNotification.objects.filter(pk=notice.pk).update(
        sent_at=timezone.now(), recipient=order.email, language=language
    )
    return True
