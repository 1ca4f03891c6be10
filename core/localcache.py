"""A small in-process cache with a time limit, for data read on every request that
changes rarely (API keys, business rules, VAT rates). Every process keeps its own copy,
so a change reaches all processes within `LOCAL_CACHE_SECONDS` (default 15 s; 0 turns
caching off, as the test settings do). A change made in this process clears it at once."""

import threading
import time
from typing import Any

from django.conf import settings

MISSING = object()
_registry: list["LocalCache"] = []


class LocalCache:
    def __init__(self, name: str, max_entries: int = 10_000):
        self.name = name
        self.max_entries = max_entries
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        _registry.append(self)

    @staticmethod
    def seconds() -> float:
        return float(getattr(settings, "LOCAL_CACHE_SECONDS", 15))

    def get(self, key) -> Any:
        ttl = self.seconds()
        if ttl <= 0:
            return MISSING
        entry = self._data.get(key)
        if entry is None or time.monotonic() - entry[0] > ttl:
            return MISSING
        return entry[1]

    def set(self, key, value) -> None:
        if self.seconds() <= 0:
            return
        with self._lock:
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[key] = (time.monotonic(), value)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def clear_all() -> None:
    for cache in _registry:
        cache.clear()
