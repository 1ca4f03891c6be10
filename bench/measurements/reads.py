"""Reads at scale: server time (in process, the whole middleware stack, templates rendered)
and SQL statements of the staff's order screens and the API reads a shop syncs with.

Each read runs a few times to warm up, then `read_repeats` times with a different search
term or order each time (picked at random from the data set); p50 / p95 of the server time
and the statements per request (which must be the same every time, and the same at every
data-set size: compared with the latest run at each other scale, results-scale-*.json).
Two kinds of statement are kept apart: the API key's periodic refresh (of the clock, not
of the read: `key_refresh_statements`) and the admin list's planner estimate, made only
when more than 10,000 rows match (`estimate_statements`, in the count but not in the
comparison between scales, since a small data set may not reach it).
A read that misses its target is profiled (pyinstrument) and its slowest statement
explained when the run asks for it (--profile).

The reads run in this process, not under gunicorn: it first does what backoffice/wsgi.py
does in every web worker (core.runtime.process_warm_up: URLconf loaded, collector
tuned), so a full garbage collection costs here what it costs a worker.
"""

import datetime
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.registry import Target, measurement

TARGET_P95_MS = 150


@dataclass(frozen=True)
class Read:
    name: str
    client: str  # "admin" or "api"
    url: Callable[["Samples", int], str]
    needs: str = ""  # a Samples attribute that must not be empty


@dataclass
class Samples:
    numbers: list[str]
    emails: list[str]
    postcodes: list[str]
    tracking_codes: list[str]
    since_day: str
    since_hour: str


def _pick(sql: str, count: int, rng: random.Random) -> list:
    """Random rows of a big table without sorting all of it: random ids in its id range."""
    with connection.cursor() as cursor:
        table = sql.split(" FROM ", 1)[1].split()[0]
        cursor.execute(f"SELECT min(id), max(id) FROM {table}")  # noqa: S608 — our own table names
        low, high = cursor.fetchone()
        if low is None:
            return []
        ids = [rng.randint(low, high) for _ in range(count * 20)]
        cursor.execute(sql + " LIMIT %s", [ids, count])
        return [row if len(row) > 1 else row[0] for row in cursor.fetchall()]


def samples(count: int) -> Samples:
    rng = random.Random(5)
    orders = _pick(
        "SELECT number, email FROM orders_order WHERE id = ANY(%s) "
        "AND channel_id = (SELECT id FROM core_saleschannel WHERE code = 'webshop-nl')",
        count,
        rng,
    )
    postcodes = _pick(
        "SELECT postal_code, house_number FROM orders_orderaddress WHERE id = ANY(%s) AND kind = 'shipping' "
        "AND country = 'NL'",
        count,
        rng,
    )
    codes = _pick("SELECT tracking_code FROM orders_shipment WHERE id = ANY(%s)", count, rng)
    now = timezone.now()
    return Samples(
        numbers=[o[0] for o in orders],
        emails=[o[1] for o in orders],
        postcodes=[f"{p[0]} {p[1]}" for p in postcodes],
        tracking_codes=codes,
        since_day=(now - datetime.timedelta(days=1)).isoformat(),
        since_hour=(now - datetime.timedelta(hours=1)).isoformat(),
    )


def _search(attr: str) -> Callable[[Samples, int], str]:
    def url(s: Samples, i: int) -> str:
        values = getattr(s, attr)
        return "/admin/orders/order/?" + urlencode({"q": values[i % len(values)]})

    return url


READS = (
    Read("admin_order_list", "admin", lambda s, i: "/admin/orders/order/"),
    Read("admin_order_list_status", "admin", lambda s, i: "/admin/orders/order/?status__exact=released"),
    Read("admin_order_list_status_delivered", "admin", lambda s, i: "/admin/orders/order/?status__exact=delivered"),
    Read("admin_search_order_number", "admin", _search("numbers"), "numbers"),
    Read("admin_search_email", "admin", _search("emails"), "emails"),
    Read("admin_search_postcode_number", "admin", _search("postcodes"), "postcodes"),
    Read("admin_search_tracking_code", "admin", _search("tracking_codes"), "tracking_codes"),
    Read("api_order_detail", "api", lambda s, i: f"/api/v1/orders/{quote(s.numbers[i % len(s.numbers)])}/", "numbers"),
    Read(
        "api_order_list_updated_since",
        "api",
        lambda s, i: "/api/v1/orders/?" + urlencode({"updated_since": s.since_day}),
    ),
    Read("api_stock_sync", "api", lambda s, i: "/api/v1/stock/"),
    Read(
        "api_stock_sync_updated_since",
        "api",
        lambda s, i: "/api/v1/stock/?" + urlencode({"updated_since": s.since_hour}),
    ),
)


def _route_exists(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path.split("?", 1)[0])
    except Resolver404:
        return False
    return True


def _periodic(sql: str) -> bool:
    """The API key's resolution (once every LOCAL_CACHE_SECONDS per process) and its
    last-used mark (once a minute, core.selectors): statements of the clock, not of the
    read. Counted apart, so that a request that happens to refresh the key does not make
    the read look as if its statements varied."""
    return '"core_apikey"' in sql


def _estimate(sql: str) -> bool:
    """The changelist's planner estimate (core.admin_large): one EXPLAIN, made only when
    more than EXACT_COUNT_UP_TO rows match. A single step at a fixed size, so the
    comparison between scales leaves it out; it never grows with the data."""
    return sql.lstrip()[:7].upper() == "EXPLAIN"


def scale_comparison(name: str, entry: dict, other: dict) -> tuple[dict, bool | None]:
    """The read's statements at the other scales ({scale: count}) and whether they are the
    same as here, the planner estimate left out on both sides (None: no other scale)."""
    seen, compared = {}, {}
    for scale, data in other.items():
        there = data.get("reads", {}).get(name)
        if isinstance(there, dict) and there.get("queries") is not None:
            seen[scale] = there["queries"]
            compared[scale] = there["queries"] - (there.get("estimate_statements") or 0)
    own = entry["queries"] - (entry.get("estimate_statements") or 0)
    return seen, (all(v == own for v in compared.values()) if compared else None)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


@measurement(
    "reads",
    title="reads at scale: admin order list, filters and searches; order API; stock sync",
    order=30,
    targets=[
        Target("reads.*.p95_ms", "<", TARGET_P95_MS, f"p95 < {TARGET_P95_MS} ms server time", full_scale_only=True),
        Target("reads.*.queries_constant", "==", True, "the same statements for every request"),
        Target("reads.*.queries_scale_independent", "==", True, "statements do not depend on the data size"),
    ],
)
def reads(ctx) -> dict:
    from core.runtime import process_warm_up

    p = ctx.profile
    s = samples(max(p.read_repeats + p.read_warmup, 10))
    clients = {"admin": ctx.admin_client(), "api": ctx.api_client("webshop-nl")}
    process_warm_up()  # what backoffice/wsgi.py does in every web worker: URLconf loaded, collector tuned
    other = ctx.other_scale_results()
    results = {}
    for read in READS:
        if read.needs and not getattr(s, read.needs):
            results[read.name] = {"skipped": f"the data set has no {read.needs.replace('_', ' ')}"}
            continue
        if not _route_exists(read.url(s, 0)):
            results[read.name] = {"skipped": f"{read.url(s, 0).split('?')[0]} does not exist (yet)"}
            continue
        try:
            results[read.name] = _measure(ctx, read, s, clients[read.client], other)
        except Exception as exc:  # noqa: BLE001 — a read that crashes is reported, the others still run
            results[read.name] = {"error": f"{exc.__class__.__name__}: {exc}", "example": read.url(s, 0)}
    return results


def _measure(ctx, read: Read, s: Samples, client, other: dict) -> dict:
    p = ctx.profile
    for i in range(p.read_warmup):
        client.get(read.url(s, i))
    times, counts, statuses, slowest = [], [], set(), (0.0, None, None)
    periodic, estimates = [], []
    for i in range(p.read_repeats):
        url = read.url(s, p.read_warmup + i)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
        times.append(elapsed)
        statements = [q["sql"] for q in captured.captured_queries]
        counts.append(sum(1 for sql in statements if not _periodic(sql)))
        periodic.append(sum(1 for sql in statements if _periodic(sql)))
        estimates.append(sum(1 for sql in statements if _estimate(sql)))
        statuses.add(response.status_code)
        if elapsed > slowest[0]:
            slowest = (elapsed, list(captured.captured_queries), url)
    entry = {
        "p50_ms": round(_percentile(times, 0.5), 1),
        "p95_ms": round(_percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
        "mean_ms": round(statistics.fmean(times), 1),
        "queries": max(counts),
        "queries_constant": min(counts) == max(counts),
        "key_refresh_statements": max(periodic),  # not in `queries`: see _periodic
        "estimate_statements": max(estimates),  # in `queries`, not compared between scales
        "statuses": sorted(statuses),
        "repeats": p.read_repeats,
        "example": read.url(s, p.read_warmup),
    }
    if statuses != {200}:
        entry["error"] = f"answered {sorted(statuses)}"
    entry["queries_other_scales"], entry["queries_scale_independent"] = scale_comparison(read.name, entry, other)
    if slowest[1]:
        top = max(slowest[1], key=lambda q: float(q.get("time") or 0))
        entry["slowest_statement_ms"] = round(float(top.get("time") or 0) * 1000, 1)
    if entry["p95_ms"] >= TARGET_P95_MS and ctx.profile_misses:
        from bench.profiling import explain_slowest, pyinstrument_calls

        url = slowest[2]
        entry["profile"] = pyinstrument_calls(ctx, lambda u=url, c=client: c.get(u), name=f"reads-{read.name}")
        entry["explain"] = explain_slowest(ctx, slowest[1], name=f"reads-{read.name}")
    return entry
