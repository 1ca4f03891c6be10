from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from core.demo import read_logins


class Command(BaseCommand):
    help = "Print the URLs and the demo logins (make run)."

    def handle(self, *args, **options):
        site = settings.SITE_URL.rstrip("/")
        broker = "Redis" if settings.REDIS_URL else "file broker in var/celery"
        lines = [
            "",
            "backoffice is starting",
            f"  database: {connection.vendor}   broker: {broker}",
            f"  admin:      {site}/admin/",
            f"  API docs:   {site}/api/docs/",
            f"  API schema: {site}/api/schema/",
            f"  health:     {site}/healthz",
        ]
        logins = read_logins()
        staff = logins.get("staff", {})
        if staff:
            lines.append("  demo logins (generated for this machine, demo mode only):")
            for username, entry in sorted(staff.items()):
                lines.append(f"    {username:<10} {entry['password']:<20} {entry['role']}")
        keys = logins.get("api_keys", {})
        if keys:
            lines.append("  demo API keys (Authorization: Token <key>):")
            for label, key in sorted(keys.items()):
                lines.append(f"    {label:<11} {key}")
        self.stdout.write("\n".join(lines) + "\n")
