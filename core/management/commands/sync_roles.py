from django.core.management.base import BaseCommand

from core.roles import sync_roles


class Command(BaseCommand):
    help = "Give each staff role exactly the permissions of core/roles.py (also done after every migrate)."

    def handle(self, *args, **options):
        for role, count in sync_roles().items():
            self.stdout.write(f"{role}: {count} permissions")
