from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from core.audit import audit_history
from core.models import SalesChannel, TimeStampedModel


class Customer(TimeStampedModel):
    """A customer of one sales channel, matched by e-mail address within that channel."""

    class Type(models.TextChoices):
        CONSUMER = "consumer", _("Consumer")
        BUSINESS = "business", _("Business")

    channel = models.ForeignKey(
        SalesChannel, verbose_name=_("sales channel"), on_delete=models.PROTECT, related_name="customers"
    )
    email = models.EmailField(_("e-mail address"), max_length=254)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices, default=Type.CONSUMER)
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES, default="nl")
    is_blocked = models.BooleanField(_("blocked"), default=False, db_index=True)
    blocked_reason = models.CharField(_("reason for block"), max_length=255, blank=True)
    blocked_at = models.DateTimeField(_("blocked at"), null=True, blank=True)

    history = audit_history(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "email"], name="customer_unique_email_per_channel"),
            models.CheckConstraint(name="customer_email_lowercase", condition=models.Q(email=Lower("email"))),
        ]
        permissions = [
            ("block_customer", _("Can block and unblock customers")),
        ]

    def __str__(self) -> str:
        name = self.company_name or f"{self.first_name} {self.last_name}".strip()
        return f"{name} <{self.email}>" if name else self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Address(TimeStampedModel):
    """An address in a customer's address book. Orders keep their own snapshot."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="addresses"
    )
    street = models.CharField(_("street"), max_length=200)
    house_number = models.CharField(_("house number"), max_length=10)
    house_number_addition = models.CharField(_("addition"), max_length=10, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=12)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="NL")

    history = audit_history(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["customer", "-created_at"]
        indexes = [models.Index(fields=["country", "postal_code", "house_number"], name="address_postcode_idx")]

    def __str__(self) -> str:
        return format_address_line(self)


def format_address_line(address) -> str:
    number = f"{address.house_number}{('-' + address.house_number_addition) if address.house_number_addition else ''}"
    return f"{address.street} {number}, {address.postal_code} {address.city}, {address.country}"
