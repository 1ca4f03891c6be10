"""The interface every payment provider adapter offers, and what it returns.

Services call providers through this interface only (`registry.get_provider(code)`), so
the real provider (Mollie) and the simulator are interchangeable. Rules for adapters:
- money comes in and goes out as Decimal; integer cents exist only inside the adapter;
- statuses are normalised to the DOMAIN payment statuses (`ProviderStatus`); a
  chargeback leaves a payment `paid` and shows in `amount_charged_back` / `chargebacks`;
- `parse_webhook` only extracts the id to look up: a webhook body never says a status;
- every call that changes something carries an idempotency key.
"""

import abc
import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.money import ZERO, from_cents, to_cents
from payments.exceptions import InvalidProviderAmount, ProviderRejected

PAYMENT_METHODS = ("ideal", "card", "paypal", "bancontact", "bank_transfer", "pay_later", "pos", "store_credit")


class ProviderStatus(models.TextChoices):
    OPEN = "open", gettext_lazy("Open")
    PENDING = "pending", gettext_lazy("Pending")
    AUTHORIZED = "authorized", gettext_lazy("Authorized")
    PAID = "paid", gettext_lazy("Paid")
    FAILED = "failed", gettext_lazy("Failed")
    EXPIRED = "expired", gettext_lazy("Expired")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


FINAL_STATUSES = frozenset(
    {ProviderStatus.PAID, ProviderStatus.FAILED, ProviderStatus.EXPIRED, ProviderStatus.CANCELLED}
)


class RefundStatus(models.TextChoices):
    QUEUED = "queued", gettext_lazy("Queued")
    PENDING = "pending", gettext_lazy("Pending")
    PROCESSING = "processing", gettext_lazy("Processing")
    REFUNDED = "refunded", gettext_lazy("Refunded")
    FAILED = "failed", gettext_lazy("Failed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


@dataclass(frozen=True)
class ProviderChargeback:
    id: str
    amount: Decimal
    currency: str
    created_at: datetime.datetime | None = None
    reversed_at: datetime.datetime | None = None

    @property
    def is_reversed(self) -> bool:
        return self.reversed_at is not None


@dataclass(frozen=True)
class ProviderPayment:
    """A payment as the provider sees it now.

    `amount_captured` is the money actually taken from the customer (for a paid payment
    the whole amount unless only part was captured or, in the simulator, only part was
    paid); `amount_charged_back` is what the customer's bank took back: the payment stays
    `paid`."""

    id: str
    status: ProviderStatus
    amount: Decimal
    amount_refunded: Decimal
    amount_captured: Decimal
    amount_charged_back: Decimal
    method: str
    checkout_url: str
    paid_at: datetime.datetime | None
    expires_at: datetime.datetime | None
    metadata: dict = field(default_factory=dict)
    currency: str = "EUR"
    description: str = ""
    capture_before: datetime.datetime | None = None
    chargebacks: tuple[ProviderChargeback, ...] = ()
    provider_status: str = ""

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_charged_back(self) -> bool:
        return self.amount_charged_back > 0

    @property
    def amount_paid(self) -> Decimal:
        return self.amount_captured if self.status == ProviderStatus.PAID else ZERO

    @property
    def amount_refundable(self) -> Decimal:
        return max(ZERO, self.amount_paid - self.amount_refunded - self.amount_charged_back)


@dataclass(frozen=True)
class ProviderRefund:
    id: str
    payment_id: str
    amount: Decimal
    currency: str
    status: RefundStatus
    description: str = ""
    created_at: datetime.datetime | None = None


@dataclass(frozen=True)
class ProviderCapture:
    id: str
    payment_id: str
    amount: Decimal
    currency: str
    status: str = ""
    created_at: datetime.datetime | None = None


class PaymentProvider(abc.ABC):
    """A payment service provider. `code` is what orders store as their provider."""

    code: str = ""

    @abc.abstractmethod
    def create_payment(
        self,
        *,
        amount: Decimal,
        description: str,
        reference: str,
        redirect_url: str,
        webhook_url: str,
        method: str | None = None,
        metadata: dict | None = None,
        idempotency_key: str,
        manual_capture: bool = False,
        provider_options: dict | None = None,
    ) -> ProviderPayment:
        """Start a payment; the customer pays at `checkout_url`. `method` is one of
        PAYMENT_METHODS (None lets the customer choose); `reference` is the order's
        payment reference, kept in the metadata. Pay-later methods are authorised and
        captured later (`capture`); `manual_capture` does the same for cards.
        `provider_options` go to the provider as they are (Mollie: `lines`,
        `billingAddress`, `locale`); a provider that needs none ignores them."""

    @abc.abstractmethod
    def create_payment_link(
        self,
        *,
        amount: Decimal,
        description: str,
        reference: str,
        redirect_url: str,
        webhook_url: str,
        expires_at: datetime.datetime | None = None,
        idempotency_key: str,
    ) -> ProviderPayment:
        """A link to send the customer (e-mail, invoice) that stays usable until
        `expires_at`; fetch it with `get_payment` like a payment."""

    @abc.abstractmethod
    def get_payment(self, provider_id: str) -> ProviderPayment:
        """The payment's current state, asked of the provider."""

    @abc.abstractmethod
    def refund(self, *, provider_id: str, amount: Decimal, description: str, idempotency_key: str) -> ProviderRefund:
        """Give back (part of) a paid payment."""

    @abc.abstractmethod
    def capture(self, *, provider_id: str, amount: Decimal, idempotency_key: str) -> ProviderCapture:
        """Take (part of) an authorised amount, e.g. when a pay-later order ships."""

    @abc.abstractmethod
    def parse_webhook(self, request_body: bytes, content_type: str | None) -> str | None:
        """The payment id a webhook call names, or None when the call names nothing
        usable. The body is never trusted for a status: look the payment up."""


# --- helpers for adapters -------------------------------------------------------------


def require_amount(amount: object, *, attr: str = "amount") -> int:
    """A positive Decimal amount with at most two decimals, as integer cents."""
    if isinstance(amount, (bool, float)) or not isinstance(amount, (Decimal, int)):
        raise InvalidProviderAmount(_("An amount must be a Decimal."), attr=attr)
    amount = Decimal(amount)
    if not amount.is_finite() or amount <= 0:
        raise InvalidProviderAmount(_("An amount must be more than zero."), attr=attr)
    cents = to_cents(amount)
    if from_cents(cents) != amount:
        raise InvalidProviderAmount(_("An amount has at most two decimals."), attr=attr)
    return cents


def require_idempotency_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > 255:
        raise ProviderRejected(
            _("An idempotency key of 1 to 255 characters is required."),
            code="idempotency_key_required",
            attr="idempotency_key",
        )
    return key.strip()


def require_method(method: str | None) -> str | None:
    if method is None or method == "":
        return None
    if method not in PAYMENT_METHODS:
        raise ProviderRejected(
            _("Unknown payment method %(method)r.") % {"method": str(method)[:40]},
            code="unknown_payment_method",
            attr="method",
        )
    return method


def webhook_id(request_body: bytes, content_type: str | None, pattern: re.Pattern) -> str | None:
    """The single `id` of a form-encoded webhook body, if it matches `pattern`."""
    from urllib.parse import parse_qs

    if content_type and content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return None
    if not isinstance(request_body, (bytes, bytearray)) or len(request_body) > 4096:
        return None
    try:
        fields = parse_qs(bytes(request_body).decode("ascii"), keep_blank_values=False, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    values = fields.get("id", [])
    if len(values) != 1:
        return None
    candidate = values[0].strip()
    return candidate if pattern.fullmatch(candidate) else None
