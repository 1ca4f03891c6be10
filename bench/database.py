"""The bench's own database: one per scale (backoffice_bench for the default data set,
backoffice_bench_0_01 for scale 0.01, …), created and migrated by the harness, and the
data set in it generated once and reused while it matches what would be generated now
(the generator's version, the scale, the seed and the steps that can run).

A marker row in the table `bench_dataset` (plain SQL, not a model) says what is there."""

import json
import os
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg

MARKER_TABLE = "bench_dataset"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"


def database_name(scale: float) -> str:
    if scale == 1:
        return "backoffice_bench"
    return "backoffice_bench_" + f"{scale:g}".replace(".", "_").replace("-", "m")


def database_url(scale: float) -> str:
    """The database for this scale on BENCH_DATABASE_SERVER (default: the local
    PostgreSQL as postgres)."""
    explicit = os.environ.get("BENCH_DATABASE_SERVER") or ""
    server = explicit.rstrip("/") or DEFAULT_SERVER
    return f"{server}/{database_name(scale)}"


def _maintenance_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    return urlunsplit(parts._replace(path="/postgres")), name


def _conninfo(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def ensure_database(url: str) -> bool:
    """Create the database when missing; True when it was created."""
    maintenance, name = _maintenance_url(url)
    with psycopg.connect(_conninfo(maintenance), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def recreate_database(url: str) -> None:
    from django.db import connections

    connections.close_all()
    maintenance, name = _maintenance_url(url)
    with psycopg.connect(_conninfo(maintenance), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def read_marker(url: str) -> dict | None:
    try:
        with psycopg.connect(_conninfo(url), autocommit=True) as conn:
            row = conn.execute("SELECT signature, report FROM bench_dataset WHERE id = 1").fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.OperationalError):
        return None
    if row is None:
        return None
    return {"signature": row[0], "report": row[1]}


def write_marker(signature: dict, report: dict) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (id int PRIMARY KEY, signature jsonb, report jsonb, "
            "generated_at timestamptz DEFAULT now())"
        )
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} (id, signature, report) VALUES (1, %s, %s) "  # noqa: S608
            "ON CONFLICT (id) DO UPDATE SET signature = EXCLUDED.signature, report = EXCLUDED.report, "
            "generated_at = now()",
            [json.dumps(signature), json.dumps(report)],
        )


def migrate() -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    return round(time.perf_counter() - started, 2)


def collectstatic_if_needed() -> float | None:
    """Production serves the admin through the static manifest: collect once, and again
    only when a static source is newer than the manifest."""
    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders
    from django.core.management import call_command

    manifest = settings.STATIC_ROOT / "staticfiles.json"
    if manifest.exists():
        newest = 0.0
        for finder in get_finders():
            for _path, storage in finder.list([]):
                newest = max(newest, os.path.getmtime(storage.path(_path)))
        if newest <= manifest.stat().st_mtime:
            return None
    started = time.perf_counter()
    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
    call_command("collectstatic", interactive=False, verbosity=0)
    return round(time.perf_counter() - started, 2)


def vacuum_analyze() -> float:
    """VACUUM (ANALYZE) after a bulk load: fresh statistics for the planner and a set
    visibility map (index-only scans), as autovacuum leaves a table that is not new."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return round(time.perf_counter() - started, 2)


def table_estimates() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE n_live_tup > 0 ORDER BY relname")
        return {name: int(rows) for name, rows in cursor.fetchall()}
