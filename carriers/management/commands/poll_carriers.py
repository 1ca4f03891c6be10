"""Poll the carriers by hand, or keep polling without Celery beat.

manage.py poll_carriers --once                 one run per carrier, then exit
manage.py poll_carriers --carrier postnl --once
manage.py poll_carriers                        every minute until stopped (Ctrl-C);
                                               the stalled-parcel check runs hourly
"""

import time

from django.core.management.base import BaseCommand, CommandError

from carriers.registry import carrier_codes
from carriers.services.polling import PollStats, tracking_poll_cycle
from carriers.services.watch import tracking_stalled_check

STALLED_CHECK_EVERY_SECONDS = 3600


class Command(BaseCommand):
    help = "Poll the carriers for track & trace (one run per carrier; --once to stop after one cycle)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--carrier",
            action="append",
            dest="carriers",
            metavar="CODE",
            help="Only this carrier (repeatable). Default: every carrier with parcels being tracked.",
        )
        parser.add_argument("--once", action="store_true", help="One cycle, then exit.")
        parser.add_argument("--interval", type=int, default=60, help="Seconds between cycles (default 60).")
        parser.add_argument(
            "--time-budget",
            type=float,
            default=None,
            help="Seconds a carrier's run may take before it leaves the rest for the next cycle.",
        )

    def handle(self, *args, carriers=None, once=False, interval=60, time_budget=None, **options):
        known = set(carrier_codes())
        unknown = sorted(set(carriers or []) - known)
        if unknown:
            raise CommandError(f"Unknown carrier(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        last_stalled_check = 0.0
        try:
            while True:
                cycle = tracking_poll_cycle(carriers=carriers, time_budget_seconds=time_budget)
                if not cycle.carriers:
                    self.stdout.write("No parcels are being tracked.")
                for stats in cycle.carriers.values():
                    self.stdout.write(self._line(stats))
                if once:
                    return
                if time.monotonic() - last_stalled_check >= STALLED_CHECK_EVERY_SECONDS:
                    opened = tracking_stalled_check()
                    last_stalled_check = time.monotonic()
                    if opened:
                        self.stdout.write(f"watch list: {opened} stalled parcels")
                time.sleep(max(1, interval))
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")

    @staticmethod
    def _line(stats: PollStats) -> str:
        if stats.already_running:
            return f"{stats.carrier}: skipped, another run is busy with this carrier"
        line = (
            f"{stats.carrier}: due {stats.due}, polled {stats.polled} ({stats.early} early), "
            f"feed {stats.feed_parcels}, "
            f"calls {stats.calls}, events stored {stats.events_stored}, status changes {stats.status_changes}, "
            f"finished {stats.finished}, given up {stats.given_up}, "
            f"skipped (quota) {stats.skipped_quota}, skipped (backoff) {stats.skipped_backoff}, "
            f"deferred {stats.deferred} ({stats.seconds:.1f} s)"
        )
        if stats.error:
            line += f"; error {stats.error}"
        if stats.backoff_until:
            line += f"; backing off until {stats.backoff_until:%Y-%m-%d %H:%M:%S} UTC"
        return line
