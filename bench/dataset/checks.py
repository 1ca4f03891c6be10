"""Invariants of the data set, checked in SQL over every row (and, for the amounts, by
recomputing a sample of orders with orders/services/totals.py itself, a sample of invoices
with payments/services/invoicing.py and a sample of orders' money with
payments.selectors.order_money). Each check counts the rows that break it; the data set is
valid when every count is 0."""

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
    # --- payments and invoices (bench.dataset.payments) ---
    "every_order_has_its_payment": """
        SELECT count(*) FROM orders_order o
        LEFT JOIN payments_payment p ON p.order_id = o.id AND p.kind = 'initial'
        WHERE p.id IS NULL OR p.amount <> o.total_amount OR p.method <> o.payment_method
           OR p.reference <> o.payment_reference OR p.provider_id <> o.payment_provider_reference""",
    "cleared_orders_paid_in_full": """
        SELECT count(*) FROM orders_order o
        JOIN payments_clearingpolicy cp ON cp.method = o.payment_method
        JOIN (SELECT order_id, sum(paid_amount) AS paid, sum(authorized_amount) AS authorized
              FROM payments_payment GROUP BY order_id) p ON p.order_id = o.id
        WHERE o.cleared_at IS NOT NULL
          AND CASE WHEN cp.rule = 'credit_check' THEN p.authorized < o.total_amount ELSE p.paid < o.total_amount END""",
    "pay_later_captured_for_every_invoice": """
        SELECT count(*) FROM orders_order o
        JOIN payments_clearingpolicy cp ON cp.method = o.payment_method AND cp.rule = 'credit_check'
        JOIN payments_payment p ON p.order_id = o.id AND p.kind = 'initial'
        LEFT JOIN (SELECT order_id, sum(total_amount) AS total FROM payments_invoice
                   WHERE total_amount > 0 GROUP BY order_id) i ON i.order_id = o.id
        WHERE o.cleared_at IS NOT NULL AND p.provider_id <> '' AND p.paid_amount <> COALESCE(i.total, 0)""",
    "uncleared_orders_paid_nothing": """
        SELECT count(*) FROM orders_order o JOIN payments_payment p ON p.order_id = o.id
        WHERE o.cleared_at IS NULL
          AND (p.paid_amount <> 0 OR p.authorized_amount <> 0 OR p.status <> 'open' OR p.paid_at IS NOT NULL)""",
    "cancelled_orders_keep_nothing": """
        SELECT count(*) FROM orders_order o
        JOIN (SELECT order_id, sum(paid_amount - refunded_amount - charged_back_amount) AS kept
              FROM payments_payment GROUP BY order_id) p ON p.order_id = o.id
        LEFT JOIN (SELECT order_id, sum(amount) AS amount FROM payments_refund WHERE status = 'proposed'
                   GROUP BY order_id) r ON r.order_id = o.id
        WHERE o.cancelled_at IS NOT NULL AND p.kept <> COALESCE(r.amount, 0)""",
    "refunds_equal_refunded": """
        SELECT count(*) FROM payments_payment p
        LEFT JOIN (SELECT payment_id, sum(amount) AS amount FROM payments_refund WHERE status = 'refunded'
                   GROUP BY payment_id) r ON r.payment_id = p.id
        WHERE p.refunded_amount > p.paid_amount OR p.refunded_amount <> COALESCE(r.amount, 0)""",
    "money_received_has_its_events": """
        SELECT count(*) FROM payments_payment p
        LEFT JOIN (SELECT payment_id, sum(amount) FILTER (WHERE kind = 'received') AS received,
                          sum(amount) FILTER (WHERE kind = 'refunded') AS refunded
                   FROM payments_paymentevent GROUP BY payment_id) e ON e.payment_id = p.id
        WHERE p.paid_amount <> COALESCE(e.received, 0) OR p.refunded_amount <> COALESCE(e.refunded, 0)""",
    "invoice_totals_equal_lines": """
        SELECT (SELECT count(*) FROM payments_invoice i
                LEFT JOIN (SELECT invoice_id, sum(net_amount) AS net, sum(vat_amount) AS vat, sum(total_amount) AS total
                           FROM payments_invoiceline GROUP BY invoice_id) l ON l.invoice_id = i.id
                WHERE l.invoice_id IS NULL OR i.net_amount <> l.net OR i.vat_amount <> l.vat
                   OR i.total_amount <> l.total OR i.total_amount <> i.net_amount + i.vat_amount)
             + (SELECT count(*) FROM payments_invoiceline WHERE total_amount <> net_amount + vat_amount)""",
    "invoice_lines_equal_shipment_lines": """
        SELECT count(*) FROM
            (SELECT i.shipment_id, il.order_line_id, sum(il.quantity) AS q
             FROM payments_invoice i JOIN payments_invoiceline il ON il.invoice_id = i.id
             WHERE il.kind = 'goods' GROUP BY 1, 2) inv
        FULL JOIN
            (SELECT sl.shipment_id, fl.order_line_id, sum(sl.quantity) AS q
             FROM orders_shipmentline sl JOIN orders_fulfilmentline fl ON fl.id = sl.fulfilment_line_id
             GROUP BY 1, 2) shp ON shp.shipment_id = inv.shipment_id AND shp.order_line_id = inv.order_line_id
        WHERE inv.q IS DISTINCT FROM shp.q""",
    "invoices_of_the_shipments_order": """
        SELECT count(*) FROM payments_invoice i
        JOIN orders_shipment s ON s.id = i.shipment_id JOIN orders_fulfilment f ON f.id = s.fulfilment_id
        JOIN orders_order o ON o.id = i.order_id
        WHERE f.order_id <> i.order_id OR i.customer_id <> o.customer_id OR i.channel_id <> o.channel_id
           OR i.order_number <> o.number OR i.payment_reference <> o.payment_reference""",
    "shipped_orders_invoiced_in_full": """
        SELECT count(*) FROM orders_order o
        JOIN (SELECT order_id, sum(total_amount) AS total, sum(vat_amount) AS vat, bool_or(reverse_charge) AS rc,
                     sum(l.shipping) AS shipping
              FROM payments_invoice i
              LEFT JOIN (SELECT invoice_id, count(*) AS shipping FROM payments_invoiceline WHERE kind = 'shipping'
                         GROUP BY invoice_id) l ON l.invoice_id = i.id
              GROUP BY order_id) i ON i.order_id = o.id
        WHERE NOT EXISTS (SELECT 1 FROM orders_orderline l WHERE l.order_id = o.id AND l.quantity_shipped <> l.quantity)
          AND (i.total <> o.total_amount OR (i.vat <> o.vat_amount AND NOT i.rc)
               OR (COALESCE(i.shipping, 0) = 0 AND o.shipping_amount > 0))""",
    "invoice_numbers_gapless_per_year": """
        SELECT count(*) FROM
            (SELECT year, count(*) AS n, count(DISTINCT sequence) AS distinct_n, min(sequence) AS low,
                    max(sequence) AS high
             FROM payments_invoice GROUP BY year) y
        FULL JOIN (SELECT year, last_number FROM payments_documentcounter WHERE series = 'invoice') c
            ON c.year = y.year
        WHERE y.low IS DISTINCT FROM 1 OR y.high IS DISTINCT FROM y.n OR y.distinct_n IS DISTINCT FROM y.n
           OR c.last_number IS DISTINCT FROM y.high""",
    "invoice_numbers_well_formed": """
        SELECT count(*) FROM payments_invoice
        WHERE number <> year || '-' || lpad(sequence::text, greatest(6, length(sequence::text)), '0')
           OR extract(year FROM issue_date) <> year
           OR supply_date > issue_date OR due_date < issue_date""",
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


INVOICE_FIELDS = (
    "shipment_id",
    "year",
    "order_id",
    "customer_id",
    "channel_id",
    "issue_date",
    "supply_date",
    "due_date",
    "language",
    "seller",
    "customer_name",
    "customer_company",
    "customer_address",
    "customer_country",
    "customer_vat_number",
    "customer_email",
    "order_number",
    "payment_reference",
    "reverse_charge",
    "net_amount",
    "vat_amount",
    "total_amount",
    "vat_breakdown",
)
INVOICE_LINE_FIELDS = (
    "invoice__shipment_id",
    "position",
    "kind",
    "order_line_id",
    "sku",
    "description",
    "quantity",
    "first_unit",
    "unit_price",
    "unit_price_excl",
    "vat_rate",
    "net_amount",
    "vat_amount",
    "total_amount",
)


class _Recomputed(Exception):
    """Rolls the recomputed invoices back."""


def _invoices_sample(sample: int) -> int:
    """Orders (of a random sample of invoiced ones) whose invoices differ from what
    payments.services.invoicing.invoice_issue issues for their shipments, one after the
    other in the order they shipped. The stored invoices are set aside for it in a
    savepoint that is rolled back (the immutability triggers off inside it); the numbers
    the service takes from the counter then differ, so they are checked on their own."""
    from collections import defaultdict

    from django.db import transaction
    from django.utils import timezone

    from orders.models import Order, Shipment, ShipmentLine
    from payments.models import Invoice, InvoiceLine
    from payments.services.invoicing import invoice_issue, invoice_number_format

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT order_id FROM (SELECT DISTINCT order_id FROM payments_invoice) o ORDER BY random() LIMIT %s",
            [sample],
        )
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return 0

    def stored_now() -> tuple[dict, dict]:
        invoices = {row["shipment_id"]: row for row in Invoice.objects.filter(order_id__in=ids).values(*INVOICE_FIELDS)}
        lines = defaultdict(list)
        for row in (
            InvoiceLine.objects.filter(invoice__order_id__in=ids)
            .order_by("invoice_id", "position")
            .values_list(*INVOICE_LINE_FIELDS)
        ):
            lines[row[0]].append(row[1:])
        return invoices, dict(lines)

    broken = {
        order_id
        for order_id, number, year, sequence in Invoice.objects.filter(order_id__in=ids).values_list(
            "order_id", "number", "year", "sequence"
        )
        if number != invoice_number_format(year, sequence)
    }
    before = stored_now()
    shipments = list(
        Invoice.objects.filter(order_id__in=ids)
        .select_related("shipment")
        .order_by("order_id", "shipment__shipped_at", "shipment_id")
        .values_list("order_id", "shipment_id", "shipment__shipped_at")
    )
    after = ({}, {})
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for table in ("payments_invoiceline", "payments_invoice"):
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_immutable")
            cursor.execute(
                "DELETE FROM payments_invoiceline WHERE invoice_id IN "
                "(SELECT id FROM payments_invoice WHERE order_id = ANY(%s))",
                [ids],
            )
            cursor.execute("DELETE FROM payments_invoice WHERE order_id = ANY(%s)", [ids])
            orders = Order.objects.select_related("customer").in_bulk(ids)
            parcels = Shipment.objects.in_bulk([shipment_id for _order, shipment_id, _at in shipments])
            for order_id, shipment_id, shipped_at in shipments:
                shipped: dict[int, int] = defaultdict(int)
                for order_line_id, quantity in ShipmentLine.objects.filter(shipment_id=shipment_id).values_list(
                    "fulfilment_line__order_line_id", "quantity"
                ):
                    shipped[order_line_id] += quantity
                day = timezone.localdate(shipped_at)
                invoice_issue(
                    order=orders[order_id],
                    shipped=dict(shipped),
                    supply_date=day,
                    shipment=parcels[shipment_id],
                    issue_date=day,
                )
            after = stored_now()
            raise _Recomputed
    except _Recomputed:
        pass
    for shipment_id, invoice in before[0].items():
        if after[0].get(shipment_id) != invoice or after[1].get(shipment_id) != before[1].get(shipment_id):
            broken.add(invoice["order_id"])
    return len(broken)


def _payments_sample(sample: int) -> int:
    """Orders (of a random sample) whose money, as payments.selectors.order_money sums it,
    is not where the services leave it: cleared → received what is owed (pay later: what
    was captured, never more), cancelled → nothing kept (but a refund proposal), not
    cleared → nothing received; and each payment's status as payment_status_derive has it."""
    from orders.models import Order
    from payments.models import Payment, Refund
    from payments.selectors import order_money
    from payments.services.clearing import clearing_rule_for
    from payments.services.payments import payment_status_derive
    from payments.states import ClearingRule

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM orders_order ORDER BY random() LIMIT %s", [sample])
        ids = [row[0] for row in cursor.fetchall()]
    payments: dict[int, list] = {}
    for payment in Payment.objects.filter(order_id__in=ids):
        payments.setdefault(payment.order_id, []).append(payment)
    proposed = dict(Refund.objects.filter(order_id__in=ids, status="proposed").values_list("order_id", "amount"))
    broken = 0
    for order in Order.objects.filter(pk__in=ids):
        mine = payments.get(order.pk, [])
        money = order_money(order=order, payments=mine)
        if order.cancelled_at is not None:
            ok = money.rest == -proposed.get(order.pk, 0)
        elif order.cleared_at is None:
            ok = money.received == 0
        elif clearing_rule_for(order.payment_method) == ClearingRule.CREDIT_CHECK:
            ok = 0 <= money.received <= money.expected
        else:
            ok = money.rest == 0
        ok = ok and bool(mine) and all(payment_status_derive(p, p.status) == p.status for p in mine)
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
    for name, check, size in (
        ("invoices_as_invoicing_py", _invoices_sample, max(1, sample // 8)),
        ("money_as_order_money", _payments_sample, max(1, sample // 4)),
    ):
        started = time.perf_counter()
        results[name] = {"broken": check(size), "seconds": round(time.perf_counter() - started, 2), "sample": size}
    return results


def dataset_valid(results: dict) -> bool:
    return all(check["broken"] == 0 for check in results.values())
