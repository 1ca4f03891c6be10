"""import_bank_statement FILE: read a CAMT.053 or MT940 statement, book what matches
and say what was left for finance. Importing the same file again changes nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.audit import acting_as
from core.money import format_eur
from payments.exceptions import StatementParseError
from payments.services.statements import bank_statement_import


class Command(BaseCommand):
    help = "Import a CAMT.053 or MT940 bank statement and match its entries to payments."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the statement file (.xml for CAMT.053, .sta/.940/.txt for MT940)")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            with acting_as(label="command:import_bank_statement"):
                result = bank_statement_import(data=path.read_bytes(), filename=path.name)
        except StatementParseError as exc:
            raise CommandError(str(exc)) from exc
        imported = result.statement_import
        if result.already_imported:
            self.stdout.write(
                f"{path.name}: already imported on {imported.created_at:%Y-%m-%d %H:%M} "
                f"({imported.entries_total} entries); nothing changed."
            )
            return
        self.stdout.write(
            f"{path.name}: {imported.entries_total} entries, {result.new_lines} new, "
            f"{result.duplicate_lines} booked before."
        )
        for line, matches in result.matched:
            for match in matches:
                self.stdout.write(
                    f"  matched  {line.booking_date} {format_eur(match.amount):>14}  → {match.order.number} "
                    f"({match.get_method_display()})"
                )
        for line in result.left:
            hints = ", ".join(s.order.number for s in line.suggestions.select_related("order")) or "no suggestion"
            self.stdout.write(
                f"  left     {line.booking_date} {format_eur(line.open_amount):>14}  {line.counterparty_name} "
                f"{line.remittance_text[:60]!r} — {line.get_status_display()}; suggestions: {hints}"
            )
        for line in result.other:
            self.stdout.write(
                f"  other    {line.booking_date} {format_eur(line.amount):>14}  {line.get_status_display()}"
            )
        self.stdout.write(
            self.style.SUCCESS(f"{len(result.matched)} matched, {len(result.left)} left for finance (finance queue).")
        )
