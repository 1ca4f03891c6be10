"""Events to shops: a channel may register a webhook URL; order status changes,
shipments (with tracking) and invoices are posted to it, signed, retried with backoff.

Signature: header `X-Backoffice-Signature: t=<unix time>,v1=<hex HMAC-SHA256>` over
`"<t>.<raw body>"` with the channel's webhook secret. Receivers compare in constant time
and reject stale timestamps; `X-Backoffice-Delivery` is the delivery id to dedupe on
(delivery is at least once)."""

import datetime
import hashlib
import hmac
import json
import time

import requests
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from core.services import outbox_enqueue, outbox_enqueue_many
from orders.models import Order, WebhookDelivery

MAX_ATTEMPTS = 8
FIRST_ATTEMPT_GRACE = datetime.timedelta(minutes=5)
TIMEOUT_SECONDS = (3.05, 10)


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def webhook_signature_is_valid(*, secret: str, header: str, body: bytes, tolerance_seconds: int = 300) -> bool:
    """For receivers (and our tests): constant-time check of the signature header."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        received = parts["v1"]
    except (ValueError, KeyError):
        return False
    if abs(time.time() - timestamp) > tolerance_seconds:
        return False
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, received)


def _delivery(*, order: Order, event: str, data: dict, now: datetime.datetime) -> WebhookDelivery:
    payload = {
        "event": event,
        "occurred_at": now.isoformat(),
        "order": {"number": order.number, "external_reference": order.external_reference, "status": order.status},
        "data": data,
    }
    return WebhookDelivery(
        channel=order.channel,
        order=order,
        event=event,
        payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
        # the first attempt is the task queued with it; the sweep only picks it up if that
        # attempt never happened (lost worker) or failed
        next_attempt_at=now + FIRST_ATTEMPT_GRACE,
    )


def webhook_enqueue(*, order: Order, event: str, data: dict) -> WebhookDelivery | None:
    """Record an event for the order's channel (inside the caller's transaction)."""
    if not order.channel.webhook_url:
        return None
    delivery = _delivery(order=order, event=event, data=data, now=timezone.now())
    delivery.save(force_insert=True)
    outbox_enqueue("orders.webhook_deliver", delivery_id=delivery.pk)
    return delivery


def webhooks_enqueue(*, items: list[tuple[Order, str, dict]]) -> list[WebhookDelivery]:
    """`webhook_enqueue` for many (order, event, data), in that order, inside the caller's
    transaction: one INSERT for the deliveries, one for their outbox messages."""
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            _delivery(order=order, event=event, data=data, now=now)
            for order, event, data in items
            if order.channel.webhook_url
        ],
        batch_size=500,
    )
    outbox_enqueue_many([("orders.webhook_deliver", {"delivery_id": delivery.pk}) for delivery in deliveries])
    return deliveries


def _backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery:
    """Post one delivery. The HTTP call runs outside any transaction or lock; the result
    is recorded afterwards. Returns the delivery (pending again with a next attempt time
    when it failed and attempts remain)."""
    delivery = WebhookDelivery.objects.select_related("channel").get(pk=delivery_id)
    if delivery.status != WebhookDelivery.Status.PENDING:
        return delivery
    channel = delivery.channel
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "backoffice-webhooks/1",
        "X-Backoffice-Event": delivery.event,
        "X-Backoffice-Delivery": str(delivery.pk),
        "X-Backoffice-Signature": webhook_signature(secret=channel.webhook_secret, timestamp=timestamp, body=body),
    }
    status_code, error = None, ""
    try:
        response = requests.post(channel.webhook_url, data=body, headers=headers, timeout=TIMEOUT_SECONDS)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {response.text[:500]}"
    except requests.RequestException as exc:
        error = f"{exc.__class__.__name__}: {exc}"[:2000]
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status != WebhookDelivery.Status.PENDING:
            return delivery
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        if not error:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + _backoff(delivery.attempts)
        delivery.save(
            update_fields=["attempts", "last_status_code", "last_error", "status", "delivered_at", "next_attempt_at"]
        )
    return delivery


def webhook_retry_due(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Queue the deliveries whose next attempt is due (beat runs this every minute)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        # push the next look-up back so the next sweep does not queue them again
        WebhookDelivery.objects.filter(pk__in=due).update(next_attempt_at=now + FIRST_ATTEMPT_GRACE)
        for delivery_id in due:
            outbox_enqueue("orders.webhook_deliver", delivery_id=delivery_id)
    return len(due)


@transaction.atomic
def webhook_redeliver(*, delivery_id: int, actor=None) -> WebhookDelivery:
    """Staff: send a failed delivery again (a fresh series of attempts)."""
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    outbox_enqueue("orders.webhook_deliver", delivery_id=delivery.pk)
    return delivery
