"""Small database helpers that keep services portable between PostgreSQL and SQLite."""

import contextlib

from django.db import connection, transaction


def next_id(model) -> int:
    """Reserve the next primary key of `model` before inserting, so values derived from it
    (an order number) are written in the same INSERT. PostgreSQL takes it from the
    identity sequence; SQLite serialises writers (IMMEDIATE transactions), so the next
    value after the maximum is safe there."""
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s))", [table, column])
        else:
            quote = connection.ops.quote_name
            cursor.execute(f"SELECT COALESCE(MAX({quote(column)}), 0) + 1 FROM {quote(table)}")  # noqa: S608
        return int(cursor.fetchone()[0])


def rows_update(model, *, fields: list[str], rows: list[tuple]) -> int:
    """Write many rows of `model`, each its own values: `rows` are (pk, value of each of
    `fields`, in that order). Returns how many rows were given.

    On PostgreSQL one `UPDATE … FROM (VALUES …)` per 1,000 rows (linear in the number of
    rows, unlike `bulk_update`'s CASE per field and row); elsewhere (SQLite) one
    parameterised UPDATE run for every row (`executemany`, a prepared statement)."""
    if not rows:
        return 0
    meta = model._meta
    model_fields = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    pk_column = quote(meta.pk.column)
    prepared = [
        [meta.pk.get_db_prep_value(row[0], connection)]
        + [field.get_db_prep_value(value, connection) for field, value in zip(model_fields, row[1:], strict=True)]
        for row in rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            sql = "UPDATE {table} SET {columns} WHERE {pk} = %s".format(  # noqa: S608 — names from the model, values as parameters
                table=quote(meta.db_table),
                columns=", ".join(f"{quote(field.column)} = %s" for field in model_fields),
                pk=pk_column,
            )
            cursor.executemany(sql, [values[1:] + values[:1] for values in prepared])
            return len(rows)
        casts = [meta.pk.cast_db_type(connection), *(field.cast_db_type(connection) for field in model_fields)]
        placeholder = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
        names = ["pk", *(f"v{i}" for i in range(len(model_fields)))]
        assignments = ", ".join(f"{quote(field.column)} = v.v{i}" for i, field in enumerate(model_fields))
        for start in range(0, len(prepared), 1000):
            chunk = prepared[start : start + 1000]
            cursor.execute(
                "UPDATE {table} AS t SET {assignments} FROM (VALUES {values}) AS v({names}) "  # noqa: S608 — names from the model, values as parameters
                "WHERE t.{pk} = v.pk".format(
                    table=quote(meta.db_table),
                    assignments=assignments,
                    values=", ".join([placeholder] * len(chunk)),
                    names=", ".join(names),
                    pk=pk_column,
                ),
                [value for values in chunk for value in values],
            )
    return len(rows)


@contextlib.contextmanager
def asynchronous_commit():
    """Writes in the block commit without waiting for the disk (PostgreSQL's asynchronous
    commit: `synchronous_commit = off` for just those transactions).

    For bookkeeping whose loss in a crash of the database server itself is harmless:
    the row is visible to everyone at once, and it is on disk as soon as any later
    ordinary commit is (the write-ahead log is flushed in order), at the latest after
    a fraction of a second. What only an asynchronous commit wrote may be lost if the
    server crashes before that: use it where a lost row means a repeat, not a loss (an
    outbox message sent twice, an inbox entry whose order commits durably after it).

    Only for statements run outside a transaction (autocommit): the setting rides in
    the same round trip as each statement (`SET LOCAL …; <statement>`, one implicit
    transaction). Inside `transaction.atomic()` — the outer commit decides — on SQLite,
    or with server-side parameter binding (one statement per query), it does nothing."""
    connection = transaction.get_connection()
    if (
        connection.vendor != "postgresql"
        or connection.in_atomic_block
        or connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")
    ):
        yield
        return
    with connection.execute_wrapper(_asynchronous_commit):
        yield


def _asynchronous_commit(execute, sql, params, many, context):
    if many or context["connection"].in_atomic_block:
        return execute(sql, params, many, context)
    result = execute(f"SET LOCAL synchronous_commit TO OFF; {sql}", params, many, context)
    context["cursor"].nextset()  # the statement's own result (rows, row count), not the SET's
    return result
