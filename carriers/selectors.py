"""Reads of track & trace shared by the admin, the dashboard and the helpdesk."""

from django.db.models import Count, QuerySet

from carriers.models import ShipmentEvent, TrackingIssue


def tracking_issue_counts() -> dict[str, int]:
    """Open watch-list issues per kind (every kind, zero included), for the dashboard."""
    counts = dict(
        TrackingIssue.objects.filter(resolved_at__isnull=True)
        .order_by()
        .values("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    return {kind: counts.get(kind, 0) for kind in TrackingIssue.Kind.values}


def tracking_issue_list(*, open_only: bool = True) -> QuerySet[TrackingIssue]:
    qs = TrackingIssue.objects.select_related("shipment__fulfilment__order", "resolved_by")
    if open_only:
        qs = qs.filter(resolved_at__isnull=True)
    return qs


def shipment_timeline(*, shipment_id: int) -> QuerySet[ShipmentEvent]:
    """What the carrier said about one parcel, newest first."""
    return ShipmentEvent.objects.filter(shipment_id=shipment_id).order_by("-occurred_at", "-id")
