"""Track & trace results reach the order here, and only here.

The carriers app polls the carriers and stores their events; when a parcel's normalised
status changes it calls `shipment_tracking_apply`, which, in one transaction: locks the
order and then the shipment (the house lock order), sets the shipment's status and
`delivered_at` (the day the withdrawal period starts), writes the order event, refreshes
the derived order status (`delivered` once every parcel is), tells the shop (webhook
`shipment.status_changed`) and queues the customer's mail (delivered, or waiting at a
pickup point). The shipping mail itself follows `shipment_create` (a SHIPMENT_HOOK of the
carriers app).
"""

import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from carriers.statuses import STATUS_VALUES, ShipmentStatus, is_final
from core.exceptions import InvalidTransition, NotFound
from core.services import outbox_enqueue
from orders.events import OrderEventKind, order_event_build, order_events_create
from orders.exceptions import ShipmentInvalid
from orders.locks import order_qs_for_update
from orders.models import Shipment
from orders.services.status import order_status_refresh
from orders.services.webhooks import webhook_enqueue

# The customer gets a mail when the parcel reaches one of these (the task lives in carriers).
MAIL_TASK = "documents.shipment_mail"
MAILED_STATUSES = frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.AT_PICKUP_POINT})


def shipment_qs_for_update() -> QuerySet[Shipment]:
    return Shipment.objects.select_for_update(of=("self",)).order_by("pk")


def shipment_tracking_apply(
    *,
    shipment_id: int,
    status: str,
    delivered_at: datetime.datetime | None,
    actor=None,
    event: dict | None = None,
) -> Shipment:
    """The carrier says the parcel is now `status` (delivered at `delivered_at`).

    `event` describes the carrier event behind the change (occurred_at, description,
    location, carrier_status_code); it goes into the order event and the webhook. Applying
    the status the shipment already has changes nothing. A delivered or returned parcel
    keeps its final status."""
    if status not in STATUS_VALUES:
        raise ShipmentInvalid(_("Unknown shipment status %(status)s.") % {"status": status}, attr="status")
    if status == ShipmentStatus.DELIVERED:
        if delivered_at is None:
            raise ShipmentInvalid(_("A delivered parcel needs the moment of delivery."), attr="delivered_at")
        if delivered_at.tzinfo is None or delivered_at.utcoffset() is None:
            raise ShipmentInvalid(_("The moment of delivery must include its time zone."), attr="delivered_at")
    else:
        delivered_at = None
    with transaction.atomic():
        order_id = Shipment.objects.filter(pk=shipment_id).values_list("fulfilment__order_id", flat=True).first()
        if order_id is None:
            raise NotFound(_("Shipment not found."))
        order = order_qs_for_update().select_related("channel").get(pk=order_id)
        shipment = shipment_qs_for_update().select_related("fulfilment").get(pk=shipment_id)
        if shipment.status == status:
            return shipment
        if is_final(shipment.status):
            raise InvalidTransition(
                _("The parcel is already %(status)s; its status does not change any more.")
                % {"status": shipment.get_status_display()},
                extra={"from": shipment.status, "to": status},
            )
        old_status = shipment.status
        shipment.status = status
        shipment.delivered_at = delivered_at
        shipment.save(update_fields=["status", "delivered_at", "updated_at"])
        details = {
            "fulfilment": shipment.fulfilment.code,
            "carrier": shipment.carrier,
            "tracking_code": shipment.tracking_code,
            "tracking_url": shipment.tracking_url,
            "delivered_at": delivered_at.isoformat() if delivered_at else None,
            **_event_details(event),
        }
        events = [
            order_event_build(
                order=order,
                kind=OrderEventKind.SHIPMENT_STATUS,
                actor=actor,
                from_status=old_status,
                to_status=status,
                data=details,
            )
        ]
        events += order_status_refresh(order=order, actor=actor, reason=f"shipment:{shipment.tracking_code}")
        order_events_create(events)
        webhook_enqueue(
            order=order,
            event="shipment.status_changed",
            data={"from": old_status, "to": status, **details},
        )
        if status in MAILED_STATUSES:
            outbox_enqueue(MAIL_TASK, shipment_id=shipment.pk, kind=status)
    return shipment


def _event_details(event: dict | None) -> dict:
    if not event:
        return {}
    occurred_at = event.get("occurred_at")
    if isinstance(occurred_at, datetime.datetime):
        occurred_at = occurred_at.isoformat()
    return {
        "occurred_at": occurred_at,
        "carrier_status_code": str(event.get("carrier_status_code") or ""),
        "description": str(event.get("description") or ""),
        "location": str(event.get("location") or ""),
    }
