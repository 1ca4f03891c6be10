import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.exceptions import ApplicationError
from core.services import channel_create_or_update


def _time(value: str) -> datetime.time:
    try:
        if len(value) != 5:
            raise ValueError(value)
        return datetime.time.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--cutoff must be HH:MM, got {value!r}") from exc


def _yes_no(value: str) -> bool:
    if value.lower() not in ("yes", "no"):
        raise CommandError(f"--partial-shipments must be yes or no, got {value!r}")
    return value.lower() == "yes"


class Command(BaseCommand):
    help = "Create or update a sales channel."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--name", required=True)
        parser.add_argument("--cutoff", help="HH:MM, Europe/Amsterdam")
        parser.add_argument("--partial-shipments", help="yes or no")
        parser.add_argument("--kind", choices=["webshop", "marketplace", "store"])
        parser.add_argument("--prefix", help="order number prefix, e.g. WEB")

    def handle(self, *args, code, name, cutoff, partial_shipments, kind, prefix, **options):
        try:
            channel, created = channel_create_or_update(
                code=code,
                name=name,
                cutoff_time=_time(cutoff) if cutoff else None,
                partial_shipments=_yes_no(partial_shipments) if partial_shipments else None,
                kind=kind,
                order_number_prefix=prefix,
            )
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(
            f"{'created' if created else 'updated'} channel {channel.code}: {channel.name}, "
            f"cut-off {channel.cutoff_time:%H:%M}, partial shipments {'yes' if channel.partial_shipments else 'no'}"
        )
