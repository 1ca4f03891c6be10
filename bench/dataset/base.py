"""The building blocks of the data-set generator: steps, table specs and the COPY sink.

A step is a function registered with `@generator_step(name, requires=…)`. It receives the
`GenContext` and writes rows with `ctx.table(Model, columns)` → a `TableWriter`, whose
`add(values)` takes a tuple of already formatted strings (see the `fmt_*` helpers) in the
order of `columns`. Columns the step does not name are filled from the model: its default
(computed once), else NULL when the column is nullable; a NOT NULL column without a default
that a step forgets is an error at start, not a failed COPY after minutes. So when another
app adds a field to a model the generator keeps working.

Rows are buffered per table and sent with PostgreSQL COPY (psycopg 3 `cursor.copy`) every
`flush_rows`; steps assign primary keys themselves (`ctx.ids(Model, n)`), so rows of
related tables can be written without reading anything back.
"""

import datetime
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from django.apps import apps
from django.db import connection, models

# --- formatting for COPY's text format ---------------------------------------------------

NULL = "\\N"
TRUE = "t"
FALSE = "f"
_DAY_PREFIX: dict[int, str] = {}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@lru_cache(maxsize=1 << 16)
def fmt_ts(ts: int | None) -> str:
    """A UTC timestamp (whole seconds since the epoch) as timestamptz text; fast, because
    the date part is cached per day."""
    if ts is None:
        return NULL
    day, second = divmod(ts, 86400)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = (_EPOCH + datetime.timedelta(days=day)).strftime("%Y-%m-%d ")
        _DAY_PREFIX[day] = prefix
    return f"{prefix}{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+00"


def fmt_date(ts: int | None, offset: int = 3600) -> str:
    """The local (Amsterdam, `offset` seconds from UTC) date of a timestamp."""
    if ts is None:
        return NULL
    return fmt_ts(ts + offset)[:10]


def fmt_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def fmt_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def fmt_json(value) -> str:
    return fmt_text(json.dumps(value, separators=(", ", ": "), ensure_ascii=False))


def fmt_bool(value: bool) -> str:
    return TRUE if value else FALSE


def to_ts(moment: datetime.datetime) -> int:
    return int(moment.timestamp())


# --- table specs ----------------------------------------------------------------------------


def _default_text(model_field: models.Field) -> str:
    value = model_field.get_default()
    if value is None:
        return NULL
    if isinstance(model_field, models.JSONField):
        return fmt_json(value)
    if isinstance(value, bool):
        return fmt_bool(value)
    if isinstance(value, datetime.datetime):
        return fmt_ts(to_ts(value))
    return fmt_text(str(model_field.get_db_prep_value(value, connection, prepared=False)))


@dataclass
class TableSpec:
    model: type[models.Model]
    columns: tuple[str, ...]
    table: str = ""
    all_columns: tuple[str, ...] = ()
    suffix: str = ""

    def __post_init__(self):
        self.table = self.model._meta.db_table
        concrete = list(self.model._meta.concrete_fields)
        by_column = {f.column: f for f in concrete}
        unknown = set(self.columns) - set(by_column)
        if unknown:
            raise ValueError(f"{self.table}: no such columns {sorted(unknown)}")
        extra = []
        for f in concrete:
            if f.column in self.columns:
                continue
            if f.has_default() or f.null or f.get_default() is not None:
                # Django's own fallback: the default, NULL, or "" for text fields
                extra.append((f.column, _default_text(f)))
            else:
                raise ValueError(
                    f"{self.table}.{f.column} is NOT NULL without a default: the generator step must fill it"
                )
        self.all_columns = tuple(self.columns) + tuple(c for c, _ in extra)
        self.suffix = "".join("\t" + v for _, v in extra) + "\n"


class TableWriter:
    """Rows for one table, sent with COPY in batches."""

    def __init__(self, sink: "CopySink", spec: TableSpec, flush_rows: int):
        self.sink = sink
        self.spec = spec
        self.flush_rows = flush_rows
        self.buffer: list[str] = []
        self.rows = 0

    def add(self, values: tuple[str, ...]) -> None:
        self.buffer.append("\t".join(values) + self.spec.suffix)
        if len(self.buffer) >= self.flush_rows:
            self.flush()

    def add_line(self, line: str) -> None:
        """A row already joined with tabs (the named columns, in order, no newline)."""
        self.buffer.append(line + self.spec.suffix)
        if len(self.buffer) >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.sink.copy(self.spec, self.buffer)
            self.rows += len(self.buffer)
            self.buffer = []


class CopySink:
    """COPY over the raw psycopg connection behind Django's connection (so it takes part in
    the caller's transaction, e.g. a test's), timing the database side per table.

    Batches go to one background thread, so PostgreSQL ingests a batch on one core while
    Python formats the next on the other. Everything else that uses the connection while
    the thread may be busy (`GenContext.ids`) takes `lock`; `drain()` waits for the queue."""

    def __init__(self, background: bool = True):
        self.seconds: dict[str, float] = {}
        self.lock = threading.Lock()
        self.background = background
        self.queue: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def _copy_now(self, raw, spec: TableSpec, lines: list[str]) -> None:
        started = time.perf_counter()
        columns = ", ".join(f'"{c}"' for c in spec.all_columns)
        statement = f'COPY "{spec.table}" ({columns}) FROM STDIN'
        with self.lock, raw.cursor() as cursor, cursor.copy(statement) as copy:
            step = 20_000
            for start in range(0, len(lines), step):
                copy.write("".join(lines[start : start + step]))
        self.seconds[spec.table] = self.seconds.get(spec.table, 0.0) + time.perf_counter() - started

    def _work(self) -> None:
        while True:
            item = self.queue.get()
            try:
                if item is None:
                    return
                if self.error is None:
                    self._copy_now(*item)
            except BaseException as exc:  # noqa: BLE001 — handed to the main thread in drain()
                self.error = exc
            finally:
                self.queue.task_done()

    def copy(self, spec: TableSpec, lines: list[str]) -> None:
        connection.ensure_connection()
        raw = connection.connection  # Django's connections are per thread; psycopg's may be shared
        if self.error is not None:
            raise self.error
        if not self.background:
            self._copy_now(raw, spec, lines)
            return
        if self.thread is None:
            self.thread = threading.Thread(target=self._work, name="bench-copy", daemon=True)
            self.thread.start()
        self.queue.put((raw, spec, lines))

    def drain(self) -> None:
        if self.thread is not None:
            self.queue.join()
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            self.thread = None


# --- the context and the step registry ------------------------------------------------------


@dataclass
class TableStats:
    rows: int = 0
    seconds: float = 0.0


@dataclass
class GenContext:
    scale: float
    seed: int
    now: int  # the moment the data set is generated "at" (epoch seconds)
    flush_rows: int = 50_000
    sink: CopySink = field(default_factory=CopySink)
    state: dict = field(default_factory=dict)  # facts one step leaves for the next
    writers: dict[str, TableWriter] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _next_ids: dict[str, int] = field(default_factory=dict)

    def count(self, base: int, minimum: int = 1) -> int:
        """A figure of the default (scale 1) data set at this scale."""
        return max(minimum, round(base * self.scale))

    def table(self, model: type[models.Model], columns: Iterable[str]) -> TableWriter:
        spec = TableSpec(model, tuple(columns))
        writer = TableWriter(self.sink, spec, self.flush_rows)
        self.writers[f"{spec.table}:{len(self.writers)}"] = writer
        return writer

    def ids(self, model: type[models.Model], n: int, *, refresh: bool = False) -> int:
        """Reserve `n` primary keys of `model`; returns the first. Keys follow what is in
        the table already, so a step can run on a database that has rows. `refresh` reads
        the table again (after a flush): for a table an earlier step wrote with keys it
        counted on past what it reserved (the orders step's events, say)."""
        table = model._meta.db_table
        if refresh or table not in self._next_ids:
            with self.sink.lock, connection.cursor() as cursor:
                cursor.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"')  # noqa: S608
                self._next_ids[table] = int(cursor.fetchone()[0])
        first = self._next_ids[table]
        self._next_ids[table] = first + n
        return first

    def flush(self) -> None:
        """Send every buffered row and wait until the database has them."""
        for writer in self.writers.values():
            writer.flush()
        self.sink.drain()

    def table_rows(self) -> dict[str, int]:
        rows: dict[str, int] = {}
        for writer in self.writers.values():
            rows[writer.spec.table] = rows.get(writer.spec.table, 0) + writer.rows
        return rows

    def reset_sequences(self) -> None:
        with connection.cursor() as cursor:
            for table in self._next_ids:
                highest = f'(SELECT COALESCE(MAX(id), 0) FROM "{table}")'  # noqa: S608 — a model's own table
                cursor.execute(f"SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST({highest}, 1))", [table])


@dataclass(frozen=True)
class GeneratorStep:
    name: str
    func: Callable[[GenContext], None]
    requires: tuple[str, ...]
    bulk_tables: tuple[str, ...]  # "app_label.Model" whose indexes are suspended while loading

    def missing(self) -> list[str]:
        """The models this step needs that are not (yet) in the project."""
        absent = []
        for label in self.requires:
            try:
                apps.get_model(label)
            except LookupError:
                absent.append(label)
        return absent


STEPS: list[GeneratorStep] = []


def generator_step(name: str, *, requires: Iterable[str] = (), bulk_tables: Iterable[str] = ()):
    """Register a step. Steps run in the order their modules are imported
    (bench.dataset.STEP_MODULES); a step whose `requires` models do not exist is skipped
    and says so in the results."""

    def register(func: Callable[[GenContext], None]) -> Callable[[GenContext], None]:
        if any(s.name == name for s in STEPS):
            raise ValueError(f"generator step {name!r} registered twice")
        STEPS.append(GeneratorStep(name, func, tuple(requires), tuple(bulk_tables)))
        return func

    return register


# --- indexes off while loading --------------------------------------------------------------


class IndexSuspender:
    """Drop the secondary indexes and constraints (not the primary key) of big tables
    before COPY and build them again after: one sorted build per index instead of millions
    of single inserts, and every unique, check and foreign-key constraint is validated
    over the whole table when it comes back — the data is checked, not trusted."""

    def __init__(self, tables: Iterable[str]):
        self.tables = sorted(set(tables))
        self.constraints: list[tuple[str, str, str, str]] = []  # table, name, definition, kind
        self.indexes: list[str] = []

    def suspend(self) -> None:
        if not self.tables:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
                FROM pg_constraint c
                WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('u', 'f', 'c')
                """,
                [self.tables],
            )
            self.constraints = list(cursor.fetchall())
            cursor.execute(
                """
                SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                FROM pg_index i
                WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype = 'u')
                """,
                [self.tables],
            )
            rows = cursor.fetchall()
            self.indexes = [definition for _, definition in rows]
            for table, name, _definition, _kind in self.constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _definition in rows:
                cursor.execute(f"DROP INDEX {name}")

    def restore(self) -> None:
        with connection.cursor() as cursor:
            for definition in self.indexes:
                cursor.execute(definition)
            # unique first (foreign keys may point at them), then checks, then foreign keys
            for kind in ("u", "c", "f"):
                for table, name, definition, k in self.constraints:
                    if k == kind:
                        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
