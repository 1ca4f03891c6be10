import hashlib
import time

from django.core.cache import cache
from django.utils import timezone

from core.localcache import MISSING, LocalCache
from core.models import ApiKey, SalesChannel


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


# Resolved keys, per process for a few seconds (core.localcache): a revocation or a
# deactivated owner takes effect in other processes within LOCAL_CACHE_SECONDS.
_resolved_keys = LocalCache("api keys")
_last_used_written: dict[int, float] = {}
LAST_USED_EVERY_SECONDS = 60


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key for a raw key, with its owner, in one query (or none, when this
    process resolved it a moment ago); None if unknown or revoked. `last_used_at` is
    written at most once a minute per key."""
    if not raw_key or len(raw_key) > 200:
        return None
    key_hash = api_key_hash(raw_key)
    api_key = _resolved_keys.get(key_hash)
    if api_key is MISSING:
        api_key = (
            ApiKey.objects.select_related("channel", "location", "user")
            .filter(key_hash=key_hash, revoked_at__isnull=True)
            .first()
        )
        _resolved_keys.set(key_hash, api_key)
    if api_key is None:
        return None
    if api_key.channel_id and not api_key.channel.is_active:
        return None
    if api_key.user_id and not api_key.user.is_active:
        return None
    if api_key.location_id and not api_key.location.is_active:
        return None
    now = time.monotonic()
    if now - _last_used_written.get(api_key.pk, -LAST_USED_EVERY_SECONDS) >= LAST_USED_EVERY_SECONDS:
        _last_used_written[api_key.pk] = now
        if cache.add(f"apikey-used:{api_key.pk}", 1, timeout=LAST_USED_EVERY_SECONDS):
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
    return api_key


def api_keys_forget() -> None:
    """Drop this process's resolved keys (after a revocation or an owner change)."""
    _resolved_keys.clear()
    _last_used_written.clear()


def channel_get(*, code: str) -> SalesChannel | None:
    return SalesChannel.objects.filter(code=code).first()
