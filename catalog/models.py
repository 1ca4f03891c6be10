from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from catalog.gtin import validate_gtin
from core.audit import audit_history
from core.models import TimeStampedModel
from inventory.models import StorageKind


class VatClass(models.TextChoices):
    STANDARD = "standard", _("Standard rate")
    REDUCED = "reduced", _("Reduced rate")
    ZERO = "zero", _("Zero rate")


class VatRate(models.Model):
    """The VAT percentage of a VAT class from a date on (NL-RULES §3). Rates change over
    time, so they are dated rows that staff maintain, never constants."""

    vat_class = models.CharField(_("VAT class"), max_length=10, choices=VatClass.choices)
    rate = models.DecimalField(
        _("rate (%)"), max_digits=5, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    valid_from = models.DateField(_("valid from"))

    history = audit_history()

    class Meta:
        verbose_name = _("VAT rate")
        verbose_name_plural = _("VAT rates")
        ordering = ["vat_class", "-valid_from"]
        constraints = [models.UniqueConstraint(fields=["vat_class", "valid_from"], name="vatrate_unique_class_date")]

    def __str__(self) -> str:
        return f"{self.get_vat_class_display()}: {self.rate.normalize()}% ({self.valid_from})"


class Category(TimeStampedModel):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name_nl = models.CharField(_("name (Dutch)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name_nl


class Brand(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProductModel(TimeStampedModel):
    """Groups the SKUs of one model (its sizes and colours) for reporting."""

    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    brand = models.ForeignKey(Brand, verbose_name=_("brand"), null=True, blank=True, on_delete=models.PROTECT)
    category = models.ForeignKey(Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name = _("product model")
        verbose_name_plural = _("product models")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Product(TimeStampedModel):
    """One SKU: the single source of truth for what is sold."""

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    ean = models.CharField(
        _("EAN/GTIN"), max_length=14, blank=True, validators=[validate_gtin], help_text=_("8, 12, 13 or 14 digits.")
    )
    name_nl = models.CharField(_("name (Dutch)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    brand = models.ForeignKey(
        Brand, verbose_name=_("brand"), null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    product_model = models.ForeignKey(
        ProductModel,
        verbose_name=_("product model"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="variants",
    )
    size = models.CharField(_("size"), max_length=20, blank=True)
    colour = models.CharField(_("colour"), max_length=40, blank=True)
    vat_class = models.CharField(_("VAT class"), max_length=10, choices=VatClass.choices, default=VatClass.STANDARD)
    weight_grams = models.PositiveIntegerField(_("weight (g)"), default=0)
    length_mm = models.PositiveIntegerField(_("length (mm)"), null=True, blank=True)
    width_mm = models.PositiveIntegerField(_("width (mm)"), null=True, blank=True)
    height_mm = models.PositiveIntegerField(_("height (mm)"), null=True, blank=True)
    storage_kind = models.CharField(
        _("storage kind"), max_length=10, choices=StorageKind.choices, default=StorageKind.NORMAL
    )
    cost_price = models.DecimalField(
        _("cost price (excl. VAT)"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    warranty_months = models.PositiveSmallIntegerField(_("manufacturer warranty (months)"), default=0)
    warranty_claim = models.TextField(_("how to claim the warranty"), blank=True)
    legal_guarantee_note = models.TextField(
        _("note on the legal guarantee"),
        blank=True,
        help_text=_("The statutory guarantee (conformity, art. 7:17 BW) applies besides any manufacturer warranty."),
    )
    is_active = models.BooleanField(_("active"), default=True, db_index=True)

    history = audit_history(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["ean"], condition=~Q(ean=""), name="product_unique_ean"),
        ]
        permissions = [("import_catalog", _("Can import the catalog"))]

    def __str__(self) -> str:
        return f"{self.sku} {self.name_nl}"

    @property
    def name(self) -> str:
        return self.name_nl


class PriceList(TimeStampedModel):
    """The consumer prices (VAT included) of one sales channel. The list without a
    channel is the default list: it serves every channel for the products that the
    channel's own list has no price for at that moment. One list per channel, one default."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    channel = models.ForeignKey(
        "core.SalesChannel",
        verbose_name=_("sales channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="price_lists",
        help_text=_("Empty: the default list for every channel."),
    )

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        ordering = ["code"]
        constraints = [
            # one list per channel, and one default list (channel empty)
            models.UniqueConstraint(Coalesce("channel", Value(0)), name="pricelist_one_per_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_default(self) -> bool:
        return self.channel_id is None


class Price(models.Model):
    """One consumer price (VAT included) of a product in a price list, valid from a moment
    until the next (exclusive). Rows are never edited: a change closes the running row and
    adds a new one (catalog.services.prices), so the price valid at any past moment stays known."""

    price_list = models.ForeignKey(
        PriceList, verbose_name=_("price list"), on_delete=models.PROTECT, related_name="prices"
    )
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="prices")
    gross_amount = models.DecimalField(
        _("price incl. VAT"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))]
    )
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True, help_text=_("Empty: until changed."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        "core.User", verbose_name=_("set by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by_label = models.CharField(_("set by (label)"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        ordering = ["price_list", "product", "-valid_from"]
        indexes = [models.Index(fields=["product", "price_list", "valid_from"], name="price_lookup_idx")]
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product", "valid_from"], name="price_unique_start"),
            models.UniqueConstraint(
                fields=["price_list", "product"], condition=Q(valid_until__isnull=True), name="price_one_open_row"
            ),
            models.CheckConstraint(
                name="price_period_positive", condition=Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from"))
            ),
            models.CheckConstraint(name="price_not_negative", condition=Q(gross_amount__gte=0)),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.gross_amount} ({self.valid_from:%Y-%m-%d %H:%M})"


class Promotion(TimeStampedModel):
    """A discount for a period: a percentage or an amount off per unit of some SKUs or of
    a category (its sub-categories included), or off the whole order. Per channel, or for
    every channel when the channel is empty. Per order line the best line promotion
    applies; the best order promotion then applies to what is left (catalog.services.promotions)."""

    class Kind(models.TextChoices):
        PERCENTAGE = "percentage", _("Percentage off")
        AMOUNT = "amount", _("Amount off")

    class Scope(models.TextChoices):
        PRODUCTS = "products", _("Selected SKUs")
        CATEGORIES = "categories", _("Selected categories")
        ORDER = "order", _("Whole order")

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    scope = models.CharField(_("applies to"), max_length=12, choices=Scope.choices)
    percentage = models.DecimalField(
        _("percentage off"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )
    discount_amount = models.DecimalField(
        _("amount off (incl. VAT)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Per unit for SKUs and categories; once per order for the whole order."),
    )
    min_order_amount = models.DecimalField(
        _("minimum order amount (incl. VAT)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0.00"))],
        help_text=_("Whole-order promotions only: the goods must add up to at least this."),
    )
    channel = models.ForeignKey(
        "core.SalesChannel",
        verbose_name=_("sales channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="promotions",
        help_text=_("Empty: every channel."),
    )
    products = models.ManyToManyField(Product, verbose_name=_("SKUs"), blank=True, related_name="promotions")
    categories = models.ManyToManyField(Category, verbose_name=_("categories"), blank=True, related_name="promotions")
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    history = audit_history(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        ordering = ["-valid_from", "code"]
        constraints = [
            models.CheckConstraint(
                name="promotion_value_matches_kind",
                condition=(
                    Q(kind="percentage", percentage__isnull=False, discount_amount__isnull=True)
                    | Q(kind="amount", discount_amount__isnull=False, percentage__isnull=True)
                ),
            ),
            models.CheckConstraint(
                name="promotion_period_positive",
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = {}
        if self.kind == self.Kind.PERCENTAGE:
            if self.percentage is None:
                errors["percentage"] = _("A percentage promotion needs a percentage.")
            if self.discount_amount is not None:
                errors["discount_amount"] = _("Leave the amount empty for a percentage promotion.")
        elif self.kind == self.Kind.AMOUNT:
            if self.discount_amount is None:
                errors["discount_amount"] = _("An amount promotion needs an amount.")
            if self.percentage is not None:
                errors["percentage"] = _("Leave the percentage empty for an amount promotion.")
        if self.valid_until and self.valid_from and self.valid_until <= self.valid_from:
            errors["valid_until"] = _("The end must be after the start.")
        if errors:
            raise ValidationError(errors)
