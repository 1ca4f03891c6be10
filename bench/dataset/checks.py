"""Invariants of the data set, checked in SQL over every row (and, for the amounts, by
recomputing a sample of orders with orders/services/totals.py itself). Each check counts
the rows that break it; the data set is valid when every count is 0."""

import time

from django.db import connection

SQL_CHECKS = {
    "stock_equals_ledger": """
        SELECT count(*) FROM inventory_stock s
        LEFT JOIN (SELECT stock_id, sum(on_hand_delta) AS oh, sum(reserved_delta) AS r
                   FROM inventory_stockmovement GROUP BY stock_id) m ON m.stock_id = s.id
        WHERE s.on_hand <> COALESCE(m.oh, 0) OR s.reserved <> COALESCE(m.r, 0)""",
    "reserved_equals_open_fulfilment_lines": """
        SELECT count(*) FROM inventory_stock s
        LEFT JOIN (SELECT fl.stock_id, sum(fl.quantity - fl.quantity_shipped) AS q
                   FROM orders_fulfilmentline fl JOIN orders_fulfilment f ON f.id = fl.fulfilment_id
                   WHERE f.status <> 'cancelled' GROUP BY fl.stock_id) x ON x.stock_id = s.id
        WHERE s.reserved <> COALESCE(x.q, 0)""",
    "stock_not_negative": """
        SELECT count(*) FROM inventory_stock WHERE on_hand < 0 OR reserved < 0 OR on_hand < reserved""",
    "order_totals_equal_lines": """
        SELECT count(*) FROM orders_order o
        JOIN (SELECT order_id, sum(unit_price * quantity) AS g, sum(discount_amount) AS d,
                     sum(total_amount) AS t
              FROM orders_orderline GROUP BY order_id) l ON l.order_id = o.id
        WHERE o.goods_amount <> l.g OR o.discount_amount <> l.d OR l.t <> l.g - l.d
           OR o.total_amount <> o.goods_amount - o.discount_amount + o.shipping_amount""",
    "orders_have_lines_and_two_addresses": """
        SELECT count(*) FROM orders_order o
        WHERE NOT EXISTS (SELECT 1 FROM orders_orderline l WHERE l.order_id = o.id)
           OR (SELECT count(*) FROM orders_orderaddress a WHERE a.order_id = o.id AND a.is_current) <> 2""",
    "fulfilment_lines_cover_order_lines": """
        SELECT count(*) FROM orders_orderline ol
        LEFT JOIN (SELECT order_line_id, sum(quantity) AS q, sum(quantity_shipped) AS s
                   FROM orders_fulfilmentline GROUP BY order_line_id) f ON f.order_line_id = ol.id
        WHERE COALESCE(f.q, 0) <> ol.quantity - ol.quantity_backordered OR COALESCE(f.s, 0) <> ol.quantity_shipped""",
    "shipment_lines_equal_shipped": """
        SELECT count(*) FROM orders_fulfilmentline fl
        LEFT JOIN (SELECT fulfilment_line_id, sum(quantity) AS q FROM orders_shipmentline
                   GROUP BY fulfilment_line_id) s ON s.fulfilment_line_id = fl.id
        WHERE COALESCE(s.q, 0) <> fl.quantity_shipped""",
    "order_customer_matches": """
        SELECT count(*) FROM orders_order o JOIN customers_customer c ON c.id = o.customer_id
        WHERE c.email <> o.email OR c.channel_id <> o.channel_id""",
    "delivered_orders_have_delivered_shipments": """
        SELECT count(*) FROM orders_order o
        WHERE o.status = 'delivered' AND (
            EXISTS (SELECT 1 FROM orders_fulfilment f JOIN orders_shipment s ON s.fulfilment_id = f.id
                    WHERE f.order_id = o.id AND s.status <> 'delivered')
            OR NOT EXISTS (SELECT 1 FROM orders_fulfilment f JOIN orders_shipment s ON s.fulfilment_id = f.id
                           WHERE f.order_id = o.id))""",
    "order_numbers_well_formed": r"SELECT count(*) FROM orders_order WHERE number !~ '^[A-Z]{1,8}-\d{4}-\d{3,}$'",
}


def _amounts_sample(sample: int) -> int:
    """Orders (of a random sample) whose line totals, line VAT, VAT and total differ from
    what orders.services.totals.order_amounts computes for their lines."""
    from decimal import Decimal

    from orders.models import Order, OrderLine
    from orders.services.totals import LineAmounts, order_amounts
    from payments.reference import payment_reference_is_valid

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM orders_order ORDER BY random() LIMIT %s", [sample])
        ids = [row[0] for row in cursor.fetchall()]
    lines: dict[int, list] = {}
    for line in OrderLine.objects.filter(order_id__in=ids).order_by("order_id", "line_number"):
        lines.setdefault(line.order_id, []).append(line)
    broken = 0
    for order in Order.objects.filter(pk__in=ids):
        rows = lines.get(order.pk, [])
        inputs = [
            LineAmounts(unit_price=r.unit_price, quantity=r.quantity, discount=r.discount_amount, vat_rate=r.vat_rate)
            for r in rows
        ]
        amounts = order_amounts(inputs, order.shipping_amount)
        ok = (
            (amounts.goods, amounts.discount, amounts.vat, amounts.total)
            == (order.goods_amount, order.discount_amount, order.vat_amount, order.total_amount)
            and all(a.total == r.total_amount and a.vat == r.vat_amount for a, r in zip(inputs, rows, strict=True))
            and payment_reference_is_valid(order.payment_reference)
            and order.total_amount >= Decimal("0.00")
        )
        broken += not ok
    return broken


def dataset_check(*, sample: int = 2000) -> dict:
    """{check: {"broken": n, "seconds": s}}; every `broken` is 0 for a valid data set."""
    results = {}
    with connection.cursor() as cursor:
        for name, sql in SQL_CHECKS.items():
            started = time.perf_counter()
            cursor.execute(sql)
            results[name] = {"broken": int(cursor.fetchone()[0]), "seconds": round(time.perf_counter() - started, 2)}
    started = time.perf_counter()
    results["amounts_as_totals_py"] = {
        "broken": _amounts_sample(sample),
        "seconds": round(time.perf_counter() - started, 2),
        "sample": sample,
    }
    return results


def dataset_valid(results: dict) -> bool:
    return all(check["broken"] == 0 for check in results.values())
