"""Faults of the world around the back-office: Redis (cache and broker) down."""

import pytest
from django.test import override_settings
from kombu import pools

from backoffice.celery import app as celery_app
from core.models import OutboxMessage
from core.services import outbox_drain
from orders.models import Order, WebhookDelivery
from orders.tests.fixtures import order_body, receive
from orders.tests.test_api_intake import URL

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _reset_broker_pool() -> None:
    """Drop the producer connections so the next publish uses the current broker URL."""
    celery_app.pool.force_close_all()
    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def redis_down():
    """Cache and broker both point at a Redis that is not there."""
    caches = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    original = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url = DEAD_REDIS
    celery_app.conf.task_always_eager = False
    _reset_broker_pool()
    try:
        with override_settings(CACHES=caches):
            yield
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = original
        _reset_broker_pool()


@pytest.mark.django_db(transaction=True)
def test_order_intake_works_while_redis_is_down_and_no_queued_work_is_lost(api_for, channel, utr, tshirt, redis_down):
    # given: a channel with a webhook, so an order makes work for a worker
    channel.webhook_url = "http://127.0.0.1:9/hooks"
    channel.webhook_secret = "x"
    channel.save()
    receive(tshirt, utr, 5)
    client = api_for(channel=channel)
    # when: an order comes in while Redis (cache and broker) is down
    response = client.post(URL, order_body(method="pos"), format="json")
    # then: the order is taken, the work for later waits in the outbox
    assert response.status_code == 201, response.content
    assert Order.objects.count() == 1
    pending = OutboxMessage.objects.filter(sent_at__isnull=True, task_name="orders.webhook_deliver")
    assert pending.count() == 1
    assert pending.get().attempts == 1 and pending.get().last_error


@pytest.mark.django_db(transaction=True)
def test_queued_work_is_drained_when_the_broker_is_back(api_for, channel, utr, tshirt):
    channel.webhook_url = "http://127.0.0.1:9/hooks"
    channel.webhook_secret = "x"
    channel.save()
    receive(tshirt, utr, 5)
    client = api_for(channel=channel)
    original = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = DEAD_REDIS, False
    _reset_broker_pool()
    try:
        assert client.post(URL, order_body(method="pos"), format="json").status_code == 201
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = original
        _reset_broker_pool()
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 1
    # when: the broker is back and the drain runs (beat does this every minute)
    drained = outbox_drain(older_than_seconds=0)
    assert drained == 1, list(OutboxMessage.objects.values_list("task_name", "attempts", "last_error"))
    # then: the work ran (the webhook was attempted: nothing listens on port 9)
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 1 and delivery.status == "pending" and delivery.last_error
