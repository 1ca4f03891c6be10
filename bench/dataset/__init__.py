"""The benchmark's data set: a growing Dutch shop, generated with COPY.

`generate(scale=…)` runs the registered generator steps (bench.dataset.base.STEPS, in the
order of STEP_MODULES) in one transaction and returns what it did: rows and seconds per
table, the steps skipped because the models they need do not exist yet, and the time spent
rebuilding indexes. `dataset_check()` (bench.dataset.checks) proves the invariants.

Adding a table is adding a step: a module with a function decorated with
`@generator_step("payments", requires=("payments.Payment",), bulk_tables=(…))` that writes
rows with `ctx.table(Model, columns).add(…)`, listed in STEP_MODULES after the steps whose
facts it uses (`ctx.state`, e.g. the orders' ids and totals). See README, Benchmarks.
"""

import importlib
import time

from django.db import connection, transaction
from django.utils import timezone

from bench.dataset.base import STEPS, GenContext, GeneratorStep, IndexSuspender

DATASET_VERSION = 2
STEP_MODULES = (
    "bench.dataset.catalog",
    "bench.dataset.customers",
    "bench.dataset.orders",
    "bench.dataset.tracking",
    "bench.dataset.payments",
)
# The data set cannot do without these; a later step that fails (its app's models are still
# changing, say) is rolled back on its own and reported, and the rest of the data set stands.
CORE_STEPS = ("channels_locations", "catalog", "customers", "orders")
DEFAULT_SEED = 20261122


def load_steps() -> list[GeneratorStep]:
    """The registered steps in the order of STEP_MODULES (whatever imported them first)."""
    for module in STEP_MODULES:
        importlib.import_module(module)
    position = {module: i for i, module in enumerate(STEP_MODULES)}
    return sorted(STEPS, key=lambda step: position.get(step.func.__module__, len(position)))


def step_plan() -> dict[str, str | None]:
    """Each step and why it would be skipped (None: it runs)."""
    return {
        step.name: (f"needs {', '.join(step.missing())}, not in the project yet" if step.missing() else None)
        for step in load_steps()
    }


def generate(*, scale: float, seed: int = DEFAULT_SEED, suspend_indexes: bool = True) -> dict:
    """Generate the data set into the current (empty) database, all or nothing."""
    from django.apps import apps

    steps = load_steps()
    ctx = GenContext(scale=scale, seed=seed, now=int(timezone.now().timestamp()))
    runnable = [s for s in steps if not s.missing()]
    report: dict = {"scale": scale, "seed": seed, "steps": {}, "tables": {}}
    bulk = [apps.get_model(label)._meta.db_table for s in runnable for label in s.bulk_tables]
    suspender = IndexSuspender(bulk if suspend_indexes else [])
    started = time.perf_counter()
    try:
        _run(ctx, steps, runnable, suspender, report)
    finally:
        ctx.sink.close()
    report["seconds"] = round(time.perf_counter() - started, 2)
    rows = ctx.table_rows()
    report["tables"] = {
        table: {"rows": count, "copy_seconds": round(ctx.sink.seconds.get(table, 0.0), 2)}
        for table, count in sorted(rows.items())
    }
    report["rows"] = sum(rows.values())
    report["notes"] = ctx.notes
    report["now"] = ctx.now
    return report


def _run(ctx, steps, runnable, suspender, report) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        suspender.suspend()
        for step in steps:
            if step not in runnable:
                report["steps"][step.name] = {"skipped": f"needs {', '.join(step.missing())}, not in the project yet"}
                continue
            t0 = time.perf_counter()
            if step.name in CORE_STEPS:
                step.func(ctx)
                ctx.flush()
            else:
                error = _run_optional(ctx, step)
                if error:
                    report["steps"][step.name] = {"error": error, "seconds": round(time.perf_counter() - t0, 2)}
                    continue
            report["steps"][step.name] = {"seconds": round(time.perf_counter() - t0, 2)}
        t0 = time.perf_counter()
        suspender.restore()
        report["index_rebuild_seconds"] = round(time.perf_counter() - t0, 2)
        ctx.reset_sequences()
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # deferred foreign keys are checked here
        report["constraint_check_seconds"] = round(time.perf_counter() - t0, 2)


def _run_optional(ctx, step) -> str | None:
    """Run a step in a savepoint; on failure roll it back, drop its rows and say why."""
    before = set(ctx.writers)
    try:
        with transaction.atomic():
            step.func(ctx)
            ctx.flush()
    except Exception as exc:  # noqa: BLE001 — reported in the results; the data set without it stands
        ctx.sink.error = None
        for key in set(ctx.writers) - before:
            del ctx.writers[key]
        return f"{exc.__class__.__name__}: {exc}"[:500]
    return None
