"""The API throttle counts a request in one Redis round trip."""

import pytest
from django.core.cache import caches
from django.urls import reverse

from core.api import throttling
from core.cache import ResilientRedisCache


@pytest.mark.django_db
def test_a_request_costs_one_redis_round_trip_for_the_throttle(api_for, channel, monkeypatch):
    # given: a count of what reaches Redis through the cache backend
    backend = caches["default"]
    assert isinstance(backend, ResilientRedisCache)
    client = backend.raw_client("any", write=True)
    assert backend.raw_client("other", write=True) is client  # one client object, not one per call
    pipelines = []
    original = type(client).pipeline

    def counting_pipeline(self, *args, **kwargs):
        pipelines.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(client), "pipeline", counting_pipeline)
    added = []
    original_add = ResilientRedisCache.add

    def recording_add(self, key, *args, **kwargs):
        added.append(key)
        return original_add(self, key, *args, **kwargs)

    monkeypatch.setattr(ResilientRedisCache, "add", recording_add)
    api = api_for(channel=channel)
    # when
    response = api.get(reverse("api:me"))
    # then
    assert response.status_code == 200
    assert pipelines == [{"transaction": False}]  # INCR and EXPIRE together
    assert not [key for key in added if key.startswith("throttle")]  # no separate add (a second round trip)


@pytest.mark.django_db
def test_window_hit_counts_per_key():
    throttling.caches["default"].delete_many(["tests:window:1", "tests:window:2"])
    assert [throttling.window_hit("tests:window:1", 60) for _ in range(3)] == [1, 2, 3]
    assert throttling.window_hit("tests:window:2", 60) == 1
