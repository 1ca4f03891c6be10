from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel


class StorageKind(models.TextChoices):
    NORMAL = "normal", _("Normal")
    HANGING = "hanging", _("Hanging garments")
    SECURE = "secure", _("Secure (high value)")
    COOLED = "cooled", _("Cooled")
    BULKY = "bulky", _("Bulky")


class Location(TimeStampedModel):
    """A place that holds stock and ships: an own warehouse or an external fulfilment
    centre, with the storage kinds it handles."""

    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", _("Own warehouse")
        FULFILMENT_CENTRE = "fulfilment_centre", _("External fulfilment centre")
        STORE = "store", _("Store")

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.WAREHOUSE)
    storage_kinds = models.JSONField(
        _("storage kinds"), default=list, help_text=_("The storage kinds this location handles.")
    )
    cutoff_time = models.TimeField(_("cut-off time"), help_text=_("Orders released before this time ship today."))
    priority = models.PositiveSmallIntegerField(_("priority"), default=100, help_text=_("Lower is preferred."))
    street = models.CharField(_("street"), max_length=200, blank=True)
    house_number = models.CharField(_("house number"), max_length=10, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="NL")
    email = models.EmailField(_("e-mail address"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["priority", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def handles(self, storage_kind: str) -> bool:
        return storage_kind in self.storage_kinds


class Stock(models.Model):
    """Stock of one SKU at one location. `on_hand` is always the sum of the ledger's
    movements (`check_stock_ledger`); `reserved` is what fulfilments hold; what can be
    sold is on hand − reserved. Only inventory services change these counters."""

    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="stock"
    )
    location = models.ForeignKey(Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="stock")
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    safety_stock = models.PositiveIntegerField(_("safety stock"), default=0)
    reorder_point = models.PositiveIntegerField(_("reorder point"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        ordering = ["product_id", "location_id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "location"], name="stock_unique_product_location"),
            models.CheckConstraint(name="stock_on_hand_not_negative", condition=models.Q(on_hand__gte=0)),
            models.CheckConstraint(name="stock_reserved_not_negative", condition=models.Q(reserved__gte=0)),
        ]
        permissions = [
            ("adjust_stock", _("Can book stock receipts, adjustments and transfers")),
            ("write_off_stock", _("Can write off stock")),
            ("approve_write_off", _("Can approve write-offs above the limit")),
            ("import_stock", _("Can import stock counts")),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id}: {self.on_hand} ({self.reserved} reserved)"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(models.Model):
    """One line in the stock ledger: who changed which counter, when, why and for what."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt")
        ALLOCATION = "allocation", _("Allocation (reserved)")
        RELEASE = "release", _("Release of a reservation")
        SHIPMENT = "shipment", _("Shipment")
        RETURN_RESTOCK = "return_restock", _("Return restocked")
        ADJUSTMENT = "adjustment", _("Adjustment")
        WRITE_OFF = "write_off", _("Write-off")
        TRANSFER_OUT = "transfer_out", _("Transfer out")
        TRANSFER_IN = "transfer_in", _("Transfer in")

    stock = models.ForeignKey(Stock, verbose_name=_("stock"), on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    on_hand_delta = models.IntegerField(_("change on hand"), default=0)
    reserved_delta = models.IntegerField(_("change reserved"), default=0)
    on_hand_after = models.IntegerField(_("on hand after"))
    reserved_after = models.IntegerField(_("reserved after"))
    reference = models.CharField(_("reference"), max_length=120, blank=True, db_index=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    actor = models.ForeignKey(
        "core.User", verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(_("by (label)"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["stock", "id"], name="movement_stock_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on_hand_delta:+d}/{self.reserved_delta:+d} ({self.reference})"


class InboundDelivery(TimeStampedModel):
    """Stock on its way to a location: what is expected when, so a backorder can say when
    it will ship."""

    class Status(models.TextChoices):
        EXPECTED = "expected", _("Expected")
        RECEIVED = "received", _("Received")
        CANCELLED = "cancelled", _("Cancelled")

    reference = models.CharField(_("reference"), max_length=64, unique=True)
    supplier = models.CharField(_("supplier"), max_length=120, blank=True)
    location = models.ForeignKey(Location, verbose_name=_("location"), on_delete=models.PROTECT)
    expected_on = models.DateField(_("expected on"), db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.EXPECTED)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound delivery")
        verbose_name_plural = _("inbound deliveries")
        ordering = ["expected_on", "id"]
        permissions = [("receive_inbounddelivery", _("Can receive inbound deliveries"))]

    def __str__(self) -> str:
        return f"{self.reference} → {self.location.code} ({self.expected_on})"


class InboundLine(models.Model):
    delivery = models.ForeignKey(
        InboundDelivery, verbose_name=_("inbound delivery"), on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey("catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT)
    quantity_expected = models.PositiveIntegerField(_("quantity expected"))
    quantity_received = models.PositiveIntegerField(_("quantity received"), default=0)

    class Meta:
        verbose_name = _("inbound line")
        verbose_name_plural = _("inbound lines")
        constraints = [
            models.UniqueConstraint(fields=["delivery", "product"], name="inboundline_unique_product"),
            models.CheckConstraint(
                name="inboundline_received_not_above_expected",
                condition=models.Q(quantity_received__lte=models.F("quantity_expected")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} × {self.quantity_expected}"


class StockLevel(models.Model):
    """Per product, read from the database view `inventory_stock_level` (migration 0004),
    never written: `available` to sell (over the stock rows at active locations, a row with
    less on hand than reserved counting 0), `next_expected_on` (the first open inbound
    delivery at an active location) and `changed_at` (the last change of a stock row, its
    location or an inbound delivery of the product; null without any). The view reads each
    stock row and inbound line once, grouped by product, so a page of the stock sync costs
    one pass instead of a look-up per product. A product with neither stock nor inbound
    lines has no row here.

    A migration that changes a column the view reads must drop the view first and create
    it again after (`inventory.migrations.0004_stock_level_view.STOCK_LEVEL_VIEW`)."""

    product = models.OneToOneField(
        "catalog.Product",
        verbose_name=_("product"),
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="stock_level",
    )
    available = models.IntegerField(_("available"))
    next_expected_on = models.DateField(_("next delivery"), null=True)
    changed_at = models.DateTimeField(_("changed at"), null=True)

    class Meta:
        managed = False
        db_table = "inventory_stock_level"
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")

    def __str__(self) -> str:
        return f"{self.product_id}: {self.available}"


class LowStockReport(models.Model):
    """One row per day that the low-stock list was mailed to the buyer, so the daily job
    sends it once however often it runs."""

    report_date = models.DateField(_("date"), unique=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    item_count = models.PositiveIntegerField(_("items"), default=0)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)

    class Meta:
        verbose_name = _("low-stock report")
        verbose_name_plural = _("low-stock reports")
        ordering = ["-report_date"]

    def __str__(self) -> str:
        return f"{self.report_date}: {self.item_count}"
