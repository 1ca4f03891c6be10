"""The benchmark harness's building blocks (bench/), fast: the data-set generator at a tiny
scale with its invariants, the amounts it computes, the results writer and targets, the
load generator's HTTP parsing and the bank statement it writes."""

import asyncio
import json
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.database import database_name
from bench.dataset.orders import order_amounts_cents
from bench.loadgen import _read_response, percentile
from bench.measurements.reads import _estimate, _periodic, scale_comparison
from bench.registry import Measurement, Target
from bench.results import evaluate_targets, render, write_results
from orders.services.totals import LineAmounts, order_amounts


@pytest.mark.django_db
def test_the_generator_writes_a_valid_data_set_at_a_tiny_scale():
    from django.db import connection

    from bench.dataset import generate
    from bench.dataset.checks import dataset_check

    # when
    report = generate(scale=0.0005)
    # then every invariant holds over every row (and the stock ledger fixture checks again)
    checks = dataset_check(sample=200)
    assert {name: c["broken"] for name, c in checks.items()} == dict.fromkeys(checks, 0)
    assert report["tables"]["orders_order"]["rows"] == 500
    assert report["tables"]["catalog_product"]["rows"] == 30
    assert report["tables"]["inventory_stockmovement"]["rows"] > 500
    assert all("error" not in step for step in report["steps"].values()), report["steps"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders_shipment WHERE tracking_code !~ '^SIM[0-9]{17}$'")
        assert cursor.fetchone()[0] == 0  # every code is the simulator's, for the polling benchmark
        cursor.execute("SELECT count(DISTINCT status) FROM orders_order")
        assert cursor.fetchone()[0] >= 4  # a shop in motion, not only delivered orders
        cursor.execute("SELECT max(updated_at) - min(updated_at) > interval '300 days' FROM orders_order")
        assert cursor.fetchone()[0]  # `updated_since` has a year to choose from


line = st.tuples(
    st.integers(min_value=0, max_value=200_000),  # unit price, cents
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=0, max_value=5_000),  # discount, cents
    st.sampled_from([2100, 900, 0]),
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(line, min_size=1, max_size=6), shipping=st.integers(min_value=0, max_value=2_000))
def test_amounts_in_cents_are_what_totals_py_computes(lines, shipping):
    lines = [(u, q, min(d, u * q), r) for u, q, d, r in lines]
    cents = Decimal("0.01")
    expected = order_amounts(
        [
            LineAmounts(unit_price=u * cents, quantity=q, discount=d * cents, vat_rate=Decimal(r) / 100)
            for u, q, d, r in lines
        ],
        shipping * cents,
    )
    goods, discount, ship, vat, total, per_line = order_amounts_cents(lines, shipping)
    assert (goods * cents, discount * cents, ship * cents, vat * cents, total * cents) == (
        expected.goods,
        expected.discount,
        expected.shipping,
        expected.vat,
        expected.total,
    )
    for (u, q, d, r), (line_total, line_vat) in zip(lines, per_line, strict=True):
        amounts = LineAmounts(unit_price=u * cents, quantity=q, discount=d * cents, vat_rate=Decimal(r) / 100)
        assert (line_total * cents, line_vat * cents) == (amounts.total, amounts.vat)


def test_results_are_written_with_targets_marked(tmp_path):
    # given
    results = {
        "run": {"scale": 0.01, "profile": "quick", "seconds": 12.0},
        "machine": {"cpu_model": "test", "cores": 2, "memory_mb": 1024, "loadavg": [0.1, 0.1, 0.1]},
        "intake": {"orders_per_s": 50.0, "ceiling_per_s": 100.0, "ratio": 0.5, "p50_ms": 20.0, "p99_ms": 300.0},
        "queries_per_order": {"1": 23, "3": 23, "20": 23},
        "reads": {"api_order_detail": {"p95_ms": 12.0, "queries": 9}, "api_stock_sync": {"skipped": "not yet"}},
        "tracking_poll": {"skipped": "the service is not in the project yet"},
    }
    measurements = [
        Measurement(
            "intake",
            "intake",
            lambda ctx: None,
            1,
            (Target("intake.ratio", ">=", 0.4, "ratio"), Target("intake.p99_ms", "<", 250, "p99")),
        ),
        Measurement("q", "q", lambda ctx: None, 2, (Target("queries_per_order.*", "<=", 25, "queries"),)),
        Measurement("r", "r", lambda ctx: None, 3, (Target("reads.*.p95_ms", "<", 150, "p95", full_scale_only=True),)),
        Measurement("t", "t", lambda ctx: None, 4, (Target("tracking_poll.seconds", "<", 60, "poll"),)),
    ]
    # when
    results["targets"] = evaluate_targets(results, measurements)
    path = write_results(results, tmp_path)
    # then
    statuses = {t["figure"]: t["status"] for t in results["targets"]}
    assert statuses == {
        "intake.ratio": "pass",
        "intake.p99_ms": "miss",
        "queries_per_order.1": "pass",
        "queries_per_order.3": "pass",
        "queries_per_order.20": "pass",
        "reads.api_order_detail.p95_ms": "n/a",  # a target for the 1M-order set, measured on a small one
        "reads.api_stock_sync.p95_ms": "unknown",
        "tracking_poll.seconds": "unknown",
    }
    written = json.loads(path.read_text())
    assert written["queries_per_order"] == {"1": 23, "3": 23, "20": 23}
    assert (tmp_path / "results-scale-0.01.json").exists()
    table = render(written)
    assert "intake / ceiling = 0.500" in table
    assert "tracking_poll: skipped — the service is not in the project yet" in table


def test_each_scale_has_its_own_database():
    assert database_name(1) == "backoffice_bench"
    assert database_name(0.01) == "backoffice_bench_0_01"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", (201, b"{}", True)),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc", (200, b"abc", False)),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            (200, b"abcde", True),
        ),
        (b"HTTP/1.0 503 Service Unavailable\r\n\r\ndown", (503, b"down", False)),
    ],
)
def test_the_load_generator_reads_http_responses(raw, expected):
    async def read():
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        return await _read_response(reader)

    assert asyncio.run(read()) == expected


def test_percentiles_are_nearest_rank():
    values = sorted(float(v) for v in range(1, 101))
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50.0, 95.0, 99.0)
    assert percentile([], 0.5) is None


def test_reads_keep_the_key_refresh_apart_and_compare_scales_without_the_planner_estimate():
    # the key's refresh is of the clock; the estimate only comes past 10,000 matching rows
    assert _periodic('SELECT "core_apikey"."id" FROM "core_apikey" WHERE "core_apikey"."key_hash" = %s')
    assert _periodic('UPDATE "core_apikey" SET "last_used_at" = %s WHERE "core_apikey"."id" = 3')
    assert not _periodic('SELECT "orders_order"."id" FROM "orders_order"')
    assert _estimate('EXPLAIN (FORMAT JSON) SELECT "orders_order"."id" AS "pk" FROM "orders_order"')
    assert not _estimate('SELECT COUNT(*) FROM (SELECT 1 FROM "orders_order" LIMIT 10001) subquery')
    small = {"0.01": {"reads": {"list": {"queries": 11, "estimate_statements": 0}, "detail": {"queries": 9}}}}
    # 12 with the estimate here, 11 without it there: the same read
    assert scale_comparison("list", {"queries": 12, "estimate_statements": 1}, small) == ({"0.01": 11}, True)
    # one more statement that is not the estimate: it grew with the data
    assert scale_comparison("list", {"queries": 12, "estimate_statements": 0}, small) == ({"0.01": 11}, False)
    # an older results file without the field counts as no estimate
    assert scale_comparison("detail", {"queries": 9, "estimate_statements": 0}, small) == ({"0.01": 9}, True)
    assert scale_comparison("absent", {"queries": 3}, small) == ({}, None)


def test_the_bank_statement_is_a_camt053_the_importer_reads():
    from bench.measurements.bank_statement import camt053, nl_iban
    from payments.reference import payment_reference_for
    from payments.statements import parse_statement_file

    rng = random.Random(1)
    entries = [
        {
            "reference": payment_reference_for(n),
            "amount": f"{n}.95",
            "name": "An de Vries",
            "iban": nl_iban("INGB", rng.randrange(10**9, 10**10)),
        }
        for n in (12, 345, 6789)
    ]
    import datetime

    data = camt053(entries, statement_id="BENCH-TEST", day=datetime.date(2026, 11, 20))
    statements = parse_statement_file(data, "bench.xml")
    parsed = [tx for s in statements for tx in s.entries]
    assert [(tx.amount, tx.structured_reference.reference) for tx in parsed] == [
        (Decimal(e["amount"]), e["reference"]) for e in entries
    ]
    assert statements[0].is_balanced
