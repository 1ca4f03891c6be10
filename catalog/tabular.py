"""Tables to import (CSV from a command, CSV or XLSX from the admin), read into one shape
so that one validation serves both: a header and rows of text with their line numbers.

Every import checks every row first and imports nothing if any row is wrong
(`ImportRejected` carries each error with its line number). Line 1 is the header.
"""

import codecs
import csv
import datetime
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from core.exceptions import ApplicationError


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("line %(line)d, %(column)s: %(message)s") % {
                "line": self.line,
                "column": self.column,
                "message": self.message,
            }
        return _("line %(line)d: %(message)s") % {"line": self.line, "message": self.message}


class ImportRejected(ApplicationError):
    code = "import_rejected"

    def __init__(self, errors: list[RowError]):
        self.errors = sorted(errors, key=lambda e: (e.line, e.column or ""))
        super().__init__(
            _("%(count)d errors: nothing was imported.") % {"count": len(self.errors)},
            extra={"errors": [str(e) for e in self.errors]},
        )


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]
    name: str = ""


@dataclass(frozen=True)
class PreviewRow:
    line: int
    action: str  # "new", "update", "skip"
    values: list[str]


@dataclass
class ImportOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    preview: list[PreviewRow] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged


def _normalise_header(value) -> str:
    return str(value if value is not None else "").strip().lstrip("\ufeff").strip().lower()


def table_from_csv_bytes(data: bytes, *, name: str = "") -> Table:
    """Read UTF-8 CSV (a BOM is allowed) with a header row. Lines that are not UTF-8 text
    (or hold a NUL byte, which no text field can store) are errors with their line
    numbers; blank lines are skipped."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    errors = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            errors.append(RowError(number, None, _("this line is not UTF-8 text; save the file as UTF-8")))
            continue
        if b"\x00" in raw:
            errors.append(RowError(number, None, _("this line holds a NUL byte: it is not text")))
    if errors:
        raise ImportRejected(errors)
    text = data.decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    last_line = 0
    try:
        for record in reader:
            start = last_line + 1
            last_line = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if header is None:
                header = [_normalise_header(h) for h in record]
                if len(record) == 1 and ";" in record[0]:
                    raise ImportRejected(
                        [RowError(start, None, _("the columns must be separated by commas, not semicolons"))]
                    )
                continue
            if len(record) != len(header):
                errors.append(
                    RowError(
                        start,
                        None,
                        _("%(found)d fields where the header has %(expected)d")
                        % {"found": len(record), "expected": len(header)},
                    )
                )
                continue
            rows.append((start, {h: cell.strip() for h, cell in zip(header, record, strict=True)}))
    except csv.Error as exc:
        raise ImportRejected(
            [RowError(last_line + 1, None, _("not readable as CSV: %(error)s") % {"error": exc})]
        ) from exc
    if header is None:
        raise ImportRejected([RowError(1, None, _("the file is empty: a header row is needed"))])
    if errors:
        raise ImportRejected(errors)
    return Table(header=header, rows=rows, name=name)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def table_from_records(header: Iterable, records: Iterable[Iterable], *, name: str = "", first_line: int = 2) -> Table:
    """A table from a header and records as a spreadsheet gives them (a tablib Dataset in
    the admin); record n is on line first_line + n. Empty records are skipped."""
    header_names = [_normalise_header(h) for h in header]
    rows = []
    for offset, record in enumerate(records):
        cells = [_cell_text(v) for v in record]
        if not any(cells):
            continue
        cells += [""] * (len(header_names) - len(cells))
        rows.append((first_line + offset, dict(zip(header_names, cells, strict=False))))
    return Table(header=header_names, rows=rows, name=name)


def check_columns(table: Table, *, required: list[str], optional: list[str] = ()) -> list[RowError]:
    """Errors on line 1 for missing, unknown or repeated columns."""
    errors = []
    seen = set()
    for column in table.header:
        if column in seen:
            errors.append(RowError(1, column, _("this column appears twice")))
        seen.add(column)
        if column not in required and column not in optional:
            errors.append(
                RowError(
                    1,
                    column or "?",
                    _("unknown column; the columns are %(columns)s") % {"columns": ", ".join([*required, *optional])},
                )
            )
    for column in required:
        if column not in seen:
            errors.append(RowError(1, column, _("this column is missing")))
    return errors


# --- value parsers: return (value, error message or None) ---------------------------------


def parse_int(text: str, *, minimum: int | None = 0, maximum: int | None = None) -> tuple[int | None, str | None]:
    value = text.strip()
    if not value:
        return None, _("a whole number is needed")
    try:
        number = int(value)
    except ValueError:
        return None, _("%(value)s is not a whole number") % {"value": value}
    if minimum is not None and number < minimum:
        return None, _("must be at least %(minimum)d") % {"minimum": minimum}
    if maximum is not None and number > maximum:
        return None, _("must be at most %(maximum)d") % {"maximum": maximum}
    return number, None


def parse_amount(text: str) -> tuple[Decimal | None, str | None]:
    """An amount like 19.95 (a decimal comma is accepted when there is no point)."""
    value = text.strip()
    if not value:
        return None, _("an amount is needed")
    if "," in value and "." not in value:
        value = value.replace(",", ".")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None, _("%(value)s is not an amount") % {"value": text.strip()}
    if not amount.is_finite():
        return None, _("%(value)s is not an amount") % {"value": text.strip()}
    if amount < 0:
        return None, _("an amount cannot be negative")
    if amount != amount.quantize(Decimal("0.01")):
        return None, _("an amount has at most two decimals")
    if amount >= Decimal("10000000000"):
        return None, _("the amount is too large")
    return amount.quantize(Decimal("0.01")), None


def parse_time(text: str) -> tuple[datetime.time | None, str | None]:
    value = text.strip()
    try:
        if len(value) != 5 or value[2] != ":":
            raise ValueError(value)
        return datetime.time.fromisoformat(value), None
    except ValueError:
        return None, _("%(value)s is not a time as HH:MM") % {"value": value}
