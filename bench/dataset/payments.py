"""Step: payments, refunds and invoices as the payments app would have left them.

- **A payment per order** (`payment_create_for_order` at intake: the order's method,
  provider, provider reference, betalingskenmerk and total), moved on by the order's
  clearing rule (payments.ClearingPolicy) as far as the order got:
  - provider_paid (iDEAL, card, PayPal, Bancontact): paid in full at the provider when the
    order was cleared (`payment_sync` → `payment_apply_remote`);
  - immediate (point of sale): paid at the till, at intake;
  - bank_statement (bank transfer): a transfer for the total, booked on the payment as
    ordered (`bank_payment_for`), when the order was cleared; an order not cleared keeps its
    payment open with nothing paid, for the bank statement measurement;
  - credit_check (pay later): authorised for the total at the provider when cleared, and
    captured for each shipment's invoice (`payment_capture_for_shipment`: partial captures
    from the one authorisation).
  A paid order cancelled afterwards has its money back through the provider (the refund
  proposal of `order_payments_settle`, accepted); without a provider the proposal waits.
  Events: `received` (and `authorized`, `refunded`) with the services' idempotency keys;
  the orders get `payment_received` and `refunded`. The `status_changed` payment events and
  the audit history rows are not written.
- **An invoice per shipment** as `invoice_issue` computes it when the parcel ships: the
  shipped units of each order line (its total and VAT shared out by payments.allocation),
  the shipping cost on the order's first invoice split over the VAT rates as the order's
  totals split it, numbered without gaps per year in the order of shipping (the
  DocumentCounter rows end at the last number), issued and supplied on the local day of
  shipping, due after the payment term valid that day, with the seller and the customer as
  they were, and the order's `invoice_issued` event.

Everything is read back from the tables the orders step wrote, as streams sorted by order
(server-side cursors, a page at a time), so memory stays flat whatever the scale.
"""

import datetime
import hashlib
import random
from decimal import Decimal
from types import SimpleNamespace
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext

from bench.dataset.base import NULL, GenContext, fmt_cents, fmt_json, fmt_text, fmt_ts, generator_step
from bench.dataset.orders import split_cents, vat_cents

PAGE = 20_000
HOUR = 3600
DAY = 86400

READ_TABLES = (
    "customers_customer",
    "orders_order",
    "orders_orderaddress",
    "orders_orderline",
    "orders_fulfilment",
    "orders_fulfilmentline",
    "orders_shipment",
    "orders_shipmentline",
)
NUMBERS_SQL = """
    CREATE TEMP TABLE bench_invoice_numbers AS
    SELECT x.shipment_id, x.issue_date, x.year,
           COALESCE(c.last_number, 0) + row_number() OVER (PARTITION BY x.year ORDER BY x.shipped_at, x.shipment_id)
               AS sequence
    FROM (SELECT s.id AS shipment_id, s.shipped_at, (s.shipped_at AT TIME ZONE %(tz)s)::date AS issue_date,
                 extract(year FROM s.shipped_at AT TIME ZONE %(tz)s)::int AS year
          FROM orders_shipment s JOIN orders_fulfilment f ON f.id = s.fulfilment_id
          WHERE f.order_id BETWEEN %(first)s AND %(last)s AND s.shipped_at IS NOT NULL
            AND EXISTS (SELECT 1 FROM orders_shipmentline sl WHERE sl.shipment_id = s.id)) x
    LEFT JOIN payments_documentcounter c ON c.series = %(series)s AND c.year = x.year
"""
ORDERS_SQL = """
    SELECT o.id, extract(epoch FROM o.created_at)::bigint, o.channel_id, o.customer_id, o.number, o.email,
           o.first_name, o.last_name, o.company_name, o.vat_number, o.customer_type, o.payment_method,
           o.payment_provider, o.payment_provider_reference, o.payment_reference,
           (o.total_amount * 100)::bigint, (o.shipping_amount * 100)::bigint,
           extract(epoch FROM o.cleared_at)::bigint, extract(epoch FROM o.cancelled_at)::bigint,
           c.language, a.street, a.house_number, a.house_number_addition, a.postal_code, a.city, a.country
    FROM orders_order o
    LEFT JOIN customers_customer c ON c.id = o.customer_id
    LEFT JOIN orders_orderaddress a ON a.order_id = o.id AND a.kind = 'billing' AND a.is_current
    WHERE o.id BETWEEN %s AND %s
    ORDER BY o.id
"""
LINES_SQL = """
    SELECT order_id, id, sku, name, vat_rate::text, (vat_rate * 100)::int, quantity, (unit_price * 100)::bigint,
           (total_amount * 100)::bigint, (vat_amount * 100)::bigint
    FROM orders_orderline WHERE order_id BETWEEN %s AND %s
    ORDER BY order_id, line_number
"""
SHIPPED_SQL = """
    SELECT f.order_id, s.id, extract(epoch FROM s.shipped_at)::bigint, n.year, n.sequence,
           to_char(n.issue_date, 'YYYY-MM-DD'), fl.order_line_id, sl.quantity
    FROM orders_shipmentline sl
    JOIN orders_shipment s ON s.id = sl.shipment_id
    JOIN orders_fulfilment f ON f.id = s.fulfilment_id
    JOIN orders_fulfilmentline fl ON fl.id = sl.fulfilment_line_id
    JOIN bench_invoice_numbers n ON n.shipment_id = s.id
    WHERE f.order_id BETWEEN %s AND %s
    ORDER BY f.order_id, s.shipped_at, s.id
"""


class Keys:
    """Primary keys of a table handed out as its rows are written; `close()` reserves the
    ones used in the context, so a later step's keys follow them."""

    def __init__(self, ctx: GenContext, model, *, refresh: bool = False):
        self.ctx, self.model = ctx, model
        self.first = self.next = ctx.ids(model, 0, refresh=refresh)

    def take(self) -> int:
        key = self.next
        self.next += 1
        return key

    def close(self) -> None:
        self.ctx.ids(self.model, self.next - self.first)


def _grouped(ctx: GenContext, name: str, sql: str, params):
    """The rows of `sql` (sorted by its first column, the order id) per order: (order id,
    rows), read through a server-side cursor a page at a time. The COPY thread shares the
    connection, so every round trip takes the sink's lock."""
    raw = connection.connection
    with ctx.sink.lock:
        cursor = raw.cursor(name=name)
        cursor.execute(sql, params)
    try:
        current, group = None, []
        while True:
            with ctx.sink.lock:
                rows = cursor.fetchmany(PAGE)
            if not rows:
                break
            for row in rows:
                if row[0] != current:
                    if group:
                        yield current, group
                    current, group = row[0], []
                group.append(row)
        if group:
            yield current, group
    finally:
        with ctx.sink.lock:
            cursor.close()


class Follower:
    """The groups of a stream sorted by order id, taken for one order after another."""

    def __init__(self, groups):
        self.groups = groups
        self.pending = next(groups, None)

    def close(self) -> None:
        self.groups.close()

    def take(self, order_id: int) -> list:
        pending = self.pending
        if pending is None or pending[0] > order_id:
            return []
        if pending[0] < order_id:
            raise RuntimeError(f"rows of order {pending[0]} out of order (reading order {order_id})")
        self.pending = next(self.groups, None)
        return pending[1]


def _due_dates() -> dict[str, str]:
    """Issue date → due date, by the payment term valid on that day (core.rules)."""
    from django.utils import timezone

    from core.rules import rule_value
    from payments.services.invoicing import PAYMENT_TERM_DAYS

    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT issue_date FROM bench_invoice_numbers")
        days = [row[0] for row in cursor.fetchall()]
    due = {}
    for day in days:
        noon = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))
        due[day.isoformat()] = (day + datetime.timedelta(days=int(rule_value(PAYMENT_TERM_DAYS, at=noon)))).isoformat()
    return due


def _shipping_labels() -> dict[str, str]:
    """The word for the shipping cost in each language an invoice can be in (invoice_issue
    translates it)."""
    labels = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            labels[code] = gettext("Shipping")
    return labels


def _portion(line, first_unit: int, count: int, reverse_charge: bool) -> tuple[int, int]:
    """(total, VAT) in cents of units first_unit+1 … first_unit+count of an order line, as
    payments.allocation.LineCharge shares them out (whole lines, the usual case, without it)."""
    _oid, _id, _sku, _name, _rate_text, _rate, quantity, _unit, total, vat = line
    vat = 0 if reverse_charge else vat
    if first_unit == 0 and count == quantity:
        return total, vat
    from payments.allocation import LineCharge

    cent = Decimal("0.01")
    part_total, part_vat = LineCharge(quantity=quantity, total=total * cent, vat=vat * cent).portion(first_unit, count)
    return int(part_total * 100), int(part_vat * 100)


@generator_step(
    "payments",
    requires=(
        "payments.Payment",
        "payments.PaymentEvent",
        "payments.Refund",
        "payments.Invoice",
        "payments.InvoiceLine",
        "payments.DocumentCounter",
        "orders.Shipment",
    ),
    bulk_tables=(
        "payments.Payment",
        "payments.PaymentEvent",
        "payments.Refund",
        "payments.Invoice",
        "payments.InvoiceLine",
    ),
)
def payments(ctx: GenContext) -> None:
    from payments.models import DocumentCounter
    from payments.services.invoicing import INVOICE_SERIES

    first_order, n = ctx.state["order_ids"]
    last_order = first_order + n - 1
    with connection.cursor() as cursor:
        for table in READ_TABLES:  # loaded in this transaction: without statistics the joins below go quadratic
            cursor.execute(f"ANALYZE {table}")
        cursor.execute(
            NUMBERS_SQL, {"tz": settings.TIME_ZONE, "first": first_order, "last": last_order, "series": INVOICE_SERIES}
        )
        cursor.execute("ANALYZE bench_invoice_numbers")
    writer = Writer(ctx, first_order, n)
    params = (first_order, last_order)
    lines_of = Follower(_grouped(ctx, "bench_payments_lines", LINES_SQL, params))
    shipped_of = Follower(_grouped(ctx, "bench_payments_shipped", SHIPPED_SQL, params))
    for oid, rows in _grouped(ctx, "bench_payments_orders", ORDERS_SQL, params):
        order = OrderFacts(*rows[0])
        invoices = writer.invoices(order, lines_of.take(oid), shipped_of.take(oid))
        writer.payment(order, invoices)
    lines_of.close()
    shipped_of.close()
    ctx.flush()
    writer.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT year, max(sequence) FROM bench_invoice_numbers GROUP BY year ORDER BY year")
        last_numbers = cursor.fetchall()
        cursor.execute("DROP TABLE bench_invoice_numbers")
    for year, last in last_numbers:
        DocumentCounter.objects.update_or_create(series=INVOICE_SERIES, year=year, defaults={"last_number": last})
    counts = writer.counts
    ctx.notes.append(
        f"payments: {counts['paid']} paid, {counts['authorized']} authorised (pay later, not shipped), "
        f"{counts['open']} open ({counts['unpaid_bank_transfers']} bank transfers to pay), "
        f"{counts['refunded']} refunded; invoices: {counts['invoices']} "
        f"(last numbers {', '.join(f'{year}: {last}' for year, last in last_numbers)})"
    )


class OrderFacts(NamedTuple):
    """A row of ORDERS_SQL: amounts in cents, moments in epoch seconds."""

    id: int
    created: int
    channel_id: int
    customer_id: int
    number: str
    email: str
    first_name: str
    last_name: str
    company: str
    vat_number: str
    customer_type: str
    method: str
    provider: str
    provider_id: str
    reference: str
    total: int
    shipping: int
    cleared: int | None
    cancelled: int | None
    language: str | None
    street: str | None
    house: str | None
    addition: str | None
    postcode: str | None
    city: str | None
    country: str | None


class Writer:
    """The rows of one order after another: its invoices, then its payment."""

    def __init__(self, ctx: GenContext, first_order: int, n: int):
        from orders.models import OrderEvent
        from payments.models import Invoice, InvoiceLine, Payment, PaymentEvent, Refund
        from payments.services.clearing import clearing_rule_for
        from payments.services.invoicing import seller_snapshot

        self.now = ctx.now
        self.rng = random.Random(ctx.seed * 31 + 9)
        self.first_order = first_order
        self.due_of = _due_dates()
        self.shipping_label = _shipping_labels()
        self.rules = {method: clearing_rule_for(method) for method in dict(Payment._meta.get_field("method").choices)}
        self.languages = {code for code, _name in settings.LANGUAGES}
        self.seller_json = fmt_json(seller_snapshot())
        self.counts = dict.fromkeys(("paid", "authorized", "open", "refunded", "invoices", "unpaid_bank_transfers"), 0)

        table = ctx.table
        self.add_payment = table(
            Payment,
            "id created_at updated_at order_id kind method provider provider_id provider_status reference status "
            "amount authorized_amount paid_amount refunded_amount authorized_at paid_at last_synced_at".split(),
        ).add_line
        self.add_payment_event = table(
            PaymentEvent, "id payment_id kind from_status to_status amount key data actor_label created_at".split()
        ).add_line
        self.add_refund = table(
            Refund,
            "id created_at updated_at order_id payment_id amount reason method status end_to_end_id "
            "provider_refund_id provider_status refunded_at".split(),
        ).add_line
        self.add_invoice = table(
            Invoice,
            "id created_at year sequence order_id customer_id channel_id issue_date language seller customer_name "
            "customer_company customer_address customer_country customer_vat_number customer_email order_number "
            "payment_reference reverse_charge net_amount vat_amount total_amount vat_breakdown number shipment_id "
            "supply_date due_date".split(),
        ).add_line
        self.add_invoice_line = table(
            InvoiceLine,
            "id invoice_id position kind order_line_id sku description quantity first_unit unit_price "
            "unit_price_excl vat_rate net_amount vat_amount total_amount".split(),
        ).add_line
        self.add_order_event = table(
            OrderEvent, "id order_id kind from_status to_status actor_label data created_at".split()
        ).add_line
        self.first_payment = ctx.ids(Payment, n)
        self.event_keys = Keys(ctx, PaymentEvent)
        self.refund_keys = Keys(ctx, Refund)
        self.invoice_keys = Keys(ctx, Invoice)
        self.line_keys = Keys(ctx, InvoiceLine)
        self.order_event_keys = Keys(ctx, OrderEvent, refresh=True)  # the orders step counted its events on

    def close(self) -> None:
        for keys in (self.event_keys, self.refund_keys, self.invoice_keys, self.line_keys, self.order_event_keys):
            keys.close()

    def order_event(self, oid: int, kind: str, data: str, ts: int) -> None:
        self.add_order_event(f"{self.order_event_keys.take()}\t{oid}\t{kind}\t\t\tsystem\t{data}\t{fmt_ts(ts)}")

    def payment_event(self, pid, kind, amount, key, data, ts, from_status="", to_status="") -> None:
        self.add_payment_event(
            f"{self.event_keys.take()}\t{pid}\t{kind}\t{from_status}\t{to_status}\t{fmt_cents(amount)}\t{key}\t"
            f"{data}\tsystem\t{fmt_ts(ts)}"
        )

    # --- invoices -------------------------------------------------------------------------

    def _parties(self, order: OrderFacts) -> tuple[str, bool, str]:
        """(the invoice's columns language … reverse_charge, reverse charge?, language), as
        invoicing._parties takes them from the order, its billing address and customer."""
        from payments.services.invoicing import is_reverse_charge

        language = order.language or settings.LANGUAGE_CODE
        language = language if language in self.languages else settings.LANGUAGE_CODE
        country = order.country or ""
        reverse_charge = (
            order.customer_type == "business"
            and bool(order.vat_number)
            and is_reverse_charge(
                SimpleNamespace(customer_type=order.customer_type, vat_number=order.vat_number), country
            )
        )
        address = ""
        if order.street is not None:
            number = order.house + (f"-{order.addition}" if order.addition else "")
            address = f"{order.street} {number}\n{order.postcode} {order.city}\n{country}"
        name = f"{order.first_name} {order.last_name}".strip() or order.email
        columns = (
            f"{language}\t{self.seller_json}\t{fmt_text(name)}\t{fmt_text(order.company)}\t{fmt_text(address)}\t"
            f"{country}\t{order.vat_number}\t{order.email}\t{order.number}\t{order.reference}\t"
            f"{'t' if reverse_charge else 'f'}"
        )
        return columns, reverse_charge, language

    def invoices(self, order: OrderFacts, lines: list, shipped_rows: list) -> list[tuple[int, int]]:
        """Write an invoice per shipment of the order, in the order they shipped, as
        invoice_issue does; returns (shipped at, total) per invoice."""
        from payments.services.invoicing import invoice_number_format

        if not shipped_rows:
            return []
        parties, reverse_charge, language = self._parties(order)
        shipments: dict[int, list] = {}
        for row in shipped_rows:
            shipments.setdefault(row[1], []).append(row)
        invoiced_units: dict[int, int] = {}
        issued = []
        for shipment_id, rows in shipments.items():
            _order_id, _shipment_id, shipped_at, year, sequence, issue, *_line = rows[0]
            shipped: dict[int, int] = {}
            for row in rows:
                shipped[row[6]] = shipped.get(row[6], 0) + row[7]
            doc_lines = self._goods_lines(order, lines, shipped, invoiced_units, reverse_charge)
            if not issued and order.shipping > 0:
                doc_lines += self._shipping_lines(order, lines, reverse_charge, language)
            if not doc_lines:
                raise RuntimeError(f"order {order.number}: shipment {shipment_id} has nothing to invoice")
            invoice_id = self.invoice_keys.take()
            total = vat = 0
            breakdown: dict[int, list] = {}  # rate → [its text, net, VAT, total]
            for position, doc_line in enumerate(doc_lines, start=1):
                kind, order_line, sku, description, quantity, first_unit, unit, unit_excl, rate = doc_line[:9]
                rate_text, line_total, line_vat = doc_line[9:]
                self.add_invoice_line(
                    f"{self.line_keys.take()}\t{invoice_id}\t{position}\t{kind}\t{order_line}\t{sku}\t{description}\t"
                    f"{quantity}\t{first_unit}\t{fmt_cents(unit)}\t{fmt_cents(unit_excl)}\t{rate_text}\t"
                    f"{fmt_cents(line_total - line_vat)}\t{fmt_cents(line_vat)}\t{fmt_cents(line_total)}"
                )
                total += line_total
                vat += line_vat
                per_rate = breakdown.setdefault(rate, [rate_text, 0, 0, 0])
                per_rate[1] += line_total - line_vat
                per_rate[2] += line_vat
                per_rate[3] += line_total
            vat_rows = ", ".join(
                f'{{"rate": "{text}", "net": "{fmt_cents(r_net)}", "vat": "{fmt_cents(r_vat)}", '
                f'"total": "{fmt_cents(r_total)}"}}'
                for _rate, (text, r_net, r_vat, r_total) in sorted(breakdown.items(), reverse=True)
            )
            number = invoice_number_format(year, sequence)
            self.add_invoice(
                f"{invoice_id}\t{fmt_ts(shipped_at)}\t{year}\t{sequence}\t{order.id}\t{order.customer_id}\t"
                f"{order.channel_id}\t{issue}\t{parties}\t{fmt_cents(total - vat)}\t{fmt_cents(vat)}\t"
                f"{fmt_cents(total)}\t[{vat_rows}]\t{number}\t{shipment_id}\t{issue}\t{self.due_of[issue]}"
            )
            self.order_event(
                order.id, "invoice_issued", f'{{"invoice": "{number}", "total": "{fmt_cents(total)}"}}', shipped_at
            )
            issued.append((shipped_at, total))
        self.counts["invoices"] += len(issued)
        return issued

    @staticmethod
    def _goods_lines(order, lines, shipped, invoiced_units, reverse_charge) -> list[tuple]:
        """The next units of each order line shipped, with their share of its total and VAT."""
        doc_lines = []
        for line in lines:
            _order_id, line_id, sku, name, rate_text, rate, ordered, unit, _total, _vat = line
            quantity = shipped.get(line_id, 0)
            if quantity <= 0:
                continue
            first_unit = invoiced_units.get(line_id, 0)
            if first_unit + quantity > ordered:
                raise RuntimeError(f"order {order.number}: more of {sku} shipped than ordered")
            invoiced_units[line_id] = first_unit + quantity
            line_total, line_vat = _portion(line, first_unit, quantity, reverse_charge)
            if reverse_charge:
                rate, rate_text = 0, "0.00"
            unit_excl = unit if reverse_charge else unit - vat_cents(unit, rate)
            sku, description = fmt_text(sku), fmt_text(name[:255])
            amounts = (unit, unit_excl, rate, rate_text, line_total, line_vat)
            doc_lines.append(("goods", line_id, sku, description, quantity, first_unit, *amounts))
        return doc_lines

    def _shipping_lines(self, order, lines, reverse_charge, language) -> list[tuple]:
        """The shipping cost split over the order's VAT rates (allocation.shipping_parts)."""
        goods_per_rate: dict[int, int] = {}
        rate_texts: dict[int, str] = {}
        for line in lines:
            goods_per_rate[line[5]] = goods_per_rate.get(line[5], 0) + line[8]
            rate_texts[line[5]] = line[4]
        doc_lines = []
        for rate, part in sorted(split_cents(order.shipping, goods_per_rate).items()):
            if not part:
                continue
            vat = 0 if reverse_charge else vat_cents(part, rate)
            shown = f" ({Decimal(rate_texts[rate]).normalize():f}%)" if len(goods_per_rate) > 1 else ""
            description = fmt_text(self.shipping_label[language] + shown)
            rate, rate_text = (0, "0.00") if reverse_charge else (rate, rate_texts[rate])
            doc_lines.append(("shipping", NULL, "", description, 1, 0, part, part - vat, rate, rate_text, part, vat))
        return doc_lines

    # --- the payment ------------------------------------------------------------------------

    def payment(self, order: OrderFacts, invoices: list[tuple[int, int]]) -> None:
        """The payment as ordered, as far as its clearing rule took it, and a refund of what
        a cancelled order had paid."""
        from payments.states import ClearingRule

        pid = self.first_payment + order.id - self.first_order
        rule = self.rules.get(order.method, ClearingRule.MANUAL)
        cleared, created = order.cleared, order.created
        status, provider_status = "open", ""
        authorized = paid = refunded = 0
        authorized_at = paid_at = synced_at = None
        if cleared and rule == ClearingRule.CREDIT_CHECK:
            status, authorized, authorized_at = "authorized", order.total, cleared
            if order.provider_id:  # (an in-house pay-later payment is paid by transfers: not in the data set)
                provider_status, synced_at = "authorized", cleared
                key = f"authorized:{pid}:{order.provider_id}:{fmt_cents(order.total)}"
                self.payment_event(pid, "authorized", order.total, key, "{}", cleared)
                captured = [invoice for invoice in invoices if invoice[1] > 0]
                if captured:  # each shipment's invoice captured from the one authorisation
                    paid = sum(invoice[1] for invoice in captured)
                    paid_at = min(max(invoice[0] for invoice in captured) + 30, self.now)
                    status, provider_status, synced_at = "paid", "paid", paid_at
        elif cleared and rule in (ClearingRule.PROVIDER_PAID, ClearingRule.IMMEDIATE, ClearingRule.BANK_STATEMENT):
            status, paid, paid_at = "paid", order.total, cleared
            if rule == ClearingRule.PROVIDER_PAID:
                provider_status, synced_at = "paid", cleared
        elif cleared:
            raise RuntimeError(f"order {order.number}: no payment for clearing rule {rule!r} in the data set")
        updated = max(created, authorized_at or 0, paid_at or 0)
        if paid:
            self._received(order, pid, rule, paid, paid_at)
            self.counts["paid"] += 1
        elif authorized:
            self.counts["authorized"] += 1
        else:
            self.counts["open"] += 1
            self.counts["unpaid_bank_transfers"] += rule == ClearingRule.BANK_STATEMENT and not order.cancelled
        if order.cancelled and paid:
            refunded_at = self._refund(order, pid, paid)
            if refunded_at:
                refunded, status, updated = paid, "refunded", max(updated, refunded_at)
        self.add_payment(
            f"{pid}\t{fmt_ts(created)}\t{fmt_ts(updated)}\t{order.id}\tinitial\t{order.method}\t{order.provider}\t"
            f"{order.provider_id}\t{provider_status}\t{order.reference}\t{status}\t{fmt_cents(order.total)}\t"
            f"{fmt_cents(authorized)}\t{fmt_cents(paid)}\t{fmt_cents(refunded)}\t{fmt_ts(authorized_at)}\t"
            f"{fmt_ts(paid_at)}\t{fmt_ts(synced_at)}"
        )

    def _received(self, order: OrderFacts, pid: int, rule: str, paid: int, paid_at: int) -> None:
        """The money event as the service that booked it writes it, and the order's event."""
        from payments.states import ClearingRule

        if rule == ClearingRule.IMMEDIATE:  # payment_create_for_order: no order event
            data = '{"source": "point_of_sale"}'
            self.payment_event(pid, "received", paid, f"intake:{order.id}", data, order.created, to_status="paid")
            return
        amount = fmt_cents(paid)
        if rule == ClearingRule.BANK_STATEMENT:  # payment_receive_bank, keyed by the statement line
            line_key = hashlib.sha256(f"bench:{order.reference}:{paid}".encode()).hexdigest()
            self.payment_event(pid, "received", paid, f"bank:{line_key}:{order.id}", '{"source": "bank"}', paid_at)
            received = f'{{"amount": "{amount}", "payment": {pid}, "source": "bank"}}'
        else:  # payment_apply_remote
            data = fmt_json({"source": order.provider, "provider_id": order.provider_id, "method": order.method})
            self.payment_event(pid, "received", paid, f"paid:{pid}:{order.provider_id}:{amount}", data, paid_at)
            received = f'{{"amount": "{amount}", "payment": {pid}}}'
        self.order_event(order.id, "payment_received", received, paid_at)

    def _refund(self, order: OrderFacts, pid: int, paid: int) -> int | None:
        """A cancelled order's money back: refunded through the provider (the refund proposal
        accepted); without a provider the proposal waits for finance. Refunded when?"""
        refund_id = self.refund_keys.take()
        cancelled = order.cancelled
        if not (order.provider and order.provider_id):
            self.add_refund(
                f"{refund_id}\t{fmt_ts(cancelled)}\t{fmt_ts(cancelled)}\t{order.id}\t{pid}\t{fmt_cents(paid)}\t"
                f"cancellation\t\tproposed\t\t\t\t{NULL}"
            )
            return None
        refunded_at = max(cancelled, min(cancelled + self.rng.randint(2 * HOUR, 2 * DAY), self.now - 30))
        provider_refund = f"re_{hashlib.blake2b(f'refund-{refund_id}'.encode(), digest_size=6).hexdigest()}"
        self.add_refund(
            f"{refund_id}\t{fmt_ts(cancelled)}\t{fmt_ts(refunded_at)}\t{order.id}\t{pid}\t{fmt_cents(paid)}\t"
            f"cancellation\tprovider\trefunded\tREFUND-{refund_id}\t{provider_refund}\trefunded\t{fmt_ts(refunded_at)}"
        )
        data = f'{{"refund": {refund_id}, "method": "provider", "reason": "cancellation"}}'
        key = f"refund:{refund_id}"
        self.payment_event(pid, "refunded", paid, key, data, refunded_at, from_status="paid", to_status="refunded")
        data = f'{{"amount": "{fmt_cents(paid)}", "refund": {refund_id}, "method": "provider"}}'
        self.order_event(order.id, "refunded", data, refunded_at)
        self.counts["refunded"] += 1
        return refunded_at
