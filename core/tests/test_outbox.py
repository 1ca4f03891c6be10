import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.models import OutboxMessage
from core.services import WORKER_HEARTBEAT_KEY, outbox_batch, outbox_drain, outbox_enqueue, outbox_enqueue_many


@pytest.mark.django_db(transaction=True)
def test_enqueued_work_runs_after_commit_and_is_marked_sent():
    from django.core.cache import cache

    # when
    with transaction.atomic():
        message = outbox_enqueue("core.worker_heartbeat")
        assert cache.get(WORKER_HEARTBEAT_KEY) is None  # nothing leaves before commit
    # then
    message.refresh_from_db()
    assert message.sent_at is not None
    assert cache.get(WORKER_HEARTBEAT_KEY) is not None


@pytest.mark.django_db(transaction=True)
def test_rolled_back_change_leaves_no_work():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue("core.worker_heartbeat")
        raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_work_the_broker_refused_is_kept_and_drained_later(monkeypatch):
    from backoffice.celery import app

    task = app.tasks["core.worker_heartbeat"]

    # given: the broker is down when the change commits
    def broker_down(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(task, "apply_async", broker_down)
    with transaction.atomic():
        message = outbox_enqueue("core.worker_heartbeat")
    message.refresh_from_db()
    assert message.sent_at is None and message.attempts == 1
    assert "redis down" in message.last_error
    assert outbox_drain(older_than_seconds=0) == 0  # still down: kept
    # when: the broker is back
    monkeypatch.undo()
    sent = outbox_drain(older_than_seconds=0)
    # then
    assert sent == 1
    message.refresh_from_db()
    assert message.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_enqueue_requires_a_transaction():
    with pytest.raises(RuntimeError):
        outbox_enqueue("core.worker_heartbeat")


@pytest.mark.django_db(transaction=True)
def test_many_messages_of_one_change_are_published_together_after_commit():
    from django.core.cache import cache

    # when
    with transaction.atomic():
        messages = outbox_enqueue_many([("core.worker_heartbeat", {}), ("core.worker_heartbeat", {})])
        assert OutboxMessage.objects.count() == 2
        assert cache.get(WORKER_HEARTBEAT_KEY) is None  # nothing leaves before commit
    # then
    assert len(messages) == 2
    assert OutboxMessage.objects.filter(sent_at__isnull=False, attempts=1).count() == 2
    assert cache.get(WORKER_HEARTBEAT_KEY) is not None


@pytest.mark.django_db(transaction=True)
def test_many_messages_the_broker_refused_are_kept_and_drained_later(monkeypatch):
    from backoffice.celery import app

    task = app.tasks["core.worker_heartbeat"]

    # given: the broker is down when the change commits
    def broker_down(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(task, "apply_async", broker_down)
    with transaction.atomic():
        outbox_enqueue_many([("core.worker_heartbeat", {}), ("core.worker_heartbeat", {})])
    assert (
        OutboxMessage.objects.filter(sent_at__isnull=True, attempts=1, last_error__contains="redis down").count() == 2
    )
    # when: the broker is back
    monkeypatch.undo()
    sent = outbox_drain(older_than_seconds=0)
    # then
    assert sent == 2
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_enqueue_many_requires_a_transaction():
    with pytest.raises(RuntimeError):
        outbox_enqueue_many([("core.worker_heartbeat", {})])
    assert outbox_enqueue_many([]) == []


@pytest.mark.django_db(transaction=True)
def test_a_batch_writes_its_messages_in_one_insert_and_publishes_them_after_commit():
    from django.core.cache import cache

    # when
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with outbox_batch():
            first = outbox_enqueue("core.worker_heartbeat")
            outbox_enqueue("core.worker_heartbeat")
            assert first.pk is None and not OutboxMessage.objects.exists()  # gathered, not written yet
        assert cache.get(WORKER_HEARTBEAT_KEY) is None  # nothing leaves before commit
    # then
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "core_outboxmessage"')]
    assert len(inserts) == 1
    assert OutboxMessage.objects.filter(sent_at__isnull=False, attempts=1).count() == 2
    assert cache.get(WORKER_HEARTBEAT_KEY) is not None


@pytest.mark.django_db(transaction=True)
def test_a_message_of_a_rolled_back_nested_block_is_not_sent_by_the_batch():
    # when: a nested block records a message, then rolls back
    with transaction.atomic(), outbox_batch():
        outbox_enqueue("core.worker_heartbeat", kept=True)
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox_enqueue("core.worker_heartbeat", kept=False)
            raise RuntimeError("the nested change failed")
    # then
    assert [(m.kwargs, m.sent_at is not None) for m in OutboxMessage.objects.all()] == [({"kept": True}, True)]


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_raises_writes_nothing_and_needs_a_transaction():
    with pytest.raises(RuntimeError, match="failed"), transaction.atomic(), outbox_batch():
        outbox_enqueue("core.worker_heartbeat")
        raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()
    with pytest.raises(RuntimeError, match="inside the transaction"), outbox_batch():
        pass
