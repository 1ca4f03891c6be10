"""The default beat schedule: the one place that says what runs when.

`sync_schedule` (run after every migrate) adds the entries that are missing to
django-celery-beat's tables; it never overwrites what staff changed in the admin, unless
asked with `--reset`. Each app adds its periodic work here.
"""

DEFAULT_SCHEDULE: dict[str, dict] = {
    "payments: expire simulated payments": {
        "task": "payments.simulator_expire_due",
        "every_seconds": 300,
    },
    "payments: ask providers about payments still open (beside webhooks)": {
        "task": "payments.sync_open_payments",
        "every_seconds": 600,
    },
    "orders: service levels (fulfilments at risk or late)": {
        "task": "orders.sla_watch",
        "every_seconds": 300,
    },
    "orders: retry webhooks to shops": {
        "task": "orders.webhook_retry_due",
        "every_seconds": 60,
    },
    "orders: allocate backorders (safety net beside receipts)": {
        "task": "orders.backorders_allocate",
        "every_seconds": 900,
    },
    "outbox: send queued work the broker did not take": {
        "task": "core.outbox_drain",
        "every_seconds": 60,
    },
    "health: worker heartbeat": {
        "task": "core.worker_heartbeat",
        "every_seconds": 60,
    },
    "carriers: poll track & trace (one task per carrier)": {
        "task": "carriers.poll_due",
        "every_seconds": 60,
        "description": "Due parcels and change feeds, per carrier, within each carrier's quota",
    },
    "carriers: parcels without a scan (watch list)": {
        "task": "carriers.stalled_check",
        "every_seconds": 3600,
        "description": "Parcels without a scan for N carrier business days become tracking issues",
    },
    "inventory: mail the buyer the low-stock list": {
        "task": "inventory.low_stock_report",
        "crontab": ("30", "7", "*"),  # every day at 07:30 Europe/Amsterdam
        "queue": "documents",  # mail
        "description": "Stock below its reorder point, to settings.BUYER_EMAIL",
    },
}


def sync_schedule(*, reset: bool = False) -> list[str]:
    """Create (or with reset: restore) the default periodic tasks. Returns the names changed."""
    import json

    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    changed = []
    for name, entry in DEFAULT_SCHEDULE.items():
        defaults = {
            "task": entry["task"],
            "kwargs": json.dumps(entry.get("kwargs", {})),
            "queue": entry.get("queue"),
            "description": entry.get("description", ""),
            "enabled": True,
        }
        if "every_seconds" in entry:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=entry["every_seconds"], period=IntervalSchedule.SECONDS
            )
            defaults.update(interval=interval, crontab=None)
        else:
            minute, hour, day_of_week = entry["crontab"]
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_week=day_of_week,
                day_of_month="*",
                month_of_year="*",
                timezone="Europe/Amsterdam",
            )
            defaults.update(crontab=crontab, interval=None)
        task = PeriodicTask.objects.filter(name=name).first()
        if task is None:
            PeriodicTask.objects.create(name=name, **defaults)
            changed.append(name)
        elif reset:
            for field, value in defaults.items():
                setattr(task, field, value)
            task.save()
            changed.append(name)
    return changed
