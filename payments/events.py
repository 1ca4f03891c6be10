"""Event rows: every change of a payment writes who, when, from, to, how much.

A `key` makes an event idempotent: the same change arriving twice (a replayed webhook,
a statement imported again, a task run twice) finds its key taken and is not booked
again (`payment_event_key_taken`)."""

from decimal import Decimal

from core.audit import actor_label
from core.money import ZERO
from payments.models import CreditEntry, Payment, PaymentEvent


def actor_fields(actor) -> dict:
    user = actor if getattr(actor, "pk", None) and hasattr(actor, "username") else None
    label = actor_label(user)[:120] or ("system" if actor is None else str(actor)[:120])
    return {"actor": user, "actor_label": label}


def payment_event_build(
    *,
    payment: Payment,
    kind: str,
    actor=None,
    from_status: str = "",
    to_status: str = "",
    amount: Decimal = ZERO,
    key: str | None = None,
    data: dict | None = None,
) -> PaymentEvent:
    return PaymentEvent(
        payment=payment,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        amount=amount,
        key=key[:200] if key else None,
        data=data or {},
        **actor_fields(actor),
    )


def payment_event_create(**kwargs) -> PaymentEvent:
    event = payment_event_build(**kwargs)
    event.save()
    return event


def payment_events_create(events: list[PaymentEvent]) -> list[PaymentEvent]:
    return PaymentEvent.objects.bulk_create(events) if events else []


def payment_event_key_taken(key: str) -> bool:
    return PaymentEvent.objects.filter(key=key[:200]).exists()


def credit_entry_build(**kwargs) -> CreditEntry:
    actor = kwargs.pop("actor", None)
    return CreditEntry(**kwargs, **actor_fields(actor))
