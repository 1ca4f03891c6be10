from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from carriers.statuses import ShipmentStatus
from core.audit import audit_history
from core.models import SalesChannel, TimeStampedModel
from orders.states import FulfilmentStatus, OrderStatus, PaymentMethod, SlaStatus

ZERO = Decimal("0.00")


def _money(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, default=ZERO, **kwargs)


class OrderAddress(models.Model):
    """An address as it was on the order (a snapshot, never the customer's address book)."""

    class Kind(models.TextChoices):
        BILLING = "billing", _("Billing")
        SHIPPING = "shipping", _("Shipping")

    order = models.ForeignKey("Order", on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200, blank=True)
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    street = models.CharField(_("street"), max_length=200)
    house_number = models.CharField(_("house number"), max_length=10)
    house_number_addition = models.CharField(_("addition"), max_length=10, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=12)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2)
    is_current = models.BooleanField(_("current"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = audit_history()

    class Meta:
        verbose_name = _("order address")
        verbose_name_plural = _("order addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind"], condition=Q(is_current=True), name="orderaddress_one_current_per_kind"
            ),
        ]
        indexes = [
            # postcode + house number search, and the "many orders to one address" check by time
            models.Index(fields=["postal_code", "house_number", "created_at"], name="orderaddress_postcode_time_idx"),
        ]

    def __str__(self) -> str:
        number = self.house_number + (f"-{self.house_number_addition}" if self.house_number_addition else "")
        return f"{self.street} {number}, {self.postal_code} {self.city} ({self.country})"

    @property
    def identity_key(self) -> str:
        """The same place however it was typed: for 'new address' and 'many orders to one
        address' checks."""
        return "|".join(
            [
                self.country,
                self.postal_code.replace(" ", "").upper(),
                self.house_number.strip(),
                self.house_number_addition.replace(" ", "").upper(),
            ]
        )


class Order(TimeStampedModel):
    channel = models.ForeignKey(SalesChannel, verbose_name=_("sales channel"), on_delete=models.PROTECT)
    number = models.CharField(_("order number"), max_length=32, unique=True)
    external_reference = models.CharField(_("external reference"), max_length=64)
    request_fingerprint = models.CharField(max_length=64, editable=False)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders"
    )
    email = models.EmailField(_("e-mail address"), db_index=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    customer_type = models.CharField(_("customer type"), max_length=10, default="consumer")
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    placed_at = models.DateTimeField(_("placed at"), db_index=True)
    promised_ship_date = models.DateField(_("promised ship date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.AWAITING_PAYMENT, db_index=True
    )
    hold_reasons = models.JSONField(_("hold reasons"), default=list, blank=True)
    fraud_signals = models.JSONField(_("fraud signals"), default=list, blank=True)
    goods_amount = _money(_("goods"))
    discount_amount = _money(_("discount"))
    shipping_amount = _money(_("shipping"))
    vat_amount = _money(_("VAT"))
    total_amount = _money(_("total"))
    payment_method = models.CharField(_("payment method"), max_length=20, choices=PaymentMethod.choices)
    payment_provider = models.CharField(_("payment provider"), max_length=40, blank=True)
    payment_provider_reference = models.CharField(_("provider reference"), max_length=128, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=16, unique=True)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancellation"), max_length=255, blank=True)

    history = audit_history(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_reference"], name="order_unique_external_reference"),
        ]
        indexes = [
            models.Index(fields=["channel", "updated_at", "id"], name="order_channel_updated_idx"),
            models.Index(fields=["status", "placed_at"], name="order_status_placed_idx"),
            models.Index(fields=["external_reference"], name="order_external_reference_idx"),
        ]
        permissions = [
            ("review_fraud", _("Can release or cancel orders held for fraud review")),
            ("approve_address_change", _("Can approve a shipping address change after placement")),
            ("approve_hold_release", _("Can approve releasing a high-value fraud hold")),
            ("cancel_order", _("Can cancel orders")),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_cleared(self) -> bool:
        return self.cleared_at is not None

    def _current_address(self, kind: str) -> "OrderAddress | None":
        cached = getattr(self, "_prefetched_objects_cache", {}).get("addresses")
        rows = cached if cached is not None else self.addresses.filter(kind=kind, is_current=True)
        return next((a for a in rows if a.kind == kind and a.is_current), None)

    @property
    def billing_address(self) -> "OrderAddress | None":
        return self._current_address(OrderAddress.Kind.BILLING)

    @property
    def shipping_address(self) -> "OrderAddress | None":
        return self._current_address(OrderAddress.Kind.SHIPPING)


class OrderLine(models.Model):
    """What was bought, with the product data, price, discount and VAT actually charged:
    no later change of the catalog alters what a refund credits."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField(_("line"))
    product = models.ForeignKey("catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT)
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    ean = models.CharField(_("EAN"), max_length=14, blank=True)
    storage_kind = models.CharField(_("storage kind"), max_length=10)
    weight_grams = models.PositiveIntegerField(_("weight (g)"), default=0)
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=5, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = _money(_("unit price (incl. VAT)"))
    discount_amount = _money(_("discount (incl. VAT)"))
    total_amount = _money(_("line total (incl. VAT)"))
    vat_amount = _money(_("VAT"))
    quantity_shipped = models.PositiveIntegerField(_("shipped"), default=0)
    quantity_backordered = models.PositiveIntegerField(_("backordered"), default=0)
    quantity_cancelled = models.PositiveIntegerField(_("cancelled"), default=0)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order_id", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="orderline_unique_number"),
            models.CheckConstraint(name="orderline_quantity_positive", condition=Q(quantity__gte=1)),
            models.CheckConstraint(
                name="orderline_quantities_within",
                condition=Q(quantity_shipped__lte=models.F("quantity"))
                & Q(quantity_backordered__lte=models.F("quantity")),
            ),
        ]
        indexes = [
            models.Index(
                fields=["product", "order"], condition=Q(quantity_backordered__gt=0), name="orderline_backorder_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class Fulfilment(TimeStampedModel):
    """The part of an order one location ships."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fulfilments")
    code = models.CharField(_("code"), max_length=40, unique=True)
    location = models.ForeignKey("inventory.Location", verbose_name=_("location"), on_delete=models.PROTECT)
    status = models.CharField(
        _("status"), max_length=10, choices=FulfilmentStatus.choices, default=FulfilmentStatus.WAITING, db_index=True
    )
    promised_ship_date = models.DateField(_("promised ship date"), null=True, blank=True, db_index=True)
    sla_status = models.CharField(
        _("service level"), max_length=10, choices=SlaStatus.choices, default=SlaStatus.ON_TRACK, db_index=True
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    picked_at = models.DateTimeField(_("picked at"), null=True, blank=True)
    packed_at = models.DateTimeField(_("packed at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("fulfilment")
        verbose_name_plural = _("fulfilments")
        ordering = ["order_id", "id"]
        indexes = [
            models.Index(fields=["location", "status", "promised_ship_date"], name="fulfilment_worklist_idx"),
        ]

    def __str__(self) -> str:
        return self.code


class FulfilmentLine(models.Model):
    fulfilment = models.ForeignKey(Fulfilment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="fulfilment_lines")
    stock = models.ForeignKey("inventory.Stock", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    quantity_shipped = models.PositiveIntegerField(_("shipped"), default=0)

    class Meta:
        verbose_name = _("fulfilment line")
        verbose_name_plural = _("fulfilment lines")
        constraints = [
            models.CheckConstraint(
                name="fulfilmentline_shipped_within", condition=Q(quantity_shipped__lte=models.F("quantity"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_line.sku} × {self.quantity}"


class Shipment(TimeStampedModel):
    """One parcel with a carrier and a tracking code."""

    fulfilment = models.ForeignKey(Fulfilment, on_delete=models.PROTECT, related_name="shipments")
    carrier = models.CharField(_("carrier"), max_length=30)
    tracking_code = models.CharField(_("tracking code"), max_length=64)
    tracking_url = models.URLField(_("tracking URL"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.PRE_TRANSIT, db_index=True
    )
    shipped_at = models.DateTimeField(_("shipped at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    packed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("packed by"), null=True, blank=True, on_delete=models.PROTECT
    )
    packed_by_label = models.CharField(_("packed by (label)"), max_length=120, blank=True)
    weight_grams = models.PositiveIntegerField(_("parcel weight (g)"), null=True, blank=True)
    expected_weight_grams = models.PositiveIntegerField(_("expected weight (g)"), default=0)
    weight_flagged = models.BooleanField(_("weight far off"), default=False, db_index=True)
    postal_code = models.CharField(_("destination postal code"), max_length=12, blank=True)
    country = models.CharField(_("destination country"), max_length=2, blank=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-shipped_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "tracking_code"], name="shipment_unique_tracking"),
        ]
        indexes = [models.Index(fields=["tracking_code"], name="shipment_tracking_idx")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_code}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    fulfilment_line = models.ForeignKey(FulfilmentLine, on_delete=models.PROTECT, related_name="shipment_lines")
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")

    def __str__(self) -> str:
        return f"{self.fulfilment_line_id} × {self.quantity}"


class OrderEvent(models.Model):
    """Every state change of an order, its fulfilments and shipments: who, when, from, to,
    why. The helpdesk timeline is built from these rows."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=40, db_index=True)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT
    )
    actor_label = models.CharField(_("by (label)"), max_length=120, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status}→{self.to_status}"


class OrderInbox(models.Model):
    """Every order post as it arrived, written before it is processed, so a rejected or
    failed order is never lost; staff can re-process it."""

    class Result(models.TextChoices):
        RECEIVED = "received", _("Received, not processed")
        CREATED = "created", _("Order created")
        DUPLICATE = "duplicate", _("Repeat of an existing order")
        CONFLICT = "conflict", _("Different body for an existing order")
        REJECTED = "rejected", _("Rejected (invalid)")
        FAILED = "failed", _("Failed (error)")

    channel = models.ForeignKey(SalesChannel, verbose_name=_("sales channel"), on_delete=models.PROTECT)
    external_reference = models.CharField(_("external reference"), max_length=64, blank=True, db_index=True)
    body = models.TextField(_("raw body"))
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    result = models.CharField(
        _("result"), max_length=10, choices=Result.choices, default=Result.RECEIVED, db_index=True
    )
    errors = models.JSONField(_("errors"), default=list, blank=True)
    order = models.ForeignKey(
        Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.SET_NULL, related_name="inbox"
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("order inbox entry")
        verbose_name_plural = _("order inbox")
        ordering = ["-received_at", "-id"]
        permissions = [("reprocess_orderinbox", _("Can re-process order inbox entries"))]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.external_reference or '?'} ({self.result})"


class FraudBlock(models.Model):
    """An identity that may not order without review: an e-mail address, a delivery
    address or an IBAN."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("E-mail address")
        ADDRESS = "address", _("Address")
        IBAN = "iban", _("IBAN")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    value = models.CharField(
        _("value"),
        max_length=200,
        help_text=_("E-mail or IBAN as is; an address as COUNTRY|POSTCODE|NUMBER|ADDITION, e.g. NL|3511AB|12|A."),
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = audit_history()

    class Meta:
        verbose_name = _("blocked identity")
        verbose_name_plural = _("blocked identities")
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="fraudblock_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class WebhookDelivery(models.Model):
    """One event posted to a sales channel's webhook, with its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Gave up")

    channel = models.ForeignKey(SalesChannel, verbose_name=_("sales channel"), on_delete=models.PROTECT)
    order = models.ForeignKey(Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.CASCADE)
    event = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, db_index=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} → {self.channel_id} ({self.status})"
