"""Step: a year of orders as the services would have left them.

Every order has its addresses, lines (product snapshot, price, discount, VAT), totals to
the cent by the rules of orders/services/totals.py (`order_amounts_cents` below is the same
arithmetic in integer cents; a test checks it against `order_amounts`), fulfilments per
location by the allocation rules (one location that handles every storage kind, else the
fewest, better priority first), fulfilment lines holding stock, and — as time went on —
clearing, shipments with simulated tracking codes (carriers.adapters.simulator), delivery,
cancellation, and the event rows of each change.

The stock ledger is booked in time order: receipts, a reservation per fulfilment line at
intake, the shipment (on hand and reserved down) or the release at cancellation; a stock
row's counters are the sums of its movements and each movement carries the counters after
it. Stock is received whenever a reservation would need more than is there, and at the end
every stock row keeps something to sell.

The newest shipments are still open (as last polled by track & trace), so a polling cycle
has `OPEN_SHIPMENTS` × scale of them; the newest bank-transfer orders are unpaid, so a bank
statement can match `UNPAID_BANK_TRANSFERS` × scale of them.

Planned in two passes: first every order's facts (compact arrays), then the rows.
"""

import datetime
import hashlib
import heapq
import itertools
import random
from array import array
from functools import lru_cache

from bench.dataset.base import (
    NULL,
    GenContext,
    fmt_cents,
    fmt_json,
    fmt_text,
    fmt_ts,
    generator_step,
)
from bench.dataset.timeline import SPAN_DAYS, growth_position, random_address

ORDERS = 1_000_000
OPEN_SHIPMENTS = 20_000
UNPAID_BANK_TRANSFERS = 12_000
CARRIERS = ("postnl", "dhl_ecommerce_nl", "dpd")
CARRIER_WEIGHTS = (60, 25, 15)
LINE_COUNT_WEIGHTS = (40, 25, 15, 8, 5, 3, 2, 2)  # 1..8 lines
# per channel kind: (method, provider, weight)
METHODS = {
    "webshop": (
        ("ideal", "mollie", 58),
        ("card", "mollie", 8),
        ("paypal", "mollie", 8),
        ("bancontact", "mollie", 2),
        ("bank_transfer", "", 10),
        ("pay_later", "mollie", 14),
    ),
    "marketplace": (("ideal", "bol.com", 100),),
    "store": (("pos", "", 100),),
}
METHOD_NAMES = ("ideal", "card", "paypal", "bancontact", "bank_transfer", "pay_later", "pos")
BANK_TRANSFER = METHOD_NAMES.index("bank_transfer")
POS = METHOD_NAMES.index("pos")
HELD_JSON = '["fraud_review"]'
CANCEL_SHARE = 0.025
HOLD_SHARE = 0.004
LATE_PAYMENT_CANCEL_SHARE = 0.05
RESTOCK_FLOOR = 60  # every stock row ends with at least this much to sell
HOUR = 3600
DAY = 86400
AMSTERDAM_OFFSET = HOUR  # winter time; only used for the local year of an order number


# --- amounts, as orders/services/totals.py computes them, in integer cents --------------------


def vat_cents(gross: int, rate_bp: int) -> int:
    """VAT contained in `gross` cents at `rate_bp` (rate in basis points: 21% = 2100),
    rounded half up (away from zero) to the cent, as core.money.vat_of_gross."""
    if rate_bp == 0 or gross == 0:
        return 0
    den = 10000 + rate_bp
    num = abs(gross) * rate_bp
    vat = (2 * num + den) // (2 * den)
    return vat if gross > 0 else -vat


def split_cents(amount: int, weights: dict[int, int]) -> dict[int, int]:
    """orders.services.totals.split_over_rates in cents: largest remainder, ties to the
    higher rate."""
    if not weights or amount == 0:
        return dict.fromkeys(weights, 0)
    total = sum(weights.values())
    if total <= 0:
        top = max(weights)
        return {rate: (amount if rate == top else 0) for rate in weights}
    floors = {rate: amount * w // total for rate, w in weights.items()}
    remainders = {rate: amount * w % total for rate, w in weights.items()}
    rest = amount - sum(floors.values())
    for rate in sorted(weights, key=lambda r: (remainders[r], r), reverse=True)[:rest]:
        floors[rate] += 1
    return floors


def order_amounts_cents(lines: list[tuple[int, int, int, int]], shipping: int) -> tuple:
    """lines: (unit price, quantity, discount, rate_bp) → (goods, discount, shipping, vat,
    total, [(line total, line vat)])."""
    goods = discount = 0
    gross_by_rate: dict[int, int] = {}
    vat_by_rate: dict[int, int] = {}
    per_line = []
    for unit, quantity, line_discount, rate in lines:
        gross = unit * quantity
        line_total = gross - line_discount
        line_vat = vat_cents(line_total, rate)
        goods += gross
        discount += line_discount
        gross_by_rate[rate] = gross_by_rate.get(rate, 0) + line_total
        vat_by_rate[rate] = vat_by_rate.get(rate, 0) + line_vat
        per_line.append((line_total, line_vat))
    vat = sum(vat_by_rate.values())
    for rate, part in split_cents(shipping, gross_by_rate).items():
        vat += vat_cents(part, rate)
    return goods, discount, shipping, vat, goods - discount + shipping, per_line


# --- helpers ------------------------------------------------------------------------------------


def _dt(ts: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC)


@lru_cache(maxsize=8192)
def _promised(local_day: str, before_cutoff: bool) -> tuple[str, int]:
    """(promised ship date, its local midnight as epoch seconds) for a moment on
    `local_day` before or after the cut-off (orders.services.sla.promised_ship_date)."""
    from django.utils import timezone

    from orders.services.sla import promised_ship_date

    day = datetime.date.fromisoformat(local_day)
    moment = timezone.make_aware(
        datetime.datetime.combine(day, datetime.time(9, 0) if before_cutoff else datetime.time(13, 0))
    )
    promised = promised_ship_date(ready_at=moment, channel_cutoff=datetime.time(12, 0), location_cutoff=None)
    midnight = timezone.make_aware(datetime.datetime.combine(promised, datetime.time(0, 0)))
    return promised.isoformat(), int(midnight.timestamp())


_OFFSETS: dict[int, int] = {}


def local_offset(ts: int) -> int:
    """Seconds Europe/Amsterdam is ahead of UTC at `ts` (cached per hour: DST changes on
    the hour)."""
    hour = ts // HOUR
    offset = _OFFSETS.get(hour)
    if offset is None:
        from zoneinfo import ZoneInfo

        moment = datetime.datetime.fromtimestamp(hour * HOUR, ZoneInfo("Europe/Amsterdam"))
        offset = _OFFSETS[hour] = int(moment.utcoffset().total_seconds())
    return offset


def _local_minutes(ts: int) -> tuple[str, int]:
    """(local date, minutes after local midnight) in Europe/Amsterdam."""
    local = ts + local_offset(ts)
    return fmt_ts(local)[:10], local % DAY // 60


def allocate_locations(kinds: set[str], locations: dict[str, object]) -> dict[str, str]:
    """Storage kind → location code, by the allocation rules with stock everywhere: one
    location that handles every kind, else the fewest, the better priority first."""
    candidates = sorted(locations.values(), key=lambda loc: loc.priority)
    for loc in candidates:
        if kinds <= set(loc.storage_kinds):
            return dict.fromkeys(kinds, loc.code)
    chosen = {}
    remaining = set(kinds)
    while remaining:
        best = max(candidates, key=lambda loc: (len(remaining & set(loc.storage_kinds)), -loc.priority))
        for kind in remaining & set(best.storage_kinds):
            chosen[kind] = best.code
        remaining -= set(best.storage_kinds)
    return chosen


class Ledger:
    """Stock counters and their movements, booked in time order through a queue of
    future bookings (shipments and releases happen after the reservation)."""

    def __init__(self, ctx: GenContext, rng: random.Random):
        from inventory.models import StockMovement

        self.rng = rng
        self.first = ctx.state["stock_first_id"]
        count = ctx.state["stock_count"]
        self.on_hand = array("q", bytes(8 * count))
        self.reserved = array("q", bytes(8 * count))
        self.changed = array("q", bytes(8 * count))
        self.pending: list = []
        self.sequence = 0
        self.table = ctx.table(
            StockMovement,
            "id stock_id kind on_hand_delta reserved_delta on_hand_after reserved_after reference reason "
            "actor_label created_at".split(),
        )
        self.ids = itertools.count(ctx.ids(StockMovement, 1))

    def book(self, stock_id, kind, on_hand_delta, reserved_delta, ts, reference, label="system"):
        i = stock_id - self.first
        on_hand = self.on_hand[i] = self.on_hand[i] + on_hand_delta
        reserved = self.reserved[i] = self.reserved[i] + reserved_delta
        if ts > self.changed[i]:
            self.changed[i] = ts
        self.table.add_line(
            f"{next(self.ids)}\t{stock_id}\t{kind}\t{on_hand_delta}\t{reserved_delta}\t{on_hand}\t{reserved}\t"
            f"{reference}\t\t{label}\t{fmt_ts(ts)}"
        )

    def reserve(self, stock_id, quantity, ts, reference, label):
        i = stock_id - self.first
        if self.on_hand[i] - self.reserved[i] < quantity:
            lot = max(quantity, self.rng.choice((50, 100, 200, 400)))
            self.book(stock_id, "receipt", lot, 0, ts, f"inbound:{ts // DAY}", "magazijn")
        self.book(stock_id, "allocation", 0, quantity, ts, reference, label)

    def later(self, ts, kind, stock_id, quantity, reference):
        self.sequence += 1
        heapq.heappush(self.pending, (ts, self.sequence, kind, stock_id, quantity, reference))

    def until(self, ts):
        pending = self.pending
        while pending and pending[0][0] <= ts:
            when, _, kind, stock_id, quantity, reference = heapq.heappop(pending)
            if kind == "shipment":
                self.book(stock_id, "shipment", -quantity, -quantity, when, reference)
            else:
                self.book(stock_id, "release", 0, -quantity, when, reference)


# --- the step --------------------------------------------------------------------------------


@generator_step(
    "orders",
    requires=("orders.Order", "orders.Shipment", "inventory.StockMovement"),
    bulk_tables=(
        "orders.Order",
        "orders.OrderAddress",
        "orders.OrderLine",
        "orders.Fulfilment",
        "orders.FulfilmentLine",
        "orders.Shipment",
        "orders.ShipmentLine",
        "orders.OrderEvent",
        "inventory.StockMovement",
    ),
)
def orders(ctx: GenContext) -> None:
    plan = _plan(ctx)
    _write(ctx, plan)


def _plan(ctx: GenContext) -> dict:
    """Every order's facts, in compact arrays."""
    rng = random.Random(ctx.seed * 31 + 3)
    n = ctx.count(ORDERS, minimum=200)
    span = SPAN_DAYS * DAY
    start = ctx.now - span
    channels = ctx.state["channels"]
    shares = [share for _, share in channels]
    kinds = [channel.kind for channel, _ in channels]
    customers = ctx.state["customers"]
    products = ctx.state["products"]
    popularity = ctx.state["popularity"]
    n_products = len(products)

    placed = array("q")
    channel_of = array("b")
    method_of = array("b")
    for i in range(n):
        ts = start + int(growth_position((i + rng.random()) / n) * span)
        placed.append(min(ts, ctx.now - 600))
        c = rng.choices(range(len(channels)), shares)[0]
        channel_of.append(c)
        options = METHODS[kinds[c]]
        method = rng.choices(options, [w for *_, w in options])[0][0]
        method_of.append(METHOD_NAMES.index(method))

    # the newest bank transfers are not paid yet
    unpaid = set()
    wanted = ctx.count(UNPAID_BANK_TRANSFERS, minimum=10)
    for i in range(n - 1, -1, -1):
        if len(unpaid) >= wanted:
            break
        if method_of[i] == BANK_TRANSFER:
            unpaid.add(i)

    customer_of = array("i")
    line_start = array("i")
    line_product = array("i")
    line_quantity = array("h")
    line_discount = array("i")
    ship_address_seed = array("q")
    cancel_at = array("q")
    hold_until = array("q")  # 0: no hold; -1: still held
    cleared_at = array("q")
    ready_at = array("q")
    ship_at = array("q")
    late_cancel = array("b")
    for i in range(n):
        ts = placed[i]
        c = channel_of[i]
        pool = customers[channels[c][0].pk]
        eligible = max(1, min(len(pool), int(len(pool) * (i + 1) / n)))
        if rng.random() < 0.3:  # a new customer's first order
            k = eligible - 1 - int(rng.random() * min(eligible, 1 + eligible // 100))
        else:
            k = int(eligible * rng.random())
        customer_of.append(k)
        line_start.append(len(line_product))
        count = rng.choices(range(1, 9), LINE_COUNT_WEIGHTS)[0]
        seen = set()
        for _ in range(count):
            p = popularity[int(n_products * rng.random() ** 2.2)]
            if p in seen:
                continue
            seen.add(p)
            quantity = 1 if rng.random() < 0.82 else rng.choice((2, 2, 2, 3, 4, 5))
            line_product.append(p)
            line_quantity.append(quantity)
            discount = 0
            if rng.random() < 0.08:
                discount = int(products[p][7] * quantity * rng.uniform(0.05, 0.25))
            line_discount.append(discount)
        ship_address_seed.append(rng.getrandbits(48) if rng.random() < 0.1 else 0)

        method = method_of[i]
        cancel = 0
        if method != POS and rng.random() < CANCEL_SHARE:
            cancel = ts + rng.randint(300, 3 * HOUR)
            cancel = cancel if cancel <= ctx.now - 60 else 0
        hold = 0
        if method != POS and rng.random() < HOLD_SHARE:
            release = ts + rng.randint(2 * HOUR, 20 * HOUR)
            hold = release if release <= ctx.now - 60 else -1
        late = False
        if method == POS:
            clear = ts
        elif method == BANK_TRANSFER:
            clear = 0 if i in unpaid else ts + rng.randint(DAY // 2, 4 * DAY)
            if clear > ctx.now - 60:
                clear = 0
            if clear == 0 and i not in unpaid and not cancel and ctx.now - ts > 20 * DAY:
                cancel = ts + 15 * DAY  # never paid: cancelled after the payment term
                late = True
        else:
            clear = ts + rng.randint(20, 600)
            clear = clear if clear <= ctx.now - 60 else 0
        if cancel and clear >= cancel:
            clear = 0  # cancelled before the money came: never paid, so never cleared
        ready = 0
        if clear and hold != -1 and not cancel:
            ready = max(clear, hold)
        ship = 0
        if ready:
            day, minutes = _local_minutes(ready)
            _, midnight = _promised(day, minutes < 16 * 60)
            ship = max(ready + HOUR, midnight + rng.randint(13 * HOUR, 17 * HOUR + 1800))
            if rng.random() < 0.03:
                ship += DAY  # late
            if ship > ctx.now - 60:
                ship = 0
        cancel_at.append(cancel)
        hold_until.append(hold)
        cleared_at.append(clear)
        ready_at.append(ready)
        ship_at.append(ship)
        late_cancel.append(1 if late else 0)
    line_start.append(len(line_product))

    shipped = sorted((ts for ts in ship_at if ts), reverse=True)
    target = ctx.count(OPEN_SHIPMENTS, minimum=10)
    open_from = shipped[min(target, len(shipped)) - 1] if shipped else ctx.now
    return {
        "n": n,
        "placed": placed,
        "channel": channel_of,
        "method": method_of,
        "customer": customer_of,
        "line_start": line_start,
        "line_product": line_product,
        "line_quantity": line_quantity,
        "line_discount": line_discount,
        "ship_address_seed": ship_address_seed,
        "cancel": cancel_at,
        "hold": hold_until,
        "cleared": cleared_at,
        "ready": ready_at,
        "ship": ship_at,
        "late_cancel": late_cancel,
        "open_from": open_from,
    }


def _write(ctx: GenContext, plan: dict) -> None:
    from carriers.adapters.simulator import SEED_LIMIT, plan_life_cycle, simulated_result, simulated_tracking_code
    from carriers.registry import get_adapter
    from orders.models import (
        Fulfilment,
        FulfilmentLine,
        Order,
        OrderAddress,
        OrderEvent,
        OrderLine,
        Shipment,
        ShipmentLine,
    )
    from payments.reference import payment_reference_for

    rng = random.Random(ctx.seed * 31 + 4)
    rand = rng.random
    now = ctx.now
    n = plan["n"]
    channels = [channel for channel, _ in ctx.state["channels"]]
    customers = ctx.state["customers"]
    products = ctx.state["products"]
    locations = {loc.code: loc for loc in ctx.state["locations"]}
    location_order = sorted(locations, key=lambda code: locations[code].priority)
    stock_of = ctx.state["stock_of"]
    rates = _vat_rates_bp()
    rate_text = {vat_class: f"{bp // 100}.{bp % 100:02d}" for vat_class, bp in rates.items()}
    adapters = {code: get_adapter(code) for code in CARRIERS}
    shipment_tools = (simulated_tracking_code, plan_life_cycle, simulated_result, SEED_LIMIT)

    # every promise the orders need, before the first batch goes to the database (the
    # business calendar may read its exceptions from the database)
    for day in range((ctx.now - SPAN_DAYS * DAY) // DAY - 2, ctx.now // DAY + 2):
        for before in (True, False):
            _promised(fmt_ts(day * DAY + 12 * HOUR)[:10], before)

    ledger = Ledger(ctx, random.Random(ctx.seed * 31 + 5))
    initial = ctx.state["catalog_start"] + 20 * DAY  # opening stock, before the first order
    for sid in range(ledger.first, ledger.first + ctx.state["stock_count"]):
        ledger.book(sid, "receipt", rng.choice((20, 50, 100, 200)), 0, initial, "inbound:opening", "magazijn")

    T = ctx.table
    orders_t = T(
        Order,
        (
            "id created_at updated_at channel_id number external_reference request_fingerprint customer_id email "
            "first_name last_name phone customer_type company_name vat_number placed_at promised_ship_date status "
            "hold_reasons fraud_signals goods_amount discount_amount shipping_amount vat_amount total_amount "
            "payment_method payment_provider payment_provider_reference payment_reference cleared_at cancelled_at "
            "cancel_reason"
        ).split(),
    )
    addresses_t = T(
        OrderAddress,
        "id order_id kind name company_name street house_number house_number_addition postal_code city country "
        "is_current created_at".split(),
    )
    lines_t = T(
        OrderLine,
        "id order_id line_number product_id sku name ean storage_kind weight_grams vat_rate quantity unit_price "
        "discount_amount total_amount vat_amount quantity_shipped quantity_backordered quantity_cancelled".split(),
    )
    fulfilments_t = T(
        Fulfilment,
        "id created_at updated_at order_id code location_id status promised_ship_date sla_status released_at "
        "picked_at packed_at shipped_at cancelled_at".split(),
    )
    flines_t = T(FulfilmentLine, "id fulfilment_id order_line_id stock_id quantity quantity_shipped".split())
    shipments_t = T(
        Shipment,
        "id created_at updated_at fulfilment_id carrier tracking_code tracking_url status shipped_at delivered_at "
        "packed_by_label weight_grams expected_weight_grams weight_flagged postal_code country".split(),
    )
    slines_t = T(ShipmentLine, "id shipment_id fulfilment_line_id quantity".split())
    events_t = T(OrderEvent, "id order_id kind from_status to_status actor_label data created_at".split())

    first_order = ctx.ids(Order, n)
    first_line = ctx.ids(OrderLine, len(plan["line_product"]))
    address_ids = itertools.count(ctx.ids(OrderAddress, 2 * n))
    fulfilment_ids = itertools.count(ctx.ids(Fulfilment, 1))
    fline_ids = itertools.count(ctx.ids(FulfilmentLine, 1))
    shipment_ids = itertools.count(ctx.ids(Shipment, 1))
    sline_ids = itertools.count(ctx.ids(ShipmentLine, 1))
    event_ids = itertools.count(ctx.ids(OrderEvent, 1))
    add_event = events_t.add_line

    used_codes: set[int] = set()
    open_from = plan["open_from"]
    open_shipments = array("q")  # ids of the shipments still open, for a later step
    order_totals = array("q")
    status_counts: dict[str, int] = {}
    external_counters = [0] * len(channels)
    P = plan
    placed_a, channel_a, method_a, customer_a = P["placed"], P["channel"], P["method"], P["customer"]
    line_start, line_product, line_quantity, line_discount = (
        P["line_start"],
        P["line_product"],
        P["line_quantity"],
        P["line_discount"],
    )

    for i in range(n):
        placed = placed_a[i]
        created = min(placed + 5 + int(85 * rand()), now)
        ledger.until(created)
        oid = first_order + i
        channel = channels[channel_a[i]]
        label = f"channel:{channel.code}"
        cid, email, first, last, phone, ctype, company, address = customers[channel.pk][customer_a[i]]
        created_s = fmt_ts(created)
        number = f"{channel.order_number_prefix}-{fmt_ts(placed + local_offset(placed))[:4]}-{oid:06d}"
        external_counters[channel_a[i]] += 1
        external = f"{channel.order_number_prefix[:2]}-{100000 + external_counters[channel_a[i]]}"
        method = METHOD_NAMES[method_a[i]]
        provider = (
            "" if method in ("bank_transfer", "pos") else ("bol.com" if channel.kind == "marketplace" else "mollie")
        )
        provider_ref = f"tr_{hashlib.blake2b(number.encode(), digest_size=6).hexdigest()}" if provider else ""

        # lines and amounts
        items = [
            (j, products[line_product[j]], line_quantity[j], line_discount[j])
            for j in range(line_start[i], line_start[i + 1])
        ]
        goods_sum = sum(p[7] * q - d for _, p, q, d in items)
        shipping = 0 if channel.kind != "webshop" or goods_sum >= 5000 else 495
        goods, discount, shipping, vat, total, per_line = order_amounts_cents(
            [(p[7], q, d, rates[p[6]]) for _, p, q, d in items], shipping
        )
        order_totals.append(total)

        # what happened to it
        cancel, hold, clear, ready, ship = P["cancel"][i], P["hold"][i], P["cleared"][i], P["ready"][i], P["ship"][i]
        held = hold == -1
        signals = (["order_value_above_limit"] if total > 100_000 else ["new_shipping_address"]) if hold else []
        reason = (
            ("niet betaald binnen de termijn" if P["late_cancel"][i] else "op verzoek van de klant") if cancel else ""
        )
        at_intake = "released" if method == "pos" else ("on_hold" if hold else "awaiting_payment")

        # addresses (snapshots)
        name = fmt_text(f"{first} {last}")
        company_s = fmt_text(company)
        seed = P["ship_address_seed"][i]
        ship_to = random_address(random.Random(seed)) if seed else address
        for kind, (street, house, addition, postcode, city, country) in (("billing", address), ("shipping", ship_to)):
            addresses_t.add_line(
                f"{next(address_ids)}\t{oid}\t{kind}\t{name}\t{company_s}\t{street}\t{house}\t{addition}\t"
                f"{postcode}\t{fmt_text(city)}\t{country}\tt\t{created_s}"
            )
        for position, (j, p, q, d) in enumerate(items):
            line_total, line_vat = per_line[position]
            lines_t.add_line(
                f"{first_line + j}\t{oid}\t{position + 1}\t{p[0]}\t{p[1]}\t{fmt_text(p[2])}\t{p[3]}\t{p[4]}\t{p[5]}\t"
                f"{rate_text[p[6]]}\t{q}\t{fmt_cents(p[7])}\t{fmt_cents(d)}\t{fmt_cents(line_total)}\t"
                f"{fmt_cents(line_vat)}\t{q if ship else 0}\t0\t{q if cancel else 0}"
            )

        # fulfilments per location, stock reserved at intake
        by_kind = allocate_locations({p[4] for _, p, _, _ in items}, locations)
        delivered_all = True
        last_change = created
        allocated = []
        later = []  # (ts, kind, from, to, data JSON)
        promised_dates = []
        seq = 0
        for code in location_order:
            f_items = [(j, p, q) for j, p, q, _d in items if by_kind[p[4]] == code]
            if not f_items:
                continue
            seq += 1
            location = locations[code]
            fid = next(fulfilment_ids)
            fcode = f"{number}-{seq}"
            allocated.append(f'"{fcode}": "{code}"')
            day, minutes = _local_minutes(ready or clear or placed)
            cutoff = min(location.cutoff_time, channel.cutoff_time)
            promised, _ = _promised(day, minutes < cutoff.hour * 60 + cutoff.minute)
            promised_dates.append(promised)
            f_lines = []
            for j, p, q in f_items:
                flid = next(fline_ids)
                sid = stock_of[(p[0], location.pk)]
                ledger.reserve(sid, q, created, f"order:{number}", label)
                f_lines.append((flid, p, q, sid))
                flines_t.add_line(f"{flid}\t{fid}\t{first_line + j}\t{sid}\t{q}\t{q if ship else 0}")
            picked = packed = None
            if cancel:
                status, updated = "cancelled", cancel
                for _flid, _p, q, sid in f_lines:
                    ledger.later(cancel, "release", sid, q, f"order:{number}:cancel")
            elif ship:
                status, updated = "shipped", ship
                picked, packed = ship - HOUR, ship - 1800
            elif ready:
                status, updated = "released", ready
                if now - ready > 3 * HOUR and rand() < 0.4:
                    status = "picked" if rand() < 0.6 else "packed"
                    picked = min(ready + 2 * HOUR, now)
                    packed = min(ready + 3 * HOUR, now) if status == "packed" else None
                    updated = packed or picked
            else:
                status, updated = "waiting", created
            if ship:
                carrier = rng.choices(CARRIERS, CARRIER_WEIGHTS)[0]
                tracking, sh_status, delivered_at, polled = _shipment(
                    ctx, rng, ship, open_from, used_codes, *shipment_tools
                )
                shid = next(shipment_ids)
                if sh_status != "delivered":
                    delivered_all = False
                if sh_status not in ("delivered", "returned_to_sender"):
                    open_shipments.append(shid)
                expected = sum(p[5] * q for _flid, p, q, _sid in f_lines)
                _street, _house, _addition, postcode, _city, country = ship_to
                url = adapters[carrier].tracking_url(tracking, postal_code=postcode.replace(" ", ""), country=country)
                shipments_t.add_line(
                    f"{shid}\t{fmt_ts(ship)}\t{fmt_ts(polled)}\t{fid}\t{carrier}\t{tracking}\t{fmt_text(url)}\t"
                    f"{sh_status}\t{fmt_ts(ship)}\t{fmt_ts(delivered_at)}\tlocation:{code}\t"
                    f"{int(expected * (1 + 0.12 * rand())) + 90}\t{expected}\tf\t{postcode}\t{country}"
                )
                for flid, _p, q, sid in f_lines:
                    slines_t.add_line(f"{next(sline_ids)}\t{shid}\t{flid}\t{q}")
                    ledger.later(ship, "shipment", sid, q, f"shipment:{carrier}:{tracking}")
                shipped_lines = ", ".join(f'{{"sku": "{p[1]}", "quantity": {q}}}' for _flid, p, q, _sid in f_lines)
                later.append(
                    (
                        ship,
                        "shipped",
                        "",
                        "",
                        f'{{"fulfilment": "{fcode}", "carrier": "{carrier}", "tracking_code": "{tracking}", '
                        f'"lines": [{shipped_lines}]}}',
                    )
                )
                later.append((ship, "fulfilment_status", "packed", "shipped", f'{{"fulfilment": "{fcode}"}}'))
                if delivered_at:
                    later.append(
                        (
                            delivered_at,
                            "shipment_status",
                            "in_transit",
                            "delivered",
                            f'{{"tracking_code": "{tracking}", "carrier": "{carrier}"}}',
                        )
                    )
                updated = max(updated, polled)
            fulfilments_t.add_line(
                f"{fid}\t{created_s}\t{fmt_ts(updated)}\t{oid}\t{fcode}\t{location.pk}\t{status}\t{promised}\t"
                f"on_track\t{fmt_ts((ready if ready and not cancel else 0) or None)}\t{fmt_ts(picked)}\t"
                f"{fmt_ts(packed)}\t{fmt_ts(ship or None)}\t{fmt_ts(cancel or None)}"
            )
            last_change = max(last_change, updated)

        # the status, derived as orders.services.status does
        if cancel:
            status = "cancelled"
        elif ship:
            status = "delivered" if delivered_all else "shipped"
        elif held:
            status = "on_hold"
        elif not clear:
            status = "awaiting_payment"
        else:
            status = "released"
        status_counts[status] = status_counts.get(status, 0) + 1

        # events, as the services write them
        add_event(
            f"{next(event_ids)}\t{oid}\tcreated\t\t{at_intake}\t{label}\t"
            f'{{"external_reference": "{external}", "total": "{fmt_cents(total)}"}}\t{created_s}'
        )
        add_event(
            f"{next(event_ids)}\t{oid}\tallocated\t\t\t{label}\t"
            f'{{"fulfilments": {{{", ".join(allocated)}}}, "backorders": {{}}}}\t{created_s}'
        )
        if hold:
            signals_json = fmt_json({"signals": signals})
            add_event(f"{next(event_ids)}\t{oid}\thold_added\t\tfraud_review\t{label}\t{signals_json}\t{created_s}")
            if hold > 0:
                later.append((hold, "hold_released", "fraud_review", "", '{"reasons": ["fraud_review"]}'))
        if clear and clear > created:
            source = "bank statement" if method == "bank_transfer" else "provider"
            later.append((clear, "cleared", "", "", f'{{"source": "{source}"}}'))
        if ready and ready > created and at_intake != "released":
            later.append((ready, "status_changed", at_intake, "released", "{}"))
        if cancel:
            later.append((cancel, "cancelled", "", "", f'{{"reason": "{reason}"}}'))
            later.append((cancel, "status_changed", at_intake, "cancelled", f'{{"reason": "{reason}"}}'))
        if ship:
            later.append((ship, "status_changed", "released", "shipped", "{}"))
            if status == "delivered":
                delivered = max(ts for ts, kind, *_ in later if kind == "shipment_status")
                later.append((delivered, "status_changed", "shipped", "delivered", "{}"))
        later.sort(key=lambda e: e[0])
        for ts, kind, from_status, to_status, data in later:
            add_event(f"{next(event_ids)}\t{oid}\t{kind}\t{from_status}\t{to_status}\tsystem\t{data}\t{fmt_ts(ts)}")
            if ts > last_change:
                last_change = ts

        fingerprint = hashlib.sha256(f"{channel.code}|{external}|{email}|{total}".encode()).hexdigest()
        orders_t.add_line(
            f"{oid}\t{created_s}\t{fmt_ts(min(last_change, now))}\t{channel.pk}\t{number}\t{external}\t{fingerprint}\t"
            f"{cid}\t{email}\t{fmt_text(first)}\t{fmt_text(last)}\t{phone}\t{ctype}\t{company_s}\t\t{fmt_ts(placed)}\t"
            f"{max(promised_dates) if promised_dates else NULL}\t{status}\t"
            f"{HELD_JSON if held else '[]'}\t{fmt_json(signals) if signals else '[]'}\t"
            f"{fmt_cents(goods)}\t{fmt_cents(discount)}\t{fmt_cents(shipping)}\t{fmt_cents(vat)}\t{fmt_cents(total)}\t"
            f"{method}\t{provider}\t{provider_ref}\t{payment_reference_for(oid)}\t{fmt_ts(clear or None)}\t"
            f"{fmt_ts(cancel or None)}\t{reason}"
        )

    ledger.until(now)
    # every stock row keeps something to sell (and room for the intake benchmark)
    for k in range(ctx.state["stock_count"]):
        available = ledger.on_hand[k] - ledger.reserved[k]
        if available < RESTOCK_FLOOR:
            quantity = RESTOCK_FLOOR - available + rng.choice((40, 100, 200))
            ledger.book(ledger.first + k, "receipt", quantity, 0, now, "inbound:top-up", "magazijn")
    ctx.flush()
    _stock_counters_write(ledger)
    ctx.state["order_ids"] = (first_order, n)
    ctx.state["order_totals"] = order_totals
    ctx.state["open_shipment_ids"] = open_shipments
    ctx.state["order_status_counts"] = status_counts
    ctx.notes.append(f"orders by status: {dict(sorted(status_counts.items()))}; open shipments: {len(open_shipments)}")


def _shipment(ctx, rng, ship, open_from, used, tracking_code, life_cycle, result, seed_limit):
    """(tracking code, status, delivered at, last polled at) of a parcel shipped at
    `ship`: open parcels as track & trace last saw them (a few hours after shipping);
    older ones delivered (within 30 days as the simulator plans it, so a later look at the
    carrier agrees)."""
    now = ctx.now
    minute = (ship - 1577836800) // 60  # the simulator's epoch is 2020-01-01 UTC
    moment = _dt(ship)

    def new_code():
        for _ in range(1000):
            seed = rng.randrange(seed_limit)
            key = minute * seed_limit + seed
            if key not in used:
                used.add(key)
                return tracking_code(moment, seed=seed), key
        raise RuntimeError("no free simulated tracking code in this minute")

    if ship >= open_from:
        code, _ = new_code()
        polled = min(now, ship + rng.randint(0, 6 * HOUR))
        seen = result(code, _dt(polled))
        delivered = int(seen.delivered_at.timestamp()) if seen.delivered_at else None
        return code, str(seen.status) if seen.found else "pre_transit", delivered, polled
    if now - ship < 30 * DAY:
        for _ in range(50):
            code, key = new_code()
            planned = life_cycle(code)
            last_minute, _code, _location = planned.events[-1]
            delivered = 1577836800 + last_minute * 60
            if planned.scenario == "delivered" and delivered <= now:
                return code, "delivered", delivered, delivered
            used.discard(key)
    code, _ = new_code()
    delivered = ship + rng.randint(14 * HOUR, 30 * HOUR)
    return code, "delivered", min(delivered, now), min(delivered, now)


def _vat_rates_bp() -> dict[str, int]:
    """The VAT rate per class valid now, in basis points (orders.services.intake.vat_rates_at)."""
    from django.utils import timezone

    from orders.services.intake import vat_rates_at

    return {vat_class: int(rate * 100) for vat_class, rate in vat_rates_at(timezone.now()).items()}


def _stock_counters_write(ledger: Ledger) -> None:
    """Write the final counters onto the stock rows (one UPDATE from a COPY)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_stock_counters (id bigint, on_hand int, reserved int, changed timestamptz)"
        )
    raw = connection.connection
    with raw.cursor() as cursor, cursor.copy("COPY bench_stock_counters FROM STDIN") as copy:
        copy.write(
            "".join(
                f"{ledger.first + k}\t{ledger.on_hand[k]}\t{ledger.reserved[k]}\t{fmt_ts(ledger.changed[k])}\n"
                for k in range(len(ledger.on_hand))
            )
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inventory_stock s SET on_hand = c.on_hand, reserved = c.reserved, updated_at = c.changed "
            "FROM bench_stock_counters c WHERE s.id = c.id"
        )
        cursor.execute("DROP TABLE bench_stock_counters")
