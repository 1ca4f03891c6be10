"""Writes for core: sales channels, API keys and the outbox."""

import datetime
import logging
import secrets
import threading
from contextlib import contextmanager
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.throttling import SimpleRateThrottle

from core.audit import audited
from core.db import asynchronous_commit
from core.exceptions import ApplicationError
from core.models import ApiKey, BusinessRule, OutboxMessage, SalesChannel, User
from core.selectors import api_key_hash, api_keys_forget

logger = logging.getLogger(__name__)


@transaction.atomic
def channel_create_or_update(
    *,
    code: str,
    name: str,
    cutoff_time: datetime.time | None = None,
    partial_shipments: bool | None = None,
    kind: str | None = None,
    order_number_prefix: str | None = None,
    actor: User | None = None,
) -> tuple[SalesChannel, bool]:
    """Create a sales channel, or update the given fields of an existing one."""
    channel = SalesChannel.objects.select_for_update().filter(code=code).first()
    created = channel is None
    if created:
        channel = SalesChannel(code=code)
    channel.name = name
    if cutoff_time is not None:
        channel.cutoff_time = cutoff_time
    if partial_shipments is not None:
        channel.partial_shipments = partial_shipments
    if kind is not None:
        channel.kind = kind
    if order_number_prefix is not None:
        channel.order_number_prefix = order_number_prefix
    elif created:
        channel.order_number_prefix = "".join(c for c in code.upper() if c.isalnum())[:3] or "ORD"
    channel.full_clean()
    with audited(actor):
        channel.save()
    return channel, created


def _validate_rate(rate: str) -> None:
    try:
        SimpleRateThrottle.parse_rate(None, rate)
    except (ValueError, KeyError, IndexError) as exc:
        raise ApplicationError(f"Not a rate limit: {rate!r} (use e.g. 600/min).", attr="rate_limit") from exc


@transaction.atomic
def api_key_create(
    *,
    name: str,
    channel: SalesChannel | None = None,
    location=None,
    user: User | None = None,
    rate_limit: str = "",
    created_by: User | None = None,
) -> tuple[ApiKey, str]:
    """Make a key for exactly one owner. Returns the key row and the raw key, which is
    not stored and cannot be shown again."""
    owners = [o for o in (channel, location, user) if o is not None]
    if len(owners) != 1:
        raise ApplicationError("An API key belongs to exactly one channel, location or staff user.")
    if rate_limit:
        _validate_rate(rate_limit)
    kind = ApiKey.Kind.CHANNEL if channel else ApiKey.Kind.LOCATION if location else ApiKey.Kind.STAFF
    prefix = f"{settings.API_KEY_PREFIX}_{secrets.token_hex(4)}"
    raw_key = f"{prefix}_{secrets.token_urlsafe(32)}"
    with audited(created_by):
        api_key = ApiKey.objects.create(
            name=name,
            kind=kind,
            prefix=prefix,
            key_hash=api_key_hash(raw_key),
            channel=channel,
            location=location,
            user=user,
            rate_limit=rate_limit,
            created_by=created_by,
        )
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(*, api_key_id: int, actor: User | None = None) -> ApiKey:
    api_key = ApiKey.objects.select_for_update().get(pk=api_key_id)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        with audited(actor):
            api_key.save(update_fields=["revoked_at"])
        logger.info("api key revoked", extra={"api_key": api_key.prefix, "actor": str(actor) if actor else None})
        api_keys_forget()
        transaction.on_commit(api_keys_forget)  # again, in case a request cached it meanwhile
    return api_key


@transaction.atomic
def business_rule_create(
    *, key: str, value, valid_from: datetime.datetime, note: str = "", actor: User | None
) -> BusinessRule:
    """A new value for a rule from `valid_from` on; earlier values stay as they were."""
    from core.rules import clear_cache as rules_clear_cache
    from core.rules import rule_definitions

    if key not in rule_definitions():
        raise ApplicationError(_("Unknown business rule %(key)s.") % {"key": key}, code="unknown_rule", attr="key")
    try:
        with transaction.atomic():
            rule = BusinessRule.objects.create(key=key, value=value, valid_from=valid_from, note=note, created_by=actor)
        transaction.on_commit(rules_clear_cache)
        return rule
    except IntegrityError as exc:
        raise ApplicationError(
            _("This rule already has a value from that moment."), code="duplicate_rule", attr="valid_from"
        ) from exc


# --- worker heartbeat ---------------------------------------------------------------

WORKER_HEARTBEAT_KEY = "core:worker-heartbeat"


def worker_heartbeat_record() -> str:
    stamp = timezone.now().isoformat()
    cache.set(WORKER_HEARTBEAT_KEY, stamp, timeout=24 * 3600)
    return stamp


# --- outbox ---------------------------------------------------------------------------


_outbox_batches = threading.local()


@contextmanager
def outbox_batch():
    """Gather the messages that `outbox_enqueue` records in this block into one INSERT and
    one after-commit publish (`outbox_enqueue_many`), written when the block ends, still
    inside the caller's transaction. A change that sends work to several workers (a new
    order: its payment and its webhook) then costs one round trip for the rows and one
    for their publishing, not one of each per message.

    Only a message recorded at the block's own savepoint level is gathered: one recorded
    inside a nested `atomic` is written at once as usual, so a nested block that rolls
    back takes its message with it. If the block raises, nothing gathered is written."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_batch must run inside the transaction of the change that causes it")
    if getattr(_outbox_batches, "current", None) is not None:  # nested: the outer batch writes them
        yield
        return
    batch = _OutboxBatch(connection=connection, depth=len(connection.savepoint_ids))
    _outbox_batches.current = batch
    try:
        yield
    finally:
        _outbox_batches.current = None
    outbox_enqueue_many(batch.messages)


class _OutboxBatch:
    def __init__(self, *, connection, depth: int):
        self.connection = connection
        self.depth = depth
        self.messages: list[tuple[str, dict]] = []

    def takes(self, connection) -> bool:
        return connection is self.connection and len(connection.savepoint_ids) == self.depth


def outbox_enqueue(task_name: str, **kwargs) -> OutboxMessage:
    """Record work for a worker inside the current transaction; it is published after
    commit. If the broker is down the row stays and `outbox_drain` sends it later.

    Inside `outbox_batch` the message is gathered and written when the batch ends: the
    message returned then has no primary key yet."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_enqueue must run inside the transaction of the change that causes it")
    batch = getattr(_outbox_batches, "current", None)
    if batch is not None and batch.takes(connection):
        batch.messages.append((task_name, kwargs))
        return OutboxMessage(task_name=task_name, kwargs=kwargs)
    message = OutboxMessage.objects.create(task_name=task_name, kwargs=kwargs)
    transaction.on_commit(partial(outbox_publish, message_id=message.pk, task_name=task_name, kwargs=kwargs))
    return message


def outbox_publish(*, message_id: int, task_name: str, kwargs: dict) -> bool:
    """Hand one outbox message to Celery; on success mark it sent. Never raises: a message
    that could not be sent is retried by `outbox_drain`."""
    from backoffice.celery import app

    try:
        if task_name not in app.tasks:
            app.loader.import_default_modules()  # autodiscover every app's tasks.py
        task = app.tasks[task_name]
        task.apply_async(kwargs=kwargs, task_id=f"outbox-{message_id}", retry=False)
    except Exception as exc:  # noqa: BLE001 — the broker may fail in any way; the row keeps the work
        OutboxMessage.objects.filter(pk=message_id).update(attempts=_plus_one(), last_error=str(exc)[:2000])
        logger.warning("outbox publish failed", extra={"outbox_id": message_id, "task": task_name, "error": str(exc)})
        return False
    # Marked sent without waiting for the disk: if a database crash loses the mark, the
    # drain sends the message again, and every task is safe to run twice.
    with asynchronous_commit():
        OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).update(
            sent_at=timezone.now(), attempts=_plus_one()
        )
    return True


def outbox_enqueue_many(messages: list[tuple[str, dict]]) -> list[OutboxMessage]:
    """`outbox_enqueue` for many messages [(task name, kwargs)] of one change: one INSERT,
    and one after-commit step that publishes them all and marks the sent ones in one
    UPDATE (a batch of a thousand parcels does not make a thousand round trips twice)."""
    if not messages:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_enqueue must run inside the transaction of the change that causes it")
    rows = OutboxMessage.objects.bulk_create(
        [OutboxMessage(task_name=task_name, kwargs=kwargs) for task_name, kwargs in messages], batch_size=1000
    )
    transaction.on_commit(partial(outbox_publish_many, messages=[(row.pk, row.task_name, row.kwargs) for row in rows]))
    return rows


def outbox_publish_many(*, messages: list[tuple[int, str, dict]]) -> int:
    """Hand outbox messages [(id, task name, kwargs)] to Celery through one producer, in
    one batch (on Redis one pipelined round trip instead of one per message), and mark
    them sent in one UPDATE. Never raises: when the batch fails, none is marked sent (some
    may have reached the broker: `outbox_drain` sends them again, and every task is safe to
    run twice). Returns how many were sent."""
    from backoffice.celery import app

    if not messages:
        return 0
    try:
        with app.producer_or_acquire() as producer, producer.batch():
            for message_id, task_name, kwargs in messages:
                if task_name not in app.tasks:
                    app.loader.import_default_modules()
                app.tasks[task_name].apply_async(
                    kwargs=kwargs, task_id=f"outbox-{message_id}", retry=False, producer=producer
                )
    except Exception as exc:  # noqa: BLE001 — the broker may fail in any way; the rows keep the work
        OutboxMessage.objects.filter(pk__in=[m[0] for m in messages]).update(
            attempts=_plus_one(), last_error=str(exc)[:2000]
        )
        logger.warning("outbox publish failed", extra={"messages": len(messages), "error": str(exc)})
        return 0
    with asynchronous_commit():  # as in `outbox_publish`: a lost mark means a repeat, not a loss
        OutboxMessage.objects.filter(pk__in=[m[0] for m in messages], sent_at__isnull=True).update(
            sent_at=timezone.now(), attempts=_plus_one()
        )
    return len(messages)


def _plus_one() -> F:
    return F("attempts") + 1


def outbox_drain(*, batch_size: int = 500, older_than_seconds: int = 30) -> int:
    """Send what the broker did not take. Only messages older than a few seconds are
    touched, so a message whose on-commit publish is still running is not sent twice."""
    cutoff = timezone.now() - datetime.timedelta(seconds=older_than_seconds)
    sent = 0
    pending = list(
        OutboxMessage.objects.filter(sent_at__isnull=True, created_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", "task_name", "kwargs")[:batch_size]
    )
    for message_id, task_name, kwargs in pending:
        if outbox_publish(message_id=message_id, task_name=task_name, kwargs=kwargs):
            sent += 1
        else:
            break  # the broker is still down; try again at the next run
    return sent
