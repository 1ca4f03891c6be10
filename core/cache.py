"""A Redis cache that degrades instead of failing when Redis is unreachable.

The cache holds throttle counters, the API key 'last used' stamp, the worker heartbeat:
useful, never essential. Order intake must keep working while Redis is down (the work
for later waits in the outbox), so reads answer 'not cached' and writes are skipped,
with a warning in the log. Counter operations (`incr`/`decr`) still raise: callers that
rely on atomic counters (carrier quotas) must not run blind."""

import logging

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


class ReusingRedisCacheClient(RedisCacheClient):
    """Django's client makes a new `redis.Redis` object (and its table of response
    callbacks) for every cache operation; this one keeps one per connection pool. A
    `redis.Redis` object is safe to share between threads: it takes a connection from
    its pool for each command."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def raw_client(self, key: str, *, write: bool = False):
        """The redis-py client for `key` (already made with make_and_validate_key), for
        what the cache API cannot say in one round trip (a pipeline)."""
        return self._cache.get_client(key, write=write)

    def _degraded(self, operation: str, exc: Exception, result):
        logger.warning("cache unavailable", extra={"operation": operation, "error": str(exc)})
        return result

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except UNAVAILABLE as exc:
            return self._degraded("get", exc, default)

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except UNAVAILABLE as exc:
            return self._degraded("get_many", exc, {})

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except UNAVAILABLE as exc:
            return self._degraded("has_key", exc, False)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().add(key, value, timeout, version)
        except UNAVAILABLE as exc:
            return self._degraded("add", exc, False)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set(key, value, timeout, version)
        except UNAVAILABLE as exc:
            return self._degraded("set", exc, None)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set_many(data, timeout, version)
        except UNAVAILABLE as exc:
            return self._degraded("set_many", exc, list(data))

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except UNAVAILABLE as exc:
            return self._degraded("touch", exc, False)

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except UNAVAILABLE as exc:
            return self._degraded("delete", exc, False)

    def delete_many(self, keys, version=None):
        try:
            return super().delete_many(keys, version)
        except UNAVAILABLE as exc:
            return self._degraded("delete_many", exc, None)
