"""Track & trace results reach the order here, and only here.

The carriers app polls the carriers and stores their events; when parcels' normalised
statuses change it calls `shipments_tracking_apply` with a carrier batch of changes (or
`shipment_tracking_apply` with one), which, in one transaction: locks the orders and then
the shipments (the house lock order, each in id order), sets each shipment's status and
`delivered_at` (the day the withdrawal period starts), writes the order events, refreshes
the derived status of each affected order once (`delivered` once every parcel is), tells
the shop (webhook `shipment.status_changed`) and queues the customer's mail (delivered, or
waiting at a pickup point) — in a fixed number of queries whatever the number of parcels.
The shipping mail itself follows `shipment_create` (a SHIPMENT_HOOK of the carriers app).
"""

import dataclasses
import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from carriers.statuses import STATUS_VALUES, ShipmentStatus, is_final
from core.db import rows_update
from core.exceptions import ApplicationError, InvalidTransition, NotFound
from core.services import outbox_enqueue_many
from orders.events import OrderEventKind, order_event_build, order_events_create
from orders.exceptions import ShipmentInvalid
from orders.locks import order_qs_for_update
from orders.models import Fulfilment, Shipment
from orders.services.status import orders_status_refresh
from orders.services.webhooks import webhooks_enqueue

# The customer gets a mail when the parcel reaches one of these (the task lives in carriers).
MAIL_TASK = "documents.shipment_mail"
MAILED_STATUSES = frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.AT_PICKUP_POINT})


def shipment_qs_for_update() -> QuerySet[Shipment]:
    return Shipment.objects.select_for_update(of=("self",)).order_by("pk")


@dataclasses.dataclass(frozen=True, slots=True)
class TrackingChange:
    """The carrier says the parcel is now `status` (delivered at `delivered_at`); `event`
    describes the carrier event behind it (occurred_at, description, location,
    carrier_status_code) for the order event and the webhook."""

    shipment_id: int
    status: str
    delivered_at: datetime.datetime | None = None
    event: dict | None = None


@dataclasses.dataclass(slots=True)
class TrackingApplied:
    """What became of one change: `changed` when the shipment took the new status,
    `error` when it was refused (the shipment kept `status`, None when it does not exist)."""

    shipment_id: int
    status: str | None
    changed: bool = False
    error: ApplicationError | None = None
    shipment: Shipment | None = None


def _checked_delivered_at(status: str, delivered_at: datetime.datetime | None) -> datetime.datetime | None:
    if status not in STATUS_VALUES:
        raise ShipmentInvalid(_("Unknown shipment status %(status)s.") % {"status": status}, attr="status")
    if status != ShipmentStatus.DELIVERED:
        return None
    if delivered_at is None:
        raise ShipmentInvalid(_("A delivered parcel needs the moment of delivery."), attr="delivered_at")
    if delivered_at.tzinfo is None or delivered_at.utcoffset() is None:
        raise ShipmentInvalid(_("The moment of delivery must include its time zone."), attr="delivered_at")
    return delivered_at


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
    keeps its final status (InvalidTransition)."""
    _checked_delivered_at(status, delivered_at)  # invalid input fails before anything is read
    change = TrackingChange(shipment_id=shipment_id, status=status, delivered_at=delivered_at, event=event)
    (applied,) = shipments_tracking_apply(changes=[change], actor=actor)
    if applied.error is not None:
        raise applied.error
    return applied.shipment


def shipments_tracking_apply(*, changes: list[TrackingChange], actor=None) -> list[TrackingApplied]:
    """Apply a batch of carrier status changes in one transaction (see the module
    docstring); one result per change, in order. A change that is refused (unknown status,
    no moment of delivery, a parcel already final, an unknown shipment) is reported in its
    result and does not stop the others."""
    results = [TrackingApplied(shipment_id=change.shipment_id, status=None) for change in changes]
    if not changes:
        return results
    with transaction.atomic():
        shipment_ids = {change.shipment_id for change in changes}
        parcel_orders = Fulfilment.objects.filter(shipments__pk__in=shipment_ids).values("order_id")
        orders = {
            order.pk: order for order in order_qs_for_update().select_related("channel").filter(pk__in=parcel_orders)
        }
        shipments = {
            shipment.pk: shipment
            for shipment in shipment_qs_for_update().select_related("fulfilment").filter(pk__in=shipment_ids)
        }
        now = timezone.now()
        changed: dict[int, Shipment] = {}
        events = []
        webhooks: list[tuple] = []  # (order, data) of each shipment's change, in order
        mails: list[tuple[str, dict]] = []
        reasons: dict[int, str] = {}
        for change, result in zip(changes, results, strict=True):
            shipment = shipments.get(change.shipment_id)
            if shipment is None:
                result.error = NotFound(_("Shipment not found."))
                continue
            result.shipment, result.status = shipment, shipment.status
            try:
                delivered_at = _checked_delivered_at(change.status, change.delivered_at)
            except ShipmentInvalid as exc:
                result.error = exc
                continue
            if shipment.status == change.status:
                continue
            if is_final(shipment.status):
                result.error = InvalidTransition(
                    _("The parcel is already %(status)s; its status does not change any more.")
                    % {"status": shipment.get_status_display()},
                    extra={"from": shipment.status, "to": change.status},
                )
                continue
            old_status = shipment.status
            shipment.status = result.status = change.status
            shipment.delivered_at = delivered_at
            shipment.updated_at = now
            result.changed = True
            changed[shipment.pk] = shipment
            order = orders[shipment.fulfilment.order_id]
            details = {
                "fulfilment": shipment.fulfilment.code,
                "carrier": shipment.carrier,
                "tracking_code": shipment.tracking_code,
                "tracking_url": shipment.tracking_url,
                "delivered_at": delivered_at.isoformat() if delivered_at else None,
                **_event_details(change.event),
            }
            events.append(
                order_event_build(
                    order=order,
                    kind=OrderEventKind.SHIPMENT_STATUS,
                    actor=actor,
                    from_status=old_status,
                    to_status=change.status,
                    data=details,
                )
            )
            webhooks.append((order, {"from": old_status, "to": change.status, **details}))
            reasons[order.pk] = f"shipment:{shipment.tracking_code}"
            if change.status in MAILED_STATUSES:
                mails.append((MAIL_TASK, {"shipment_id": shipment.pk, "kind": change.status}))
        if not changed:
            return results
        rows_update(
            Shipment,
            fields=["status", "delivered_at", "updated_at"],
            rows=[(s.pk, s.status, s.delivered_at, s.updated_at) for s in changed.values()],
        )
        affected = [orders[order_id] for order_id in sorted(reasons)]
        events += orders_status_refresh(orders=affected, actor=actor, reasons=reasons)
        order_events_create(events)
        webhooks_enqueue(items=[(order, "shipment.status_changed", data) for order, data in webhooks])
        outbox_enqueue_many(mails)
    return results


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
