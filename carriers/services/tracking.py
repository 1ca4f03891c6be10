"""The tracking state of each parcel: started when it ships, stopped at a final status or
when the poller gives up, resumed by staff when a parcel turns up again."""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carriers.models import ShipmentTracking
from carriers.registry import get_adapter
from carriers.services.schedule import poll_plan
from carriers.statuses import FINAL_STATUSES
from core.audit import audited
from core.exceptions import Conflict, NotFound

BACKFILL_LIMIT = 5000


def tracking_state_start(*, shipment, now: datetime.datetime | None = None) -> ShipmentTracking:
    """Start following a new parcel (inside the shipment's transaction). Starting it again
    changes nothing."""
    now = now or timezone.now()
    plan = poll_plan(adapter=get_adapter(shipment.carrier), now=now)
    state, _created = ShipmentTracking.objects.get_or_create(
        shipment=shipment,
        defaults={
            "carrier": shipment.carrier,
            "started_at": now,
            "next_poll_at": plan.first_poll_at(now=now, shipment_id=shipment.pk),
        },
    )
    return state


def tracking_states_backfill(*, now: datetime.datetime | None = None, limit: int = BACKFILL_LIMIT) -> int:
    """Start following open parcels that have no tracking state (shipped before tracking
    existed, or written by a bulk import). Returns how many were started."""
    from orders.models import Shipment

    now = now or timezone.now()
    missing = list(
        Shipment.objects.filter(tracking__isnull=True)
        .exclude(status__in=FINAL_STATUSES)
        .order_by("pk")
        .values_list("pk", "carrier", "shipped_at")[:limit]
    )
    plans = {}
    rows = []
    for shipment_id, carrier, shipped_at in missing:
        if carrier not in plans:
            plans[carrier] = poll_plan(adapter=get_adapter(carrier), now=now)
        started = min(shipped_at, now)
        rows.append(
            ShipmentTracking(
                shipment_id=shipment_id,
                carrier=carrier,
                started_at=started,
                next_poll_at=max(plans[carrier].first_poll_at(now=started, shipment_id=shipment_id), now),
            )
        )
    ShipmentTracking.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows)


@transaction.atomic
def shipment_tracking_resume(*, shipment_id: int, actor=None, now: datetime.datetime | None = None) -> ShipmentTracking:
    """Staff: follow a parcel again that the poller gave up on (the carrier found it)."""
    now = now or timezone.now()
    state = ShipmentTracking.objects.select_for_update().filter(shipment_id=shipment_id).first()
    if state is None:
        raise NotFound(_("This parcel is not tracked."))
    if state.stopped_at is None:
        raise Conflict(_("This parcel is still being tracked."), code="tracking_active")
    if state.stop_reason == ShipmentTracking.StopReason.FINAL:
        raise Conflict(_("This parcel reached a final status; there is nothing left to track."), code="tracking_final")
    state.stopped_at = None
    state.stop_reason = ""
    state.started_at = now  # the give-up clock starts again
    state.attempts = 0
    state.next_poll_at = now
    with audited(actor):
        state.save(update_fields=["stopped_at", "stop_reason", "started_at", "attempts", "next_poll_at"])
    return state
