"""The payment provider simulator: what a provider does on its side.

Every state change locks the payment's row, re-reads it, checks the transition, writes,
and hands the webhook (a form-encoded POST `id=…` to the payment's webhook URL, as
Mollie does) to the outbox, so it leaves only after commit and is retried by Celery.
"""

import datetime
import logging
import secrets
import string
from decimal import Decimal

import requests
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import InvalidTransition
from core.money import ZERO
from core.services import outbox_enqueue
from payments import conf
from payments.exceptions import (
    CaptureExceedsAuthorized,
    ChargebackExceedsPaid,
    IdempotencyKeyReused,
    InvalidProviderAmount,
    ProviderPaymentNotFound,
    ProviderRejected,
    RefundExceedsPaid,
    SimulatedPaymentExpired,
    WebhookDeliveryFailed,
)
from payments.locks import simulated_payment_qs_for_update
from payments.models import SimulatedProviderPayment
from payments.providers.base import ProviderStatus, RefundStatus
from payments.selectors import simulated_payment_get
from payments.states import simulated_payment_ensure_transition

logger = logging.getLogger(__name__)

WEBHOOK_TASK = "payments.simulator_deliver_webhook"
AUTHORIZATION_DAYS = 90  # a pay-later authorisation lapses when not captured in time (NL-RULES §5)
CUSTOMER_OUTCOMES = ("paid", "pending", "failed", "expired", "cancelled")
_ID_ALPHABET = string.ascii_letters + string.digits


def _new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


def _locked(provider_id: str) -> SimulatedProviderPayment:
    payment = simulated_payment_qs_for_update().filter(provider_id=provider_id).first()
    if payment is None:
        raise ProviderPaymentNotFound(_("No simulated payment %(id)s.") % {"id": str(provider_id)[:40]})
    return payment


def _note(payment: SimulatedProviderPayment, *, to: str, note: str = "", **data) -> None:
    entry = {"at": timezone.now().isoformat(), "from": payment.status, "to": to, "note": note}
    entry.update({key: str(value) for key, value in data.items()})
    payment.history = [*payment.history, entry]


def _notify(payment: SimulatedProviderPayment) -> None:
    """Call the payment's webhook after commit, as the provider would."""
    if payment.webhook_url:
        outbox_enqueue(WEBHOOK_TASK, provider_id=payment.provider_id)


def _is_past(moment: datetime.datetime | None, now: datetime.datetime) -> bool:
    return moment is not None and moment <= now


@transaction.atomic
def simulated_payment_create(
    *,
    amount: Decimal,
    description: str,
    reference: str,
    redirect_url: str,
    webhook_url: str,
    idempotency_key: str,
    method: str | None = None,
    metadata: dict | None = None,
    manual_capture: bool = False,
    kind: str = SimulatedProviderPayment.Kind.PAYMENT,
    expires_at: datetime.datetime | None = None,
    currency: str = "EUR",
) -> SimulatedProviderPayment:
    """Create a payment (or payment link) at the simulator. The same idempotency key
    returns the payment made the first time; with a different request it is refused."""
    if kind == SimulatedProviderPayment.Kind.PAYMENT and expires_at is None:
        expires_at = timezone.now() + datetime.timedelta(minutes=conf.simulator_expiry_minutes())
    prefix = "sim_pl_" if kind == SimulatedProviderPayment.Kind.LINK else "sim_tr_"
    values = {
        "kind": kind,
        "amount": amount,
        "currency": currency,
        "description": (description or "")[:255],
        "reference": (reference or "")[:64],
        "method": method or "",
        "manual_capture": manual_capture,
        "metadata": metadata or {},
        "redirect_url": redirect_url or "",
        "webhook_url": webhook_url or "",
        "expires_at": expires_at,
    }
    try:
        with transaction.atomic():
            payment = SimulatedProviderPayment(provider_id=_new_id(prefix), idempotency_key=idempotency_key, **values)
            _note(payment, to=ProviderStatus.OPEN, note="created")
            payment.save()
    except IntegrityError:
        payment = SimulatedProviderPayment.objects.filter(idempotency_key=idempotency_key).first()
        if payment is None:
            raise
        same = (
            payment.kind == kind
            and payment.amount == amount
            and payment.currency == currency
            and payment.description == values["description"]
            and payment.reference == values["reference"]
        )
        if not same:
            raise IdempotencyKeyReused(
                _("Idempotency key %(key)s was used for a different payment.") % {"key": idempotency_key}
            ) from None
    return payment


@transaction.atomic
def simulated_payment_complete(
    *,
    provider_id: str,
    outcome: str,
    amount_paid: Decimal | None = None,
    method: str | None = None,
) -> SimulatedProviderPayment:
    """The customer's choice on the checkout page: paid, pending, failed, expired or
    cancelled. Paying a pay-later or manual-capture payment authorises it; `amount_paid`
    below the amount simulates a partial payment."""
    if outcome not in CUSTOMER_OUTCOMES:
        raise ProviderRejected(_("Unknown outcome %(outcome)r.") % {"outcome": outcome}, code="unknown_outcome")
    payment = _locked(provider_id)
    now = timezone.now()
    if method and not payment.method:
        payment.method = method
    target = outcome
    if outcome == "paid" and payment.requires_capture:
        target = ProviderStatus.AUTHORIZED
    if payment.kind == SimulatedProviderPayment.Kind.LINK and target in (
        ProviderStatus.FAILED,
        ProviderStatus.CANCELLED,
    ):
        # A failed attempt leaves a payment link open: the customer may try again.
        raise InvalidTransition(_("A payment link stays open after a failed attempt; pay it or let it expire."))
    if target in (ProviderStatus.PAID, ProviderStatus.AUTHORIZED, ProviderStatus.PENDING) and _is_past(
        payment.expires_at, now
    ):
        raise SimulatedPaymentExpired(_("This payment has expired."))
    simulated_payment_ensure_transition(payment.status, target)

    fields = ["status", "method", "history", "updated_at"]
    if target == ProviderStatus.PAID:
        paid = payment.amount if amount_paid is None else amount_paid
        if not ZERO < paid <= payment.amount:
            raise InvalidProviderAmount(
                _("The amount paid must be more than zero and at most %(amount)s.") % {"amount": payment.amount},
                attr="amount",
            )
        payment.amount_captured = paid
        payment.paid_at = now
        fields += ["amount_captured", "paid_at"]
    elif target == ProviderStatus.AUTHORIZED:
        payment.authorized_at = now
        payment.capture_before = now + datetime.timedelta(days=AUTHORIZATION_DAYS)
        fields += ["authorized_at", "capture_before"]
    _note(payment, to=target, note="customer", amount_paid=payment.amount_captured if target == "paid" else "")
    payment.status = target
    payment.save(update_fields=fields)
    _notify(payment)
    return payment


@transaction.atomic
def simulated_payment_expire(*, provider_id: str, now: datetime.datetime | None = None) -> bool:
    """Expire an open or pending payment past its expiry time, or an authorisation past
    its capture deadline. False when there is nothing to expire (also when run twice)."""
    now = now or timezone.now()
    payment = _locked(provider_id)
    due = (payment.status in (ProviderStatus.OPEN, ProviderStatus.PENDING) and _is_past(payment.expires_at, now)) or (
        payment.status == ProviderStatus.AUTHORIZED and _is_past(payment.capture_before, now)
    )
    if not due:
        return False
    _note(payment, to=ProviderStatus.EXPIRED, note="expired")
    payment.status = ProviderStatus.EXPIRED
    payment.save(update_fields=["status", "history", "updated_at"])
    _notify(payment)
    return True


def simulated_payments_expire_due(*, now: datetime.datetime | None = None, batch_size: int = 500) -> int:
    """Expire every payment that is due, each in its own transaction."""
    now = now or timezone.now()
    due = SimulatedProviderPayment.objects.filter(
        status__in=[ProviderStatus.OPEN, ProviderStatus.PENDING], expires_at__lte=now
    ) | SimulatedProviderPayment.objects.filter(status=ProviderStatus.AUTHORIZED, capture_before__lte=now)
    expired = 0
    for provider_id in list(due.order_by("pk").values_list("provider_id", flat=True)[:batch_size]):
        if simulated_payment_expire(provider_id=provider_id, now=now):
            expired += 1
    return expired


def _existing(records: list[dict], idempotency_key: str, amount: Decimal) -> dict | None:
    for record in records:
        if record.get("idempotency_key") == idempotency_key:
            if Decimal(record["amount"]) != amount:
                raise IdempotencyKeyReused(
                    _("Idempotency key %(key)s was used for a different amount.") % {"key": idempotency_key}
                )
            return record
    return None


def _refundable(payment: SimulatedProviderPayment) -> Decimal:
    return payment.amount_captured - payment.amount_refunded - payment.amount_charged_back


@transaction.atomic
def simulated_payment_refund(
    *, provider_id: str, amount: Decimal, description: str, idempotency_key: str
) -> tuple[SimulatedProviderPayment, dict]:
    """Refund part or all of what was paid (less earlier refunds and chargebacks)."""
    payment = _locked(provider_id)
    existing = _existing(payment.refunds, idempotency_key, amount)
    if existing:
        return payment, existing
    if payment.status != ProviderStatus.PAID:
        raise ProviderRejected(_("Only a paid payment can be refunded."), code="payment_not_paid")
    if amount > _refundable(payment):
        raise RefundExceedsPaid(
            _("Cannot refund %(amount)s: at most %(refundable)s is left to refund.")
            % {"amount": amount, "refundable": _refundable(payment)},
            attr="amount",
        )
    record = {
        "id": _new_id("sim_re_"),
        "amount": str(amount),
        "description": (description or "")[:255],
        "status": RefundStatus.REFUNDED.value,
        "idempotency_key": idempotency_key,
        "created_at": timezone.now().isoformat(),
    }
    payment.refunds = [*payment.refunds, record]
    payment.amount_refunded = F("amount_refunded") + amount
    _note(payment, to=payment.status, note="refund", amount=amount)
    payment.save(update_fields=["refunds", "amount_refunded", "history", "updated_at"])
    payment.refresh_from_db()
    _notify(payment)
    return payment, record


@transaction.atomic
def simulated_payment_capture(
    *, provider_id: str, amount: Decimal, idempotency_key: str
) -> tuple[SimulatedProviderPayment, dict]:
    """Capture (part of) an authorised payment, as pay-later providers do per shipment:
    captures add up to at most what was authorised, until the authorisation lapses. The
    first capture makes the payment paid (for what was captured so far)."""
    payment = _locked(provider_id)
    existing = _existing(payment.captures, idempotency_key, amount)
    if existing:
        return payment, existing
    captured_before = payment.captures and payment.status == ProviderStatus.PAID
    if payment.status != ProviderStatus.AUTHORIZED and not captured_before:
        raise InvalidTransition(
            _("Only an authorised payment can be captured; this one is %(status)s.")
            % {"status": ProviderStatus(payment.status).label},
            extra={"from": payment.status, "to": ProviderStatus.PAID.value},
        )
    if amount <= 0 or payment.amount_captured + amount > payment.amount:
        raise CaptureExceedsAuthorized(
            _("Cannot capture %(amount)s: %(left)s of the %(authorized)s authorised is left to capture.")
            % {"amount": amount, "left": payment.amount - payment.amount_captured, "authorized": payment.amount},
            attr="amount",
        )
    now = timezone.now()
    if _is_past(payment.capture_before, now):
        raise SimulatedPaymentExpired(_("The authorisation has lapsed."))
    record = {
        "id": _new_id("sim_cpt_"),
        "amount": str(amount),
        "status": "succeeded",
        "idempotency_key": idempotency_key,
        "created_at": now.isoformat(),
    }
    _note(payment, to=ProviderStatus.PAID, note="capture", amount=amount)
    payment.captures = [*payment.captures, record]
    payment.amount_captured += amount
    payment.status = ProviderStatus.PAID
    payment.paid_at = payment.paid_at or now
    payment.save(update_fields=["captures", "amount_captured", "status", "paid_at", "history", "updated_at"])
    _notify(payment)
    return payment, record


@transaction.atomic
def simulated_payment_chargeback(*, provider_id: str, amount: Decimal | None = None) -> SimulatedProviderPayment:
    """The customer's bank takes (part of) a paid payment back. The payment stays paid."""
    payment = _locked(provider_id)
    if payment.status != ProviderStatus.PAID:
        raise ProviderRejected(_("Only a paid payment can be charged back."), code="payment_not_paid")
    available = _refundable(payment)
    amount = available if amount is None else amount
    if amount <= 0 or amount > available:
        raise ChargebackExceedsPaid(
            _("A chargeback is more than zero and at most %(available)s.") % {"available": available}, attr="amount"
        )
    record = {"id": _new_id("sim_chb_"), "amount": str(amount), "created_at": timezone.now().isoformat()}
    payment.chargebacks = [*payment.chargebacks, record]
    payment.amount_charged_back = F("amount_charged_back") + amount
    _note(payment, to=payment.status, note="chargeback", amount=amount)
    payment.save(update_fields=["chargebacks", "amount_charged_back", "history", "updated_at"])
    payment.refresh_from_db()
    _notify(payment)
    return payment


def simulated_payment_webhook_deliver(*, provider_id: str) -> bool:
    """POST `id=<provider id>` (form-encoded) to the payment's webhook URL. Raises
    WebhookDeliveryFailed when the receiver is unreachable or answers other than 2xx,
    so the task retries. False when the payment has no webhook URL."""
    payment = simulated_payment_get(provider_id=provider_id)
    if not payment.webhook_url:
        return False
    SimulatedProviderPayment.objects.filter(pk=payment.pk).update(webhook_attempts=F("webhook_attempts") + 1)
    try:
        response = requests.post(
            payment.webhook_url,
            data={"id": payment.provider_id},
            timeout=conf.simulator_webhook_timeout(),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise WebhookDeliveryFailed(
            _("The webhook receiver cannot be reached: %(error)s") % {"error": exc.__class__.__name__}
        ) from exc
    if not 200 <= response.status_code < 300:
        raise WebhookDeliveryFailed(
            _("The webhook receiver answered %(status)s.") % {"status": response.status_code},
            extra={"status": response.status_code},
        )
    SimulatedProviderPayment.objects.filter(pk=payment.pk).update(webhook_delivered_at=timezone.now())
    logger.info("simulator webhook delivered", extra={"provider_id": provider_id})
    return True
