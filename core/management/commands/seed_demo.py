from django.core.management.base import BaseCommand
from django.db import transaction

from core.demo import read_logins, seed_demo
from core.models import User


class Command(BaseCommand):
    help = "Load demo data (channels, staff per role, locations, products, stock, customers). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="skip quickly when the demo data was loaded before (make run)"
        )

    def handle(self, *args, once, **options):
        if once and User.objects.filter(username="manager").exists() and read_logins():
            self.stdout.write("demo data already loaded")
            return
        with transaction.atomic():
            report = seed_demo()
        for line in report:
            self.stdout.write(line)
