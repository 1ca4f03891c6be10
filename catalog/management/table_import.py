"""The shared shape of the import commands: read a UTF-8 CSV, check every row, import
nothing if any row is wrong (each error printed with its line number, exit status 1)."""

from collections.abc import Callable
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.tabular import ImportOutcome, ImportRejected, Table, table_from_csv_bytes
from core.audit import acting_as
from core.exceptions import ApplicationError


class TableImportCommand(BaseCommand):
    columns = ""

    def importer(self) -> Callable[..., ImportOutcome]:
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("file", help=f"UTF-8 CSV with a header row: {self.columns}")

    def handle(self, *args, file: str, **options):
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror or exc}") from exc
        try:
            table: Table = table_from_csv_bytes(data, name=path.name)
            with acting_as(None, f"command:{self.command_name()}"):
                outcome = self.importer()(table=table, actor=None)
        except ImportRejected as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{file}: {exc.message}") from exc
        except ApplicationError as exc:
            raise CommandError(f"{file}: {exc.message}; nothing was imported") from exc
        self.stdout.write(
            f"{file}: {outcome.rows} rows — {outcome.created} new, {outcome.updated} updated, "
            f"{outcome.unchanged} unchanged ({outcome.seconds:.1f} s)"
        )

    def command_name(self) -> str:
        return self.__module__.rsplit(".", 1)[-1]
