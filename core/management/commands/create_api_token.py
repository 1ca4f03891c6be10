from django.core.management.base import BaseCommand, CommandError

from core.exceptions import ApplicationError
from core.models import SalesChannel, User
from core.services import api_key_create


class Command(BaseCommand):
    help = "Make an API key for a sales channel, a location or a staff user and print it once."

    def add_arguments(self, parser):
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--channel", help="sales channel code")
        owner.add_argument("--location", help="location code")
        owner.add_argument("--user", help="staff username")
        parser.add_argument("--name", help="what the key is for (default: the owner)")
        parser.add_argument("--rate-limit", default="", help="e.g. 600/min (default: the global rate)")

    def handle(self, *args, channel, location, user, name, rate_limit, **options):
        from inventory.models import Location

        owner = {}
        if channel:
            owner["channel"] = SalesChannel.objects.filter(code=channel).first()
            if owner["channel"] is None:
                raise CommandError(f"No sales channel with code {channel!r}.")
        elif location:
            owner["location"] = Location.objects.filter(code=location).first()
            if owner["location"] is None:
                raise CommandError(f"No location with code {location!r}.")
        else:
            owner["user"] = User.objects.filter(username=user, is_active=True).first()
            if owner["user"] is None:
                raise CommandError(f"No active staff user {user!r}.")
        label = name or f"{next(iter(owner))} {channel or location or user}"
        try:
            api_key, raw_key = api_key_create(name=label, rate_limit=rate_limit, **owner)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"API key {api_key.prefix}… for {label} (shown once, store it now):")
        self.stdout.write(raw_key)
