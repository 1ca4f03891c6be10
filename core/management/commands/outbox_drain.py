from django.core.management.base import BaseCommand

from core.services import outbox_drain


class Command(BaseCommand):
    help = "Send the queued work that the broker did not take yet."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="also messages younger than 30 seconds")

    def handle(self, *args, all, **options):
        sent = outbox_drain(older_than_seconds=0 if all else 30)
        self.stdout.write(f"{sent} messages sent")
