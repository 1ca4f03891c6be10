"""The garbage collector of a long-running process (a web or Celery worker).

A Django process keeps some 130,000 objects for its whole life (models, URL patterns,
views, translations). CPython's full collection walks all of them, which on this app
costs 80 ms; with the default thresholds a request that builds a page of 100 orders
runs into one every few requests, and that is its p95 (the bench's order list:
p50 50 ms, p95 280 ms). `gc_tune()`, once the process has loaded what it keeps:
- `gc.freeze()` moves those objects out of the collector's sight (they are never
  garbage; the same step keeps forked workers' memory shared);
- the youngest generation is collected every 50,000 new container objects instead of
  every 700, so a request seldom pays for a collection (cyclic garbage lives a little
  longer: a few MB at most).
Measured by the bench (reads) and README "Benchmarks"."""

import gc

GEN0_THRESHOLD = 50_000
OLDER_THRESHOLD = 20


def gc_tune() -> None:
    gc.collect()  # what is garbage now is not frozen
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, OLDER_THRESHOLD, OLDER_THRESHOLD)


def process_warm_up() -> None:
    """Load what a web worker would otherwise load on its first request (every URL
    pattern, and so every view, serializer and admin class), then tune the collector."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 — the attribute imports the URLconf
    gc_tune()
