"""What must hold for every order, whatever happened on the way (a race, a database
restart, hours of load): checked in SQL over every row, so the same checks run on the
test database, on a private cluster a fault test restarted, and after a soak run.

The data-set checks of the benchmark (bench/dataset/checks.py: stock equals its ledger,
reservations equal open fulfilment lines, orders have lines and addresses, fulfilment and
shipment lines match the order lines, totals equal their lines, …) are reused as they
are; the suite adds what a half-written intake would break."""

from bench.dataset.checks import SQL_CHECKS as DATASET_CHECKS

SUITE_CHECKS = {
    "one_created_event_per_order": """
        SELECT count(*) FROM orders_order o
        WHERE (SELECT count(*) FROM orders_orderevent e WHERE e.order_id = o.id AND e.kind = 'created') <> 1""",
    "one_payment_as_ordered_per_order": """
        SELECT count(*) FROM orders_order o
        WHERE (SELECT count(*) FROM payments_payment p WHERE p.order_id = o.id AND p.kind = 'initial') <> 1""",
    "every_open_order_has_fulfilments_or_a_backorder": """
        SELECT count(*) FROM orders_order o
        WHERE o.cancelled_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM orders_fulfilment f WHERE f.order_id = o.id)
          AND NOT EXISTS (SELECT 1 FROM orders_orderline l WHERE l.order_id = o.id AND l.quantity_backordered > 0)""",
    "shipments_have_lines": """
        SELECT count(*) FROM orders_shipment s
        WHERE NOT EXISTS (SELECT 1 FROM orders_shipmentline sl WHERE sl.shipment_id = s.id)""",
    "cancelled_orders_hold_no_stock": """
        SELECT count(*) FROM orders_fulfilmentline fl
        JOIN orders_fulfilment f ON f.id = fl.fulfilment_id JOIN orders_order o ON o.id = f.order_id
        WHERE o.cancelled_at IS NOT NULL AND f.status <> 'cancelled'""",
}

ORDER_CHECKS = {**DATASET_CHECKS, **SUITE_CHECKS}


def broken(cursor) -> dict[str, int]:
    """{check: rows that break it} for every check that fails (empty when all hold).
    `cursor` is a DB-API cursor (Django's or psycopg's)."""
    found = {}
    for name, sql in ORDER_CHECKS.items():
        cursor.execute(sql)
        count = int(cursor.fetchone()[0])
        if count:
            found[name] = count
    return found
