"""Background work: one track & trace polling cycle over the open shipments, with the
simulated carriers (carriers.services.polling.tracking_poll_cycle, which the operators'
command uses too), in a fresh process for its time and peak memory.

The data set's newest shipments are open, as the poller last saw them a few hours after
shipping (bench.dataset.orders); the cycle asks the simulator about every one that is due,
stores the new events and moves the shipments on. A cycle changes the data: a second run
on the same data set finds fewer shipments due (`due` says how many; `--regenerate` for a
fresh data set)."""

from django.apps import apps
from django.utils import timezone

from bench.measurements.background import find_callable, run_isolated
from bench.registry import Skip, Target, measurement

SERVICE = ("carriers.services.polling:tracking_poll_cycle",)


@measurement(
    "tracking_poll",
    title="a track & trace polling cycle over the open shipments (simulated carriers)",
    order=40,
    targets=[
        Target("tracking_poll.seconds", "<", 60, "a cycle over 20,000 shipments < 60 s", full_scale_only=True),
        Target("tracking_poll.peak_rss_mb", "<", 500, "peak memory < 500 MB", full_scale_only=True),
    ],
)
def tracking_poll(ctx) -> dict:
    found = find_callable(SERVICE)
    if found is None:
        raise Skip("the polling service (carriers.services.polling.tracking_poll_cycle) is not in the project yet")
    try:
        tracking = apps.get_model("carriers", "ShipmentTracking")
    except LookupError as exc:
        raise Skip("carriers.ShipmentTracking is not in the project yet") from exc
    from carriers.statuses import FINAL_STATUSES
    from orders.models import Shipment

    now = timezone.now()
    open_shipments = Shipment.objects.exclude(status__in=FINAL_STATUSES).count()
    due = tracking.objects.filter(stopped_at__isnull=True, next_poll_at__lte=now).count()
    untracked = Shipment.objects.exclude(status__in=FINAL_STATUSES).filter(tracking__isnull=True).count()
    # a cycle moves the shipments on, so there is one run: with --profile it is the profiled one
    profiled = bool(ctx.profile_misses)
    base = ctx.path("profiles", "tracking_poll") if profiled else None
    run = run_isolated("bench.measurements.tracking_poll:poll_once", profile_to=str(base) if base else "")
    result = run["result"]
    return {
        "profiled": profiled,
        **({"profile_files": ["profiles/tracking_poll.html", "profiles/tracking_poll.txt"]} if profiled else {}),
        "service": found[0],
        "open_shipments": open_shipments,
        "due": due + untracked,
        "wanted": ctx.profile.poll_shipments,
        "seconds": run["seconds"],
        "peak_rss_mb": run["peak_rss_mb"],
        "baseline_rss_mb": run["baseline_rss_mb"],
        "shipments_per_s": round(result["totals"].get("polled", 0) / run["seconds"], 1) if run["seconds"] else None,
        **result["totals"],
        "per_carrier": result["per_carrier"],
    }


def poll_once() -> dict:
    """In the child process: one cycle, every carrier with tracked parcels."""
    from carriers.services.polling import tracking_poll_cycle

    cycle = tracking_poll_cycle()
    return {
        "totals": cycle.totals(),
        "cycle_seconds": cycle.seconds,
        "per_carrier": {
            name: {
                "due": stats.due,
                "polled": stats.polled,
                "calls": stats.calls,
                "seconds": stats.seconds,
                "error": stats.error,
            }
            for name, stats in cycle.carriers.items()
        },
    }
