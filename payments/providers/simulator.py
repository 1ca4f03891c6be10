"""The simulator provider: a payment provider that lives inside the back-office.

It behaves like Mollie: a payment gets a checkout page (`/simulator/psp/<id>/`) where one
picks paid, pending, failed, expired or cancelled (and later a chargeback, or a partial
payment); then the payment's webhook URL receives a form-encoded POST `id=sim_tr_…` from
a Celery task, and the receiver asks `get_payment` what happened. Refunds are bounded by
what was paid; pay-later and manual-capture payments are authorised and captured later.
"""

import datetime
import re
from decimal import Decimal

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from payments import conf
from payments.exceptions import ProviderNotConfigured, ProviderPaymentNotFound
from payments.models import SimulatedProviderPayment
from payments.providers.base import (
    PaymentProvider,
    ProviderCapture,
    ProviderChargeback,
    ProviderPayment,
    ProviderRefund,
    ProviderStatus,
    RefundStatus,
    require_amount,
    require_idempotency_key,
    require_method,
    webhook_id,
)
from payments.selectors import simulated_payment_get
from payments.services.simulator import (
    simulated_payment_capture,
    simulated_payment_create,
    simulated_payment_expire,
    simulated_payment_refund,
)

SIMULATOR_ID = re.compile(r"sim_(?:tr|pl)_[A-Za-z0-9]{16}")


def _moment(value: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value) if value else None


def checkout_url_for(provider_id: str) -> str:
    try:
        path = reverse("payments_simulator:checkout", kwargs={"provider_id": provider_id})
    except NoReverseMatch as exc:
        raise ProviderNotConfigured(
            _("The payment simulator's pages are not served: include payments.simulator_urls at /simulator/psp/.")
        ) from exc
    return f"{conf.site_url()}{path}"


def provider_payment_from(payment: SimulatedProviderPayment) -> ProviderPayment:
    return ProviderPayment(
        id=payment.provider_id,
        status=ProviderStatus(payment.status),
        amount=payment.amount,
        amount_refunded=payment.amount_refunded,
        amount_captured=payment.amount_captured,
        amount_charged_back=payment.amount_charged_back,
        method=payment.method,
        checkout_url=checkout_url_for(payment.provider_id),
        paid_at=payment.paid_at,
        expires_at=payment.expires_at,
        metadata={**payment.metadata, "reference": payment.reference},
        currency=payment.currency,
        description=payment.description,
        capture_before=payment.capture_before,
        chargebacks=tuple(
            ProviderChargeback(
                id=record["id"],
                amount=Decimal(record["amount"]),
                currency=payment.currency,
                created_at=_moment(record.get("created_at")),
            )
            for record in payment.chargebacks
        ),
        provider_status=payment.status,
    )


class SimulatorProvider(PaymentProvider):
    code = "simulator"

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
        require_amount(amount)
        key = require_idempotency_key(idempotency_key)
        payment = simulated_payment_create(
            amount=Decimal(amount),
            description=description,
            reference=reference,
            redirect_url=redirect_url,
            webhook_url=webhook_url,
            idempotency_key=key,
            method=require_method(method),
            metadata=metadata,
            manual_capture=manual_capture,
        )
        return provider_payment_from(payment)

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
        require_amount(amount)
        key = require_idempotency_key(idempotency_key)
        payment = simulated_payment_create(
            amount=Decimal(amount),
            description=description,
            reference=reference,
            redirect_url=redirect_url,
            webhook_url=webhook_url,
            idempotency_key=key,
            kind=SimulatedProviderPayment.Kind.LINK,
            expires_at=expires_at,
        )
        return provider_payment_from(payment)

    def get_payment(self, provider_id: str) -> ProviderPayment:
        if not SIMULATOR_ID.fullmatch(provider_id or ""):
            raise ProviderPaymentNotFound(_("%(id)r is not a simulator payment id.") % {"id": str(provider_id)[:80]})
        payment = simulated_payment_get(provider_id=provider_id)
        now = timezone.now()
        open_and_due = payment.status in (ProviderStatus.OPEN, ProviderStatus.PENDING) and (
            payment.expires_at is not None and payment.expires_at <= now
        )
        authorization_lapsed = payment.status == ProviderStatus.AUTHORIZED and (
            payment.capture_before is not None and payment.capture_before <= now
        )
        # Like the real provider, a payment is expired once its time is up, also before
        # the periodic expiry task came by.
        if (open_and_due or authorization_lapsed) and simulated_payment_expire(provider_id=provider_id, now=now):
            payment = simulated_payment_get(provider_id=provider_id)
        return provider_payment_from(payment)

    def refund(self, *, provider_id: str, amount: Decimal, description: str, idempotency_key: str) -> ProviderRefund:
        require_amount(amount)
        key = require_idempotency_key(idempotency_key)
        payment, record = simulated_payment_refund(
            provider_id=provider_id, amount=Decimal(amount), description=description, idempotency_key=key
        )
        return ProviderRefund(
            id=record["id"],
            payment_id=payment.provider_id,
            amount=Decimal(record["amount"]),
            currency=payment.currency,
            status=RefundStatus(record["status"]),
            description=record["description"],
            created_at=_moment(record["created_at"]),
        )

    def capture(self, *, provider_id: str, amount: Decimal, idempotency_key: str) -> ProviderCapture:
        require_amount(amount)
        key = require_idempotency_key(idempotency_key)
        payment, record = simulated_payment_capture(
            provider_id=provider_id, amount=Decimal(amount), idempotency_key=key
        )
        return ProviderCapture(
            id=record["id"],
            payment_id=payment.provider_id,
            amount=Decimal(record["amount"]),
            currency=payment.currency,
            status=record["status"],
            created_at=_moment(record["created_at"]),
        )

    def parse_webhook(self, request_body: bytes, content_type: str | None) -> str | None:
        return webhook_id(request_body, content_type, SIMULATOR_ID)
