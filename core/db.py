"""Small database helpers that keep services portable between PostgreSQL and SQLite."""

from django.db import connection


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
