"""Track & trace data: what the carriers said (events), how the poller follows each
parcel (its tracking state), which parcels need a person (the watch list) and which
customer mails went out.

The shipment itself (status, delivered_at) is orders' table and changes only through
`orders.services.tracking.shipments_tracking_apply`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from carriers.statuses import EVENT_KEY_LENGTH, ShipmentStatus
from core.audit import audit_history


class ShipmentEvent(models.Model):
    """One thing a carrier said happened to a parcel, normalised. Stored once: the key is
    built from what the carrier repeats identically (tracking code, its status code, the
    moment), so asking again adds nothing."""

    shipment = models.ForeignKey(
        "orders.Shipment", verbose_name=_("shipment"), on_delete=models.CASCADE, related_name="tracking_events"
    )
    status = models.CharField(_("status"), max_length=20, choices=ShipmentStatus.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    carrier_status_code = models.CharField(_("carrier's status code"), max_length=40)
    description = models.CharField(_("description"), max_length=500, blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    raw = models.JSONField(_("as the carrier sent it"), default=dict, blank=True)
    key = models.CharField(_("event key"), max_length=EVENT_KEY_LENGTH)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("shipment event")
        verbose_name_plural = _("shipment events")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "key"], name="shipmentevent_unique_key"),
        ]
        indexes = [
            models.Index(fields=["shipment", "occurred_at"], name="shipmentevent_timeline_idx"),
            models.Index(fields=["occurred_at"], name="shipmentevent_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.occurred_at:%Y-%m-%d %H:%M}"


class ShipmentTracking(models.Model):
    """How the poller follows one parcel: when to ask next, what it last saw, and why it
    stopped (a final status, or no news for too long)."""

    class StopReason(models.TextChoices):
        FINAL = "final", _("Final status reached")
        GIVEN_UP = "given_up", _("No news for too long (lost?)")
        NOT_FOUND = "not_found", _("The carrier never knew the tracking code")

    shipment = models.OneToOneField(
        "orders.Shipment",
        verbose_name=_("shipment"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="tracking",
    )
    # A copy of the shipment's carrier (it never changes), so the due parcels of one carrier
    # come from one index.
    carrier = models.CharField(_("carrier"), max_length=30)
    started_at = models.DateTimeField(_("tracked since"))
    next_poll_at = models.DateTimeField(_("next poll at"), null=True, blank=True)
    last_polled_at = models.DateTimeField(_("last answer at"), null=True, blank=True)
    last_event_at = models.DateTimeField(_("last scan at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("polls since the last scan"), default=0)
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    stop_reason = models.CharField(_("stopped because"), max_length=20, choices=StopReason.choices, blank=True)

    class Meta:
        verbose_name = _("tracking state")
        verbose_name_plural = _("tracking states")
        indexes = [
            models.Index(
                fields=["carrier", "next_poll_at", "shipment"],
                condition=Q(stopped_at__isnull=True),
                name="tracking_due_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="tracking_stopped_has_reason",
                condition=Q(stopped_at__isnull=True, stop_reason="")
                | (Q(stopped_at__isnull=False) & ~Q(stop_reason="")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} #{self.shipment_id}"


class CarrierFeedCursor(models.Model):
    """Up to when a carrier's change feed (PostNL's updatedshipments) has been read."""

    carrier = models.CharField(_("carrier"), max_length=30, primary_key=True)
    fetched_until = models.DateTimeField(_("read up to"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("change feed position")
        verbose_name_plural = _("change feed positions")

    def __str__(self) -> str:
        return f"{self.carrier} @ {self.fetched_until:%Y-%m-%d %H:%M}"


class TrackingIssue(models.Model):
    """A parcel that needs a person: it stopped moving, a delivery failed, it goes back
    to the shop, the carrier reports a problem, or it is probably lost. One open issue per
    parcel and kind; it closes when the parcel moves on or staff resolve it."""

    class Kind(models.TextChoices):
        STALLED = "stalled", _("No scan for days")
        DELIVERY_FAILED = "delivery_failed", _("Delivery failed")
        RETURNED_TO_SENDER = "returned_to_sender", _("Returned to sender")
        EXCEPTION = "exception", _("Problem at the carrier")
        LOST = "lost", _("Probably lost")

    class Resolution(models.TextChoices):
        MOVED_ON = "moved_on", _("The parcel moved on")
        DELIVERED = "delivered", _("Delivered")
        SUPERSEDED = "superseded", _("Reported as probably lost")
        STAFF = "staff", _("Resolved by staff")

    shipment = models.ForeignKey(
        "orders.Shipment", verbose_name=_("shipment"), on_delete=models.CASCADE, related_name="tracking_issues"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    opened_at = models.DateTimeField(_("opened at"))
    detail = models.JSONField(_("details"), default=dict, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.CharField(_("resolution"), max_length=20, choices=Resolution.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=255, blank=True)

    history = audit_history()

    class Meta:
        verbose_name = _("tracking issue")
        verbose_name_plural = _("tracking issues")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "kind"],
                condition=Q(resolved_at__isnull=True),
                name="trackingissue_one_open_per_kind",
            ),
        ]
        indexes = [
            models.Index(
                fields=["kind", "opened_at"], condition=Q(resolved_at__isnull=True), name="trackingissue_open_idx"
            ),
        ]
        permissions = [("resolve_trackingissue", _("Can resolve tracking issues"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.shipment_id}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class ShipmentNotification(models.Model):
    """A mail to the customer about a parcel (shipped, delivered, at a pickup point),
    sent at most once per parcel and kind."""

    class Kind(models.TextChoices):
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        AT_PICKUP_POINT = "at_pickup_point", _("At pickup point")

    shipment = models.ForeignKey(
        "orders.Shipment", verbose_name=_("shipment"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    recipient = models.EmailField(_("sent to"), blank=True)
    language = models.CharField(_("language"), max_length=5, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shipment mail")
        verbose_name_plural = _("shipment mails")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "kind"], name="shipmentnotification_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.shipment_id}"
