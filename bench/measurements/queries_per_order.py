"""SQL statements to create an order of 1, 3 and 20 lines, in process through the whole
middleware stack (Django's test client on the bench database), for a returning customer
(steady state; a new customer's first order is reported beside it)."""

import collections
import random

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.measurements.orderdata import existing_customers, order_body, skus_with_stock, stock_top_up
from bench.registry import Skip, Target, measurement

LINE_COUNTS = (1, 3, 20)


def _kind(sql: str) -> str:
    """The statement's first word: SELECT, INSERT, UPDATE, SAVEPOINT, …"""
    return sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"


@measurement(
    "queries_per_order",
    title="SQL statements per order of 1, 3 and 20 lines (must not grow with lines)",
    order=10,
    targets=[
        Target("queries_per_order.*", "<=", 25, "≤ 25 queries per order whatever its line count"),
        Target("queries_per_order_detail.constant", "==", True, "the same count for 1, 3 and 20 lines"),
    ],
)
def queries_per_order(ctx) -> dict:
    rng = random.Random(3)
    products = skus_with_stock(channel_code="webshop-nl", count=20, storage_kinds=("normal",), rng=rng)
    if len(products) < max(LINE_COUNTS):
        raise Skip(f"the data set has only {len(products)} products with stock; 20 are needed")
    stock_top_up(demand={sku: 10 for sku, _, _ in products}, reference=f"bench:{ctx.run_id}:queries")
    who = existing_customers(channel_code="webshop-nl", count=1, rng=rng)[0]
    client = ctx.api_client("webshop-nl")
    from django.utils import timezone

    def post(reference: str, n: int, customer: dict):
        lines = [{"sku": sku, "quantity": 1, "unit_price": f"{price:.2f}"} for sku, price, _ in products[:n]]
        body = order_body(
            reference=reference,
            who=customer,
            lines=lines,
            method=("ideal", "mollie"),
            placed_at=timezone.now(),
            rng=rng,
        )
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/v1/orders/", body, content_type="application/json")
        if response.status_code != 201:
            raise RuntimeError(f"order post answered {response.status_code}: {response.content[:500]!r}")
        return captured.captured_queries

    new_customer = {**who, "customer": {**who["customer"], "email": f"bench.{ctx.run_id}.q@example.nl"}}
    first_order_new_customer = post(f"BENCH-{ctx.run_id}-Q-NEW", 3, new_customer)
    post(f"BENCH-{ctx.run_id}-Q-WARM", 3, who)  # warm: the customer exists from here on
    counts, statements = {}, {}
    for n in LINE_COUNTS:
        captured = post(f"BENCH-{ctx.run_id}-Q{n}", n, who)
        counts[str(n)] = len(captured)
        statements[n] = captured
    sql_path = ctx.path("queries-per-order-3-lines.sql")
    sql_path.write_text(
        "".join(f"-- {i + 1} ({float(q['time']) * 1000:.2f} ms)\n{q['sql']};\n\n" for i, q in enumerate(statements[3]))
    )
    ctx.record(
        "queries_per_order_detail",
        {
            "constant": len(set(counts.values())) == 1,
            "new_customer_3_lines": len(first_order_new_customer),
            "by_kind_3_lines": dict(collections.Counter(_kind(q["sql"]) for q in statements[3])),
            "sql_ms_3_lines": round(sum(float(q["time"]) for q in statements[3]) * 1000, 2),
            "statements_file": str(sql_path.relative_to(ctx.out_dir)),
        },
    )
    return counts
