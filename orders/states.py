"""Statuses of orders, fulfilments and shipments, and the transitions allowed between
them. Only services assign a status, after `ensure_transition`."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.exceptions import InvalidTransition


class OrderStatus(models.TextChoices):
    """Derived from the order's holds, clearing and fulfilments (see services.status)."""

    ON_HOLD = "on_hold", _("On hold")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    RELEASED = "released", _("Released")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


class FulfilmentStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    RELEASED = "released", _("Released to the location")
    PICKED = "picked", _("Picked")
    PACKED = "packed", _("Packed")
    SHIPPED = "shipped", _("Shipped")
    CANCELLED = "cancelled", _("Cancelled")


FULFILMENT_TRANSITIONS: dict[str, set[str]] = {
    FulfilmentStatus.WAITING: {FulfilmentStatus.RELEASED, FulfilmentStatus.CANCELLED},
    FulfilmentStatus.RELEASED: {
        FulfilmentStatus.WAITING,  # held again (fraud, chargeback) before picking
        FulfilmentStatus.PICKED,
        FulfilmentStatus.PACKED,
        FulfilmentStatus.SHIPPED,
        FulfilmentStatus.CANCELLED,
    },
    FulfilmentStatus.PICKED: {FulfilmentStatus.PACKED, FulfilmentStatus.SHIPPED, FulfilmentStatus.CANCELLED},
    FulfilmentStatus.PACKED: {FulfilmentStatus.SHIPPED, FulfilmentStatus.CANCELLED},
    FulfilmentStatus.SHIPPED: set(),
    FulfilmentStatus.CANCELLED: set(),
}
OPEN_FULFILMENT_STATUSES = (
    FulfilmentStatus.WAITING,
    FulfilmentStatus.RELEASED,
    FulfilmentStatus.PICKED,
    FulfilmentStatus.PACKED,
)
SHIPPABLE_FULFILMENT_STATUSES = (FulfilmentStatus.RELEASED, FulfilmentStatus.PICKED, FulfilmentStatus.PACKED)


class HoldReason(models.TextChoices):
    """Why an order waits. The first group stops shipping; the others explain a wait."""

    FRAUD_REVIEW = "fraud_review", _("Fraud review")
    CUSTOMER_BLOCKED = "customer_blocked", _("Customer blocked")
    CHARGEBACK = "chargeback", _("Payment charged back")
    ADDRESS_CHANGE = "address_change", _("Shipping address change awaiting approval")
    MANUAL = "manual", _("Held by staff")
    PAYMENT_MISMATCH = "payment_mismatch", _("Payment does not match the amount due")
    BACKORDER = "backorder", _("Waiting for stock (backorder)")


BLOCKING_HOLDS = frozenset(
    {
        HoldReason.FRAUD_REVIEW,
        HoldReason.CUSTOMER_BLOCKED,
        HoldReason.CHARGEBACK,
        HoldReason.ADDRESS_CHANGE,
        HoldReason.MANUAL,
    }
)


class SlaStatus(models.TextChoices):
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    LATE = "late", _("Late")


class PaymentMethod(models.TextChoices):
    IDEAL = "ideal", _("iDEAL")
    CARD = "card", _("Card")
    PAYPAL = "paypal", _("PayPal")
    BANCONTACT = "bancontact", _("Bancontact")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    PAY_LATER = "pay_later", _("Pay later")
    POS = "pos", _("Point of sale")
    STORE_CREDIT = "store_credit", _("Store credit")


PREPAID_METHODS = frozenset({PaymentMethod.IDEAL, PaymentMethod.CARD, PaymentMethod.PAYPAL, PaymentMethod.BANCONTACT})


def ensure_transition(current: str, target: str, transitions: dict[str, set[str]], *, what: str = "") -> None:
    if target not in transitions.get(current, set()):
        raise InvalidTransition(
            _("Cannot change %(what)s from %(current)s to %(target)s.")
            % {"what": what or _("the status"), "current": current, "target": target},
            extra={"from": current, "to": target},
        )
