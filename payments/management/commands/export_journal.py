"""export_journal --from YYYY-MM-DD --to YYYY-MM-DD [--output FILE]: the accounting
journal of the period as CSV (sales per VAT rate, payments, refunds, credit notes)."""

import datetime
import sys

from django.core.management.base import BaseCommand, CommandError

from payments.selectors.journal import journal_csv, journal_rows


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Export the accounting journal of a period as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="last day (inclusive), YYYY-MM-DD")
        parser.add_argument("--output", "-o", help="write to this file instead of standard output")

    def handle(self, *args, **options):
        date_from, date_to = _date(options["date_from"]), _date(options["date_to"])
        if date_to < date_from:
            raise CommandError("--to lies before --from")
        rows = journal_rows(date_from=date_from, date_to=date_to)
        text = journal_csv(rows)
        if options.get("output"):
            with open(options["output"], "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            sys.stderr.write(f"{len(rows)} journal lines written to {options['output']}\n")
        else:
            self.stdout.write(text, ending="")
