"""Mollie, through its REST API v2 (https://api.mollie.com/v2), with `requests`.

What this adapter relies on (Mollie's published API):
- `POST /payments` (amount as a string with two decimals, `redirectUrl`, `webhookUrl`,
  `metadata`, `method`, `captureMode`), `GET /payments/{id}`;
- statuses `open`, `pending`, `authorized`, `paid`, `canceled`, `expired`, `failed`;
- a chargeback leaves the payment `paid`: `amountChargedBack` and
  `GET /payments/{id}/chargebacks` (present as `_links.chargebacks`) tell;
- `POST /payments/{id}/refunds` (statuses queued, pending, processing, refunded, failed,
  canceled), `POST /payments/{id}/captures` for authorised (pay-later) payments;
- `POST /payment-links`, `GET /payment-links/{id}` and `/payment-links/{id}/payments`;
- the webhook is a form-encoded POST with only `id=tr_…` (or `pl_…`), never a status;
- `Idempotency-Key` on every POST, so a call repeated after a time-out is safe.
Response dates are read leniently: Mollie has sent malformed values (`captureBefore`
`2023-01-20T09:13:37+00+00`); a date that cannot be repaired is None, never an error.
"""

import datetime
import logging
import re
from dataclasses import replace
from decimal import Decimal

import requests
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import ZERO, from_cents
from payments import conf
from payments.exceptions import (
    ProviderNotConfigured,
    ProviderPaymentNotFound,
    ProviderRejected,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
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

logger = logging.getLogger(__name__)

PAYMENT_ID = re.compile(r"tr_[A-Za-z0-9]{1,64}")
LINK_ID = re.compile(r"pl_[A-Za-z0-9]{1,64}")
WEBHOOK_ID = re.compile(r"(?:tr|pl)_[A-Za-z0-9]{1,64}")

STATUSES = {
    "open": ProviderStatus.OPEN,
    "pending": ProviderStatus.PENDING,
    "authorized": ProviderStatus.AUTHORIZED,
    "paid": ProviderStatus.PAID,
    "canceled": ProviderStatus.CANCELLED,
    "cancelled": ProviderStatus.CANCELLED,
    "expired": ProviderStatus.EXPIRED,
    "failed": ProviderStatus.FAILED,
}
REFUND_STATUSES = {
    "queued": RefundStatus.QUEUED,
    "pending": RefundStatus.PENDING,
    "processing": RefundStatus.PROCESSING,
    "refunded": RefundStatus.REFUNDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELLED,
    "cancelled": RefundStatus.CANCELLED,
}
# Our payment methods (API contract) and Mollie's names for them.
METHODS_TO_MOLLIE = {
    "ideal": "ideal",
    "card": "creditcard",
    "paypal": "paypal",
    "bancontact": "bancontact",
    "bank_transfer": "banktransfer",
    "pay_later": "riverty",
    "pos": "pointofsale",
}
METHODS_FROM_MOLLIE = {
    "ideal": "ideal",
    "creditcard": "card",
    "paypal": "paypal",
    "bancontact": "bancontact",
    "banktransfer": "bank_transfer",
    "riverty": "pay_later",
    "klarna": "pay_later",
    "klarnapaylater": "pay_later",
    "klarnasliceit": "pay_later",
    "klarnapaynow": "pay_later",
    "billie": "pay_later",
    "in3": "pay_later",
    "pointofsale": "pos",
}

_MONEY = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,2})?")
_BROKEN_OFFSET = re.compile(r"^(.*T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)([+-][0-9]{2})[+:-]?([0-9]{2})?$")
MAX_PAGES = 10


def parse_mollie_datetime(value: object) -> datetime.datetime | None:
    """An aware datetime from Mollie's ISO 8601 text; repairs a malformed UTC offset
    (`+00+00`); None for anything else that is not a date."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        match = _BROKEN_OFFSET.match(text)
        parsed = None
        if match:
            base, hours, minutes = match.groups()
            try:
                parsed = datetime.datetime.fromisoformat(f"{base}{hours}:{minutes or '00'}")
            except ValueError:
                parsed = None
        if parsed is None:
            logger.warning("mollie sent an unreadable date", extra={"value": text[:60]})
            return None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


def _money(value: object, *, what: str) -> tuple[Decimal, str]:
    """Mollie's amount object {"value": "10.00", "currency": "EUR"} → (Decimal, currency)."""
    if not isinstance(value, dict) or not isinstance(value.get("value"), str):
        raise ProviderResponseInvalid(_("Mollie sent no readable %(what)s.") % {"what": what})
    text = value["value"].strip()
    if not _MONEY.fullmatch(text):
        raise ProviderResponseInvalid(_("Mollie sent no readable %(what)s.") % {"what": what})
    whole, _dot, decimals = text.lstrip("-").partition(".")
    cents = int(whole) * 100 + int((decimals + "00")[:2])
    amount = from_cents(cents)
    return (-amount if text.startswith("-") else amount), str(value.get("currency") or "EUR").upper()


def _optional_money(value: object, *, what: str) -> Decimal | None:
    if value is None:
        return None
    return _money(value, what=what)[0]


def _as_string(value: object) -> str:
    return value if isinstance(value, str) else ""


def mollie_amount(cents: int, currency: str = "EUR") -> dict:
    """Integer cents → Mollie's amount object with a two-decimal string."""
    return {"currency": currency, "value": f"{cents // 100}.{cents % 100:02d}"}


class MollieProvider(PaymentProvider):
    code = "mollie"

    def __init__(
        self,
        api_key: str | None = None,
        *,
        endpoint: str | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] | None = None,
    ):
        self.api_key = (api_key if api_key is not None else conf.mollie_api_key()).strip()
        self.endpoint = (endpoint or conf.mollie_api_endpoint()).rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout or conf.mollie_timeout()

    # --- HTTP -------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: dict | None = None,
        idempotency_key: str | None = None,
    ) -> dict:
        if not re.fullmatch(r"(live|test)_\w+", self.api_key):
            raise ProviderNotConfigured(_("MOLLIE_API_KEY is not set to a live_… or test_… key."))
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/hal+json, application/json",
            "User-Agent": "backoffice (+https://docs.mollie.com)",
        }
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        url = f"{self.endpoint}/{path}"
        try:
            response = self.session.request(method, url, json=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ProviderUnavailable(
                _("Mollie cannot be reached: %(error)s") % {"error": exc.__class__.__name__}
            ) from exc
        return self._answer(response, idempotency_key)

    def _answer(self, response: requests.Response, idempotency_key: str | None) -> dict:
        status = response.status_code
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = None
        if 200 <= status < 300:
            if not isinstance(data, dict):
                raise ProviderResponseInvalid(_("Mollie answered something that is not JSON."))
            return data
        detail = ""
        field = None
        if isinstance(data, dict):
            detail = _as_string(data.get("detail"))
            field = _as_string(data.get("field")) or None
        extra = {"status": status, "field": field, "idempotency_key": idempotency_key}
        message = _("Mollie answered %(status)s: %(detail)s") % {"status": status, "detail": detail or response.reason}
        if status == 429 or status >= 500:
            raise ProviderUnavailable(message, extra=extra)
        if status in (401, 403):
            raise ProviderNotConfigured(message, extra=extra)
        if status in (404, 410):
            raise ProviderPaymentNotFound(message, extra=extra)
        raise ProviderRejected(message, attr=field, extra=extra)

    # --- reading ----------------------------------------------------------------------

    def _payment(self, data: dict, *, chargebacks: tuple[ProviderChargeback, ...] = ()) -> ProviderPayment:
        provider_id = _as_string(data.get("id"))
        if not provider_id:
            raise ProviderResponseInvalid(_("Mollie sent a payment without an id."))
        raw_status = _as_string(data.get("status"))
        if raw_status not in STATUSES:
            raise ProviderResponseInvalid(
                _("Mollie sent an unknown payment status %(status)r.") % {"status": raw_status}
            )
        status = STATUSES[raw_status]
        amount, currency = _money(data.get("amount"), what="amount")
        captured = _optional_money(data.get("amountCaptured"), what="amountCaptured")
        if captured is None:
            captured = amount if status == ProviderStatus.PAID else ZERO
        charged_back = _optional_money(data.get("amountChargedBack"), what="amountChargedBack")
        if charged_back is None:
            charged_back = sum((c.amount for c in chargebacks if not c.is_reversed and c.currency == currency), ZERO)
        links = data.get("_links") if isinstance(data.get("_links"), dict) else {}
        checkout = links.get("checkout") if isinstance(links.get("checkout"), dict) else {}
        metadata = data.get("metadata")
        raw_method = _as_string(data.get("method"))
        return ProviderPayment(
            id=provider_id,
            status=status,
            amount=amount,
            amount_refunded=_optional_money(data.get("amountRefunded"), what="amountRefunded") or ZERO,
            amount_captured=captured,
            amount_charged_back=charged_back,
            method=METHODS_FROM_MOLLIE.get(raw_method, raw_method),
            checkout_url=_as_string(checkout.get("href")),
            paid_at=parse_mollie_datetime(data.get("paidAt")),
            expires_at=parse_mollie_datetime(data.get("expiresAt")),
            metadata=metadata if isinstance(metadata, dict) else ({"value": metadata} if metadata is not None else {}),
            currency=currency,
            description=_as_string(data.get("description")),
            capture_before=parse_mollie_datetime(data.get("captureBefore")),
            chargebacks=chargebacks,
            provider_status=raw_status,
        )

    def _chargebacks(self, payment_id: str) -> tuple[ProviderChargeback, ...]:
        found: list[ProviderChargeback] = []
        path = f"payments/{payment_id}/chargebacks"
        for _page in range(MAX_PAGES):
            data = self._request("GET", path)
            embedded = data.get("_embedded") if isinstance(data.get("_embedded"), dict) else {}
            items = embedded.get("chargebacks") if isinstance(embedded.get("chargebacks"), list) else []
            for item in items:
                if not isinstance(item, dict):
                    continue
                if item.get("paymentId") not in (None, payment_id):
                    continue
                amount, currency = _money(item.get("amount"), what="chargeback amount")
                found.append(
                    ProviderChargeback(
                        id=_as_string(item.get("id")),
                        amount=amount,
                        currency=currency,
                        created_at=parse_mollie_datetime(item.get("createdAt")),
                        reversed_at=parse_mollie_datetime(item.get("reversedAt")),
                    )
                )
            next_link = (data.get("_links") or {}).get("next") if isinstance(data.get("_links"), dict) else None
            href = next_link.get("href") if isinstance(next_link, dict) else None
            # Only pages of our own endpoint are followed: the API key never goes elsewhere.
            if not isinstance(href, str) or not href.startswith(f"{self.endpoint}/"):
                break
            path = href[len(self.endpoint) + 1 :]
        return tuple(found)

    def _fetch_payment(self, payment_id: str) -> ProviderPayment:
        data = self._request("GET", f"payments/{payment_id}")
        links = data.get("_links") if isinstance(data.get("_links"), dict) else {}
        charged_back = _optional_money(data.get("amountChargedBack"), what="amountChargedBack")
        chargebacks: tuple[ProviderChargeback, ...] = ()
        if "chargebacks" in links or (charged_back is not None and charged_back > 0):
            chargebacks = self._chargebacks(payment_id)
        return self._payment(data, chargebacks=chargebacks)

    def _link_paid_payment_id(self, link_id: str) -> str | None:
        data = self._request("GET", f"payment-links/{link_id}/payments")
        embedded = data.get("_embedded") if isinstance(data.get("_embedded"), dict) else {}
        payments = embedded.get("payments") if isinstance(embedded.get("payments"), list) else []
        for wanted in ("paid", "authorized"):
            for item in payments:
                if (
                    isinstance(item, dict)
                    and item.get("status") == wanted
                    and PAYMENT_ID.fullmatch(str(item.get("id")))
                ):
                    return str(item["id"])
        return None

    def _link(self, data: dict) -> ProviderPayment:
        link_id = _as_string(data.get("id"))
        if not LINK_ID.fullmatch(link_id):
            raise ProviderResponseInvalid(_("Mollie sent a payment link without an id."))
        amount, currency = _money(data.get("amount"), what="amount")
        links = data.get("_links") if isinstance(data.get("_links"), dict) else {}
        href = links.get("paymentLink") if isinstance(links.get("paymentLink"), dict) else {}
        checkout_url = _as_string(href.get("href"))
        paid_at = parse_mollie_datetime(data.get("paidAt"))
        expires_at = parse_mollie_datetime(data.get("expiresAt"))
        if paid_at is not None:
            payment_id = self._link_paid_payment_id(link_id)
            if payment_id:
                payment = self._fetch_payment(payment_id)
                return replace(
                    payment,
                    id=link_id,
                    checkout_url=checkout_url,
                    expires_at=expires_at,
                    metadata={**payment.metadata, "payment_id": payment_id},
                )
            status, captured = ProviderStatus.PAID, amount
        elif expires_at is not None and expires_at <= timezone.now():
            status, captured = ProviderStatus.EXPIRED, ZERO
        else:
            status, captured = ProviderStatus.OPEN, ZERO
        return ProviderPayment(
            id=link_id,
            status=status,
            amount=amount,
            amount_refunded=ZERO,
            amount_captured=captured,
            amount_charged_back=ZERO,
            method="",
            checkout_url=checkout_url,
            paid_at=paid_at,
            expires_at=expires_at,
            metadata={},
            currency=currency,
            description=_as_string(data.get("description")),
            provider_status="paid" if paid_at else status.value,
        )

    def _payment_id_for(self, provider_id: str) -> str:
        """The tr_ payment behind an id (a paid payment link has one)."""
        if PAYMENT_ID.fullmatch(provider_id or ""):
            return provider_id
        if LINK_ID.fullmatch(provider_id or ""):
            self._request("GET", f"payment-links/{provider_id}")  # 404 when unknown
            payment_id = self._link_paid_payment_id(provider_id)
            if payment_id:
                return payment_id
            raise ProviderRejected(
                _("Payment link %(id)s has not been paid.") % {"id": provider_id}, code="payment_not_paid"
            )
        raise ProviderPaymentNotFound(_("%(id)r is not a Mollie payment id.") % {"id": str(provider_id)[:80]})

    # --- the interface ----------------------------------------------------------------

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
        """`provider_options` are sent to Mollie as they are (e.g. `lines`,
        `billingAddress`, `locale`: Mollie requires lines and addresses for Riverty and
        Klarna)."""
        cents = require_amount(amount)
        key = require_idempotency_key(idempotency_key)
        method = require_method(method)
        body: dict = {
            **(provider_options or {}),
            "amount": mollie_amount(cents),
            "description": (description or reference or "")[:255],
            "redirectUrl": redirect_url,
            "metadata": {**(metadata or {}), "reference": reference},
        }
        if webhook_url:
            body["webhookUrl"] = webhook_url
        if method:
            if method not in METHODS_TO_MOLLIE:
                raise ProviderRejected(
                    _("Mollie does not take payment method %(method)r.") % {"method": method},
                    code="unsupported_payment_method",
                    attr="method",
                )
            body["method"] = METHODS_TO_MOLLIE[method]
        if manual_capture:
            body["captureMode"] = "manual"
        return self._payment(self._request("POST", "payments", body=body, idempotency_key=key))

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
        cents = require_amount(amount)
        key = require_idempotency_key(idempotency_key)
        body: dict = {
            "amount": mollie_amount(cents),
            "description": (description or reference or "")[:255],
            "redirectUrl": redirect_url,
        }
        if webhook_url:
            body["webhookUrl"] = webhook_url
        if expires_at is not None:
            body["expiresAt"] = expires_at.astimezone(datetime.UTC).isoformat(timespec="seconds")
        return self._link(self._request("POST", "payment-links", body=body, idempotency_key=key))

    def get_payment(self, provider_id: str) -> ProviderPayment:
        if LINK_ID.fullmatch(provider_id or ""):
            return self._link(self._request("GET", f"payment-links/{provider_id}"))
        if not PAYMENT_ID.fullmatch(provider_id or ""):
            raise ProviderPaymentNotFound(_("%(id)r is not a Mollie payment id.") % {"id": str(provider_id)[:80]})
        return self._fetch_payment(provider_id)

    def refund(self, *, provider_id: str, amount: Decimal, description: str, idempotency_key: str) -> ProviderRefund:
        cents = require_amount(amount)
        key = require_idempotency_key(idempotency_key)
        payment_id = self._payment_id_for(provider_id)
        data = self._request(
            "POST",
            f"payments/{payment_id}/refunds",
            body={"amount": mollie_amount(cents), "description": (description or "")[:255]},
            idempotency_key=key,
        )
        return self._refund(data, payment_id)

    def _refund(self, data: dict, payment_id: str) -> ProviderRefund:
        raw_status = _as_string(data.get("status"))
        if raw_status not in REFUND_STATUSES:
            raise ProviderResponseInvalid(
                _("Mollie sent an unknown refund status %(status)r.") % {"status": raw_status}
            )
        amount, currency = _money(data.get("amount"), what="refund amount")
        return ProviderRefund(
            id=_as_string(data.get("id")),
            payment_id=_as_string(data.get("paymentId")) or payment_id,
            amount=amount,
            currency=currency,
            status=REFUND_STATUSES[raw_status],
            description=_as_string(data.get("description")),
            created_at=parse_mollie_datetime(data.get("createdAt")),
        )

    def capture(self, *, provider_id: str, amount: Decimal, idempotency_key: str) -> ProviderCapture:
        cents = require_amount(amount)
        key = require_idempotency_key(idempotency_key)
        payment_id = self._payment_id_for(provider_id)
        data = self._request(
            "POST", f"payments/{payment_id}/captures", body={"amount": mollie_amount(cents)}, idempotency_key=key
        )
        captured, currency = _money(data.get("amount"), what="capture amount")
        return ProviderCapture(
            id=_as_string(data.get("id")),
            payment_id=_as_string(data.get("paymentId")) or payment_id,
            amount=captured,
            currency=currency,
            status=_as_string(data.get("status")),
            created_at=parse_mollie_datetime(data.get("createdAt")),
        )

    def parse_webhook(self, request_body: bytes, content_type: str | None) -> str | None:
        return webhook_id(request_body, content_type, WEBHOOK_ID)
