"""Per-key throttling: each API key has its own budget (a key's `rate_limit` overrides
the default), and unauthenticated calls share a budget per IP address.

A fixed-window counter: one atomic increment per request (one Redis round trip, an
INCR and EXPIRE in a pipeline) instead of DRF's read-modify-write of a timestamp list.
A client may spend up to twice its rate across a window boundary; it never spends more
than its rate within one window. When the cache is down the request is let through
(the cache is not essential; see core/cache.py)."""

import logging
import time

from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from core.cache import UNAVAILABLE, ResilientRedisCache
from core.models import ApiKey

logger = logging.getLogger(__name__)


def window_hit(key: str, window_seconds: int) -> int:
    """Count one hit in the current window of `key`; returns the hits so far."""
    cache = caches["default"]  # the backend itself: `django.core.cache.cache` is a proxy to it
    if isinstance(cache, ResilientRedisCache):
        raw_key = cache.make_and_validate_key(key)
        client = cache.raw_client(raw_key, write=True)
        pipe = client.pipeline(transaction=False)
        pipe.incr(raw_key)
        pipe.expire(raw_key, window_seconds + 1)
        return int(pipe.execute()[0])
    cache.add(key, 0, timeout=window_seconds + 1)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window_seconds + 1)
        return 1


class FixedWindowRateThrottle(SimpleRateThrottle):
    def allow_request(self, request, view):
        if self.rate is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        try:
            hits = window_hit(f"{ident}:{window}", int(self.duration))
        except UNAVAILABLE as exc:
            logger.warning("throttle cache unavailable", extra={"error": str(exc)})
            return True
        self._wait = self.duration - (now % self.duration)
        return hits <= self.num_requests

    def wait(self):
        return getattr(self, "_wait", None)


class ApiKeyRateThrottle(FixedWindowRateThrottle):
    scope = "api_key"

    def allow_request(self, request, view):
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        if api_key is not None and api_key.rate_limit:
            self.rate = api_key.rate_limit
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class AnonymousRateThrottle(FixedWindowRateThrottle):
    scope = "anonymous"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
