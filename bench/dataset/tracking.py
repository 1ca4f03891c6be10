"""Step: track & trace as the poller would have left it — a tracking state per shipment and
the carrier events it stored.

- Open shipments: the events the simulated carrier showed when they were last polled (the
  shipment's `updated_at`), and the next poll planned by the carrier's schedule
  (carriers.services.schedule), so a polling cycle finds them due.
- Delivered shipments: tracking stopped (final). Their events are the simulator's own plan
  where it agrees with the delivery (the last 30 days, see bench.dataset.orders) and
  otherwise the usual five scans (announced, collected, sorted, out for delivery,
  delivered) between shipping and delivery.

Event keys are carriers.statuses.event_key, so a later poll stores nothing twice."""

import datetime
import itertools
import json

from django.db import connection

from bench.dataset.base import NULL, GenContext, fmt_text, fmt_ts, generator_step

CHUNK = 50_000
HOUR = 3600


def _utc(ts: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC)


@generator_step(
    "tracking",
    requires=("carriers.ShipmentTracking", "carriers.ShipmentEvent", "orders.Shipment"),
    bulk_tables=("carriers.ShipmentTracking", "carriers.ShipmentEvent"),
)
def tracking(ctx: GenContext) -> None:
    from carriers.adapters.simulator import CARRIER_CODES, EPOCH_TIMESTAMP, plan_life_cycle, simulated_result
    from carriers.models import ShipmentEvent, ShipmentTracking
    from carriers.registry import get_adapter
    from carriers.services.schedule import poll_plan
    from carriers.statuses import FINAL_STATUSES, event_key

    now = ctx.now
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT carrier FROM orders_shipment")
        carriers = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT min(id), max(id) FROM orders_shipment")
        low, high = cursor.fetchone()
    plans = {c: poll_plan(adapter=get_adapter(c), now=_utc(now)) for c in carriers}
    if low is None:
        return
    states = ctx.table(
        ShipmentTracking,
        "shipment_id carrier started_at next_poll_at last_polled_at last_event_at attempts stopped_at "
        "stop_reason".split(),
    )
    events = ctx.table(
        ShipmentEvent,
        "id shipment_id status occurred_at carrier_status_code description location raw key recorded_at".split(),
    )
    event_ids = itertools.count(ctx.ids(ShipmentEvent, 1))
    recent = now - 30 * 86400
    counts = {"open": 0, "stopped": 0, "events": 0}

    def add_event(sid, code, carrier_code, moment_ts, location, recorded):
        status, description = CARRIER_CODES[carrier_code]
        key = event_key(code, carrier_code, _utc(moment_ts))
        raw = json.dumps({"code": carrier_code})
        events.add_line(
            f"{next(event_ids)}\t{sid}\t{status}\t{fmt_ts(moment_ts)}\t{carrier_code}\t{fmt_text(description)}\t"
            f"{fmt_text(location)}\t{raw}\t{key}\t{fmt_ts(recorded)}"
        )
        counts["events"] += 1

    for start in range(low, high + 1, CHUNK):
        with ctx.sink.lock, connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, carrier, tracking_code, status, extract(epoch FROM shipped_at)::bigint, "
                "extract(epoch FROM updated_at)::bigint, extract(epoch FROM delivered_at)::bigint "
                "FROM orders_shipment WHERE id BETWEEN %s AND %s ORDER BY id",
                [start, start + CHUNK - 1],
            )
            rows = cursor.fetchall()
        for sid, carrier, code, status, shipped, polled, delivered in rows:
            if status not in FINAL_STATUSES:
                seen = simulated_result(code, _utc(polled))
                last = shipped
                for event in seen.events:
                    moment = int(event.occurred_at.timestamp())
                    add_event(sid, code, event.carrier_status_code, moment, event.location, polled)
                    last = moment
                plan = plans[carrier]
                next_poll = plan.next_poll_at(status=status, now=_utc(polled), shipment_id=sid)
                next_text = fmt_ts(int(next_poll.timestamp())) if next_poll else NULL
                states.add_line(
                    f"{sid}\t{carrier}\t{fmt_ts(shipped)}\t{next_text}\t{fmt_ts(polled)}\t{fmt_ts(last)}\t0\t{NULL}\t"
                )
                counts["open"] += 1
                continue
            finished = delivered or polled
            planned = plan_life_cycle(code) if shipped >= recent else None
            if planned is not None and int(EPOCH_TIMESTAMP + planned.events[-1][0] * 60) == finished:
                for minutes, carrier_code, location in planned.events:
                    add_event(sid, code, carrier_code, int(EPOCH_TIMESTAMP + minutes * 60), location, finished)
            else:
                depot = "Depot Utrecht"
                collected = shipped + 3 * HOUR + (sid % 7) * 1200
                add_event(sid, code, "ANNOUNCED", shipped, "", finished)
                add_event(sid, code, "COLLECTED", collected, depot, finished)
                add_event(sid, code, "SORTED", collected + 4 * HOUR, "Sorteercentrum Nieuwegein", finished)
                add_event(sid, code, "OUT_FOR_DELIVERY", finished - 2 * HOUR - (sid % 5) * 600, depot, finished)
                add_event(sid, code, "DELIVERED", finished, "", finished)
            states.add_line(
                f"{sid}\t{carrier}\t{fmt_ts(shipped)}\t{NULL}\t{fmt_ts(finished)}\t{fmt_ts(finished)}\t0\t"
                f"{fmt_ts(finished)}\tfinal"
            )
            counts["stopped"] += 1
    ctx.flush()
    ctx.notes.append(
        f"tracking: {counts['open']} open (due for polling), {counts['stopped']} stopped, {counts['events']} events"
    )
