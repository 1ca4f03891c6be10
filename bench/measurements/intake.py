"""Order intake over HTTP, and the ceiling of the same server stack.

gunicorn (2 sync workers, the bench's production settings) on 127.0.0.1; a separate load
process (bench.loadgen) posts a fixed number of 3-line orders at a fixed concurrency as
the contract describes, then as many requests to a trivial authenticated DRF endpoint that
inserts one row (bench.ceiling): same authentication, permission, throttling, middleware
and database. Each run has a warm-up first, not counted.

Core-seconds per order: the CPU time of the gunicorn processes and of the PostgreSQL
backends serving them (from /proc, before and after the timed run) per order created. The
two cores are shared with the load process (its CPU time is reported too) and with
whatever else runs on the machine (`other_cpu_seconds`).
"""

import json
import subprocess
import sys

from django.db import connection

from bench.context import ROOT
from bench.measurements.orderdata import intake_bodies, stock_top_up, write_jsonl
from bench.registry import Target, measurement
from bench.system import cpu_delta, cpu_sample

INTAKE_PATH = "/api/v1/orders/"
CEILING_PATH = "/api/v1/bench/ceiling/"


def postgres_backends() -> list[int]:
    """PostgreSQL backends connected to the bench database, except this process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        )
        return [row[0] for row in cursor.fetchall()]


def run_load(
    ctx,
    server,
    *,
    path: str,
    key: str,
    requests: int,
    bodies_file=None,
    body: str | None = None,
    warmup_file=None,
    warmup: int = 0,
) -> dict:
    """Warm up, then the timed run in a separate process, with CPU sampled around it."""
    base = {
        "host": "127.0.0.1",
        "port": server.port,
        "path": path,
        "method": "POST",
        "headers": {"Authorization": f"Token {key}"},
        "concurrency": ctx.profile.concurrency,
    }
    if warmup:
        _loadgen(
            ctx,
            {**base, "requests": warmup, "bodies": str(warmup_file) if warmup_file else None, "body": body},
            "warmup",
        )
    pg = postgres_backends()
    server_before, pg_before = cpu_sample(server.pids()), cpu_sample(pg)
    result = _loadgen(
        ctx, {**base, "requests": requests, "bodies": str(bodies_file) if bodies_file else None, "body": body}, "timed"
    )
    server_after, pg_after = cpu_sample(server.pids()), cpu_sample(sorted(set(pg) | set(postgres_backends())))
    server_cpu = cpu_delta(server_before, server_after)
    pg_cpu = cpu_delta(pg_before, pg_after)
    machine = pg_after.machine - server_before.machine
    result["server_cpu_seconds"] = round(server_cpu, 3)
    result["postgres_cpu_seconds"] = round(pg_cpu, 3)
    result["machine_cpu_seconds"] = round(machine, 3)
    result["other_cpu_seconds"] = round(machine - server_cpu - pg_cpu - result["client_cpu_seconds"], 3)
    result["postgres_backends"] = len(pg_after.per_pid)
    return result


def _loadgen(ctx, config: dict, label: str) -> dict:
    config_path = ctx.path("load", f"{label}-{config['path'].strip('/').replace('/', '-')}.json")
    config_path.write_text(json.dumps(config))
    completed = subprocess.run(  # noqa: S603 — our own module
        [sys.executable, "-m", "bench.loadgen", str(config_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"load generator failed: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


@measurement(
    "intake",
    title="order intake over HTTP (gunicorn, 2 workers) and the bare-DRF ceiling of the same stack",
    order=20,
    targets=[
        Target("intake.ratio", ">=", 0.40, "intake ≥ 40% of the same run's bare-DRF ceiling"),
        Target("intake.p99_ms", "<", 250, "p99 < 250 ms at 8 concurrent clients"),
        Target("intake.errors", "==", 0, "no errors"),
    ],
)
def intake(ctx) -> dict:
    from orders.models import Order

    p = ctx.profile
    warm, timed = p.warmup_requests, p.intake_requests
    bodies, demand = intake_bodies(run_id=ctx.run_id, count=warm + timed)
    topped_up = stock_top_up(demand=demand, reference=f"bench:{ctx.run_id}:intake")
    warm_file = write_jsonl(ctx.path("load", "intake-warmup.jsonl"), bodies[:warm])
    timed_file = write_jsonl(ctx.path("load", "intake-bodies.jsonl"), bodies[warm:])
    key = ctx.api_key("webshop-nl")
    server = ctx.gunicorn()

    ceiling = run_load(ctx, server, path=CEILING_PATH, key=key, requests=timed, body="{}", warmup=warm)
    orders = run_load(
        ctx,
        server,
        path=INTAKE_PATH,
        key=key,
        requests=timed,
        bodies_file=timed_file,
        warmup_file=warm_file,
        warmup=warm,
    )
    created = Order.objects.filter(external_reference__regex=rf"^BENCH-{ctx.run_id}-[0-9]{{6}}$").count()

    ok = orders["ok"] or 1
    result = {
        "requests": timed,
        "concurrency": p.concurrency,
        "lines_per_order": 3,
        "orders_per_s": orders["per_second"],
        "p50_ms": orders["latency_ms"]["p50"],
        "p95_ms": orders["latency_ms"]["p95"],
        "p99_ms": orders["latency_ms"]["p99"],
        "errors": orders["errors"],
        "ceiling_per_s": ceiling["per_second"],
        "ceiling_p50_ms": ceiling["latency_ms"]["p50"],
        "ceiling_p95_ms": ceiling["latency_ms"]["p95"],
        "ceiling_p99_ms": ceiling["latency_ms"]["p99"],
        "ceiling_errors": ceiling["errors"],
        "ratio": round(orders["per_second"] / ceiling["per_second"], 3) if ceiling["per_second"] else None,
        "core_seconds_per_order": round((orders["server_cpu_seconds"] + orders["postgres_cpu_seconds"]) / ok, 5),
        "server_cpu_seconds_per_order": round(orders["server_cpu_seconds"] / ok, 5),
        "postgres_cpu_seconds_per_order": round(orders["postgres_cpu_seconds"] / ok, 5),
        "ceiling_core_seconds_per_request": round(
            (ceiling["server_cpu_seconds"] + ceiling["postgres_cpu_seconds"]) / (ceiling["ok"] or 1), 5
        ),
        "load_client_cpu_seconds": orders["client_cpu_seconds"],
        "other_cpu_seconds": orders["other_cpu_seconds"],
        "orders_created": created - warm,
        "stock_rows_topped_up": topped_up,
        "detail": {"intake": orders, "ceiling": ceiling},
    }
    if ctx.profile_misses and (result["ratio"] or 0) < 0.40:
        from bench.profiling import pyspy_during

        result["profile"] = pyspy_during(ctx, server, lambda: _profiled_load(ctx, server, key), name="intake")
    return result


def _profiled_load(ctx, server, key) -> None:
    """A second, shorter intake run for py-spy to watch."""
    count = max(100, ctx.profile.intake_requests // 3)
    bodies, demand = intake_bodies(run_id=f"{ctx.run_id}p", count=count, seed=11)
    stock_top_up(demand=demand, reference=f"bench:{ctx.run_id}:profile")
    bodies_file = write_jsonl(ctx.path("load", "intake-profile.jsonl"), bodies)
    _loadgen(
        ctx,
        {
            "host": "127.0.0.1",
            "port": server.port,
            "path": INTAKE_PATH,
            "method": "POST",
            "headers": {"Authorization": f"Token {key}"},
            "concurrency": ctx.profile.concurrency,
            "requests": count,
            "bodies": str(bodies_file),
        },
        "profile",
    )
