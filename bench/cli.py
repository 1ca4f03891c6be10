"""python -m bench [--quick] [--scale X] [--only a,b] [--regenerate] [--list]

Prepares the bench database (created, migrated, the data set generated or reused), runs
the registered measurements in order, writes var/bench/results.json and prints a table.
A benchmark reports: a slow figure or a missed target never makes it fail. It fails (exit
status 1) only when it could not measure at all (no database, a failing migration)."""

import argparse
import datetime
import os
import sys
import time
import traceback


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="the short run CI uses (scale 0.01, fewer requests)")
    parser.add_argument("--scale", type=float, help="data-set scale (1 = 1,000,000 orders)")
    parser.add_argument("--only", help="comma-separated measurements to run (see --list)")
    parser.add_argument("--requests", type=int, help="intake / ceiling requests")
    parser.add_argument("--concurrency", type=int, help="concurrent clients (default 8)")
    parser.add_argument("--repeats", type=int, help="timed requests per read")
    parser.add_argument("--regenerate", action="store_true", help="generate the data set even if it is there")
    parser.add_argument("--profile", action="store_true", help="profile every measurement that misses a target")
    parser.add_argument("--list", action="store_true", help="list the measurements and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    from bench.context import PROFILES, BenchContext, Profile
    from bench.database import database_name, database_url

    base = PROFILES["quick" if args.quick else "full"]
    scale = args.scale if args.scale is not None else base.scale
    profile = Profile(
        **{
            **base.__dict__,
            "scale": scale,
            "intake_requests": args.requests or base.intake_requests,
            "concurrency": args.concurrency or base.concurrency,
            "read_repeats": args.repeats or base.read_repeats,
        }
    )
    url = database_url(scale)
    os.environ["BENCH_DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "backoffice.settings_bench"

    import django

    django.setup()
    import bench.measurements  # noqa: F401 — registers the measurements
    from bench import registry
    from bench.results import evaluate_targets, merge_with_previous, render, say, write_results
    from bench.system import git_info, machine_info, versions

    measurements = registry.ordered()
    if args.list:
        for m in measurements:
            say(f"{m.name:20} {m.title}")
        return 0
    if args.only:
        wanted = {name.strip() for name in args.only.split(",") if name.strip()}
        unknown = wanted - {m.name for m in measurements}
        if unknown:
            say(f"unknown measurements: {', '.join(sorted(unknown))} (see --list)")
            return 2
        measurements = [m for m in measurements if m.name in wanted]

    ctx = BenchContext(profile=profile, database=database_name(scale), profile_misses=args.profile)
    started = time.perf_counter()
    results = ctx.results
    results["run"] = {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "profile": profile.name,
        "scale": scale,
        "settings": profile.__dict__,
        "argv": sys.argv[1:] if argv is None else argv,
        "git": git_info(ctx.out_dir.parent.parent),
        "run_id": ctx.run_id,
        "measurement_seconds": {},
    }
    results["machine"] = machine_info()
    say(f"bench: profile {profile.name}, scale {scale:g}, database {ctx.database}")
    try:
        from django.core.cache import cache

        cache.clear()  # the bench's own Redis db: no throttle, quota or lock left from an earlier run
        results["dataset"] = prepare_dataset(ctx, regenerate=args.regenerate)
        results["versions"] = versions()
    except Exception as exc:  # noqa: BLE001 — reported, then the run stops: nothing can be measured
        results["setup_error"] = f"{exc.__class__.__name__}: {exc}"
        say(traceback.format_exc())
        say(f"bench: could not prepare the database: {results['setup_error']}")
        write_results(results, ctx.out_dir)
        return 1
    try:
        for m in measurements:
            say(f"bench: {m.name} — {m.title}")
            t0 = time.perf_counter()
            try:
                results[m.name] = m.func(ctx)
            except registry.Skip as skip:
                results[m.name] = {"skipped": str(skip)}
            except Exception as exc:  # noqa: BLE001 — one broken measurement does not hide the others
                results[m.name] = {"error": f"{exc.__class__.__name__}: {exc}"}
                (ctx.path("logs", f"{m.name}-error.txt")).write_text(traceback.format_exc())
                say(traceback.format_exc())
            results["run"]["measurement_seconds"][m.name] = round(time.perf_counter() - t0, 1)
    finally:
        ctx.close()
    results["machine"]["loadavg_end"] = list(os.getloadavg())
    results["run"]["finished_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    results["run"]["seconds"] = round(time.perf_counter() - started, 1)
    results["run"]["measured_at"] = {m.name: results["run"]["started_at"] for m in measurements}
    if args.only:
        names = [m.name for m in measurements]
        results = merge_with_previous(
            results, ctx.out_dir, [*names, *(k for k in results if k.startswith(tuple(names)))]
        )
    results["targets"] = evaluate_targets(results, registry.ordered())
    path = write_results(results, ctx.out_dir)
    say("")
    say(render(results))
    say(f"bench: results in {path.relative_to(ctx.out_dir.parent.parent)}")
    return 0


def prepare_dataset(ctx, *, regenerate: bool = False) -> dict:
    """Create and migrate the database, collect static files, and generate the data set
    unless the one there matches."""
    from bench import database
    from bench.dataset import DATASET_VERSION, DEFAULT_SEED, generate, step_plan
    from bench.dataset.checks import dataset_check, dataset_valid
    from bench.results import say

    url = os.environ["BENCH_DATABASE_URL"]
    created = database.ensure_database(url)
    plan = step_plan()
    signature = {
        "version": DATASET_VERSION,
        "scale": ctx.profile.scale,
        "seed": DEFAULT_SEED,
        "steps": sorted(name for name, skipped in plan.items() if skipped is None),
    }
    marker = None if created else database.read_marker(url)
    reuse = marker is not None and marker["signature"] == signature and not regenerate
    info: dict = {"database": ctx.database, "signature": signature}
    if not reuse and not created:
        database.recreate_database(url)  # a data set of another shape, or half of one
    info["migrate_seconds"] = database.migrate()
    info["collectstatic_seconds"] = database.collectstatic_if_needed()
    if reuse:
        info.update(generated=False, reused=True, report=marker["report"])
        say(f"bench: reusing the data set in {ctx.database}")
    else:
        say(f"bench: generating the data set at scale {ctx.profile.scale:g} into {ctx.database} …")
        started = time.perf_counter()
        report = generate(scale=ctx.profile.scale, seed=DEFAULT_SEED)
        report["vacuum_analyze_seconds"] = database.vacuum_analyze()
        checks = dataset_check(sample=2000)
        report["checks"] = checks
        report["valid"] = dataset_valid(checks)
        report["total_seconds"] = round(time.perf_counter() - started, 1)
        database.write_marker(signature, report)
        info.update(generated=True, reused=False, report=report, generation_seconds=report["total_seconds"])
        say(f"bench: generated {report['rows']:,} rows in {report['total_seconds']} s (valid: {report['valid']})")
    info["skipped_steps"] = {name: why for name, why in plan.items() if why}
    estimates = database.table_estimates()
    info["counts"] = {
        label: estimates.get(table, 0)
        for label, table in (
            ("products", "catalog_product"),
            ("locations", "inventory_location"),
            ("customers", "customers_customer"),
            ("orders", "orders_order"),
            ("order lines", "orders_orderline"),
            ("fulfilments", "orders_fulfilment"),
            ("shipments", "orders_shipment"),
            ("stock movements", "inventory_stockmovement"),
            ("order events", "orders_orderevent"),
        )
    }
    info["table_estimates"] = estimates
    return info
