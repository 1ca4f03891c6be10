import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.audit import audit_history, audit_register


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        abstract = True


class User(AbstractUser):
    """A staff member (or the owner of a staff API key). Roles are groups (core.roles)."""

    # Role and permission changes are traced through the m2m history; the password hash
    # never goes into a history table and a login does not make a row.
    history = audit_history(excluded_fields=["password", "last_login"], m2m_fields=["groups", "user_permissions"])

    class Meta:
        verbose_name = _("staff user")
        verbose_name_plural = _("staff users")
        permissions = [
            ("view_dashboard", _("Can view the management dashboard")),
        ]

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username


class SalesChannel(TimeStampedModel):
    """A webshop, marketplace or physical store that sells; owns its orders, prices,
    cut-off and API keys."""

    class Kind(models.TextChoices):
        WEBSHOP = "webshop", _("Webshop")
        MARKETPLACE = "marketplace", _("Marketplace")
        STORE = "store", _("Physical store")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.WEBSHOP)
    cutoff_time = models.TimeField(
        _("cut-off time"),
        default=datetime.time(16, 0),
        help_text=_("Orders placed before this time (Europe/Amsterdam) on a business day ship the same day."),
    )
    partial_shipments = models.BooleanField(
        _("partial shipments"),
        default=True,
        help_text=_("Ship what is in stock now and the backorder later; otherwise the whole order waits."),
    )
    order_number_prefix = models.CharField(
        _("order number prefix"), max_length=8, default="WEB", help_text=_("Order numbers read PREFIX-YEAR-NUMBER.")
    )
    webhook_url = models.URLField(_("webhook URL"), blank=True, help_text=_("Order events are posted here."))
    webhook_secret = models.CharField(
        _("webhook secret"), max_length=128, blank=True, help_text=_("Key for the HMAC-SHA256 signature.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    history = audit_history(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("sales channel")
        verbose_name_plural = _("sales channels")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ApiKey(models.Model):
    """A key for one API client: a sales channel, a location or a staff user.

    Only a SHA-256 hash of the key is stored; the key itself is shown once when made.
    The key is 256 bits of randomness, so a plain hash is as strong as a slow one here and
    lets every request find its key with one indexed lookup.
    """

    class Kind(models.TextChoices):
        CHANNEL = "channel", _("Sales channel")
        LOCATION = "location", _("Location")
        STAFF = "staff", _("Staff user")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    prefix = models.CharField(_("prefix"), max_length=16, db_index=True, help_text=_("The visible start of the key."))
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    channel = models.ForeignKey(
        SalesChannel, verbose_name=_("sales channel"), null=True, blank=True, on_delete=models.PROTECT
    )
    location = models.ForeignKey(
        "inventory.Location", verbose_name=_("location"), null=True, blank=True, on_delete=models.PROTECT
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_keys",
    )
    rate_limit = models.CharField(
        _("rate limit"), max_length=20, blank=True, help_text=_("E.g. 600/min; empty uses the default.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    history = audit_history(excluded_fields=["last_used_at"])

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="apikey_owner_matches_kind",
                condition=(
                    Q(kind="channel", channel__isnull=False, location__isnull=True, user__isnull=True)
                    | Q(kind="location", channel__isnull=True, location__isnull=False, user__isnull=True)
                    | Q(kind="staff", channel__isnull=True, location__isnull=True, user__isnull=False)
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class OutboxMessage(models.Model):
    """Work for a Celery worker, written in the same transaction as the change that causes
    it. Published after commit; what the broker did not take (Redis down) stays here and
    is drained when the broker is back, so no queued work is lost."""

    task_name = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True), name="outbox_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} #{self.pk}"


class ClosedDay(models.Model):
    """A staff-maintained exception to the business calendar: an extra day off (a
    warehouse inventory day) or a day that is open although the calendar says it is not."""

    class Purpose(models.TextChoices):
        WAREHOUSE = "warehouse", _("Warehouse (shipping days)")
        CARRIER = "carrier", _("Carrier (delivery days)")
        LETTERS = "letters", _("Letters (legal terms)")

    date = models.DateField(_("date"))
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    closed = models.BooleanField(_("closed"), default=True, help_text=_("Unticked: open although usually closed."))
    description = models.CharField(_("description"), max_length=200, blank=True)

    history = audit_history()

    class Meta:
        verbose_name = _("calendar exception")
        verbose_name_plural = _("calendar exceptions")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["date", "purpose"], name="closedday_unique_date_purpose")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_purpose_display()}"


class ApprovalRequest(models.Model):
    """A sensitive action waiting for a second staff member (four eyes).

    The action is named by a registered key (core.approvals); its arguments are the
    payload. The decider must be another person than the requester and hold the action's
    permission; an approved action runs once, in its own transaction."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved, not yet run")
        EXECUTED = "executed", _("Approved and done")
        FAILED = "failed", _("Approved, but failed")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    action = models.CharField(_("action"), max_length=80, db_index=True)
    summary = models.CharField(_("summary"), max_length=255)
    reason = models.TextField(_("reason"), blank=True)
    payload = models.JSONField(_("details"), default=dict)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, null=True, blank=True)
    subject_type = models.ForeignKey(
        "contenttypes.ContentType", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject_id = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("note with the decision"), blank=True)
    executed_at = models.DateTimeField(_("executed at"), null=True, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["subject_type", "subject_id", "status"], name="approval_subject_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "subject_type", "subject_id"],
                condition=Q(status="pending") & ~Q(subject_id=""),
                name="approval_one_pending_per_subject",
            ),
            models.CheckConstraint(
                name="approval_decider_is_not_requester",
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.summary} ({self.get_status_display()})"


class BusinessRule(models.Model):
    """A staff-editable, dated threshold or amount (a fraud limit, the refund amount that
    needs a second person, …). The value valid at a moment is the row with the latest
    `valid_from` not after it; without rows the coded default applies (core.rules)."""

    key = models.CharField(_("rule"), max_length=80, db_index=True)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=4)
    valid_from = models.DateTimeField(_("valid from"))
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("business rule")
        verbose_name_plural = _("business rules")
        ordering = ["key", "-valid_from"]
        constraints = [models.UniqueConstraint(fields=["key", "valid_from"], name="businessrule_unique_key_from")]

    def __str__(self) -> str:
        return f"{self.key} = {self.value.normalize()} ({self.valid_from:%Y-%m-%d})"


# Ad-hoc groups (the role groups are set by core.roles) carry permissions too: trace them.
audit_register(Group, app="core", m2m_fields=["permissions"])
