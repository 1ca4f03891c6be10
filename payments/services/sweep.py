"""The safety net beside the webhooks: a provider's webhook can be lost (our outage,
theirs), and a payment a shop made before it posted the order never calls us. Payments
still open at a provider are asked about periodically, newest first."""

import datetime
import logging

from django.utils import timezone

from payments.exceptions import ProviderError
from payments.models import Payment
from payments.services.payments import payment_sync
from payments.states import PaymentStatus

logger = logging.getLogger(__name__)
OPEN_STATUSES = (PaymentStatus.OPEN, PaymentStatus.PENDING, PaymentStatus.AUTHORIZED)
SWEEP_DAYS = 30
SWEEP_EVERY_MINUTES = 10


def payments_sync_open(*, batch_size: int = 200) -> int:
    """Sync open provider payments not asked about for a while. Returns how many."""
    now = timezone.now()
    stale = now - datetime.timedelta(minutes=SWEEP_EVERY_MINUTES)
    candidates = list(
        Payment.objects.filter(status__in=OPEN_STATUSES, created_at__gte=now - datetime.timedelta(days=SWEEP_DAYS))
        .exclude(provider="")
        .exclude(provider_id="")
        .exclude(last_synced_at__gte=stale)
        .order_by("-created_at")
        .values_list("provider", "provider_id")[:batch_size]
    )
    synced = 0
    for provider, provider_id in candidates:
        try:
            payment_sync(provider=provider, provider_id=provider_id)
        except ProviderError as exc:  # one provider down must not stop the others
            logger.warning("payment sync failed", extra={"provider": provider, "error": str(exc)})
            continue
        synced += 1
    return synced
