from django.core.management.base import BaseCommand

from core.schedule import sync_schedule


class Command(BaseCommand):
    help = "Add the default periodic tasks (core/schedule.py) that are missing; --reset restores changed ones."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true")

    def handle(self, *args, reset, **options):
        changed = sync_schedule(reset=reset)
        self.stdout.write("\n".join(changed) if changed else "schedule up to date")
