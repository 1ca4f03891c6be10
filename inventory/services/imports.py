"""`import_locations` and `import_stock` (and the same imports in the admin).

- locations: `code,name,storage,cutoff,priority` — storage `;`-separated kinds, cutoff HH:MM,
  lower priority preferred. Creates new locations and updates those fields of existing ones.
- stock: `location,sku,quantity` — a counted quantity on hand; the difference to the books
  is booked as an adjustment (through the ledger, with the file as reference).

Every row is checked first; if any is wrong nothing is imported (ImportRejected lists each
error with its line number).
"""

import re
import time
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product
from catalog.tabular import (
    ImportOutcome,
    ImportRejected,
    PreviewRow,
    RowError,
    Table,
    check_columns,
    parse_int,
    parse_time,
)
from inventory.models import Location, Stock, StorageKind
from inventory.services.stock import stock_counts_book

LOCATION_COLUMNS = ["code", "name", "storage", "cutoff", "priority"]
STOCK_COLUMNS = ["location", "sku", "quantity"]
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CHUNK = 2000


# --- locations ---------------------------------------------------------------------------


@dataclass
class LocationPlan:
    rows: list[dict]
    existing: dict[str, Location]
    outcome: ImportOutcome


def locations_import_validate(table: Table) -> LocationPlan:
    errors = check_columns(table, required=LOCATION_COLUMNS)
    if errors:
        raise ImportRejected(errors)
    kinds = set(StorageKind.values)
    code_max = Location._meta.get_field("code").max_length
    name_max = Location._meta.get_field("name").max_length
    first_line: dict[str, int] = {}
    rows = []
    for line, values in table.rows:
        row_errors = []
        code = values["code"]
        if not code or len(code) > code_max or not CODE.match(code):
            row_errors.append(
                RowError(line, "code", _("a code of at most %(max)d letters, digits, - or _") % {"max": code_max})
            )
        elif code.upper() in first_line:
            row_errors.append(
                RowError(
                    line,
                    "code",
                    _("%(code)s is also on line %(line)d") % {"code": code, "line": first_line[code.upper()]},
                )
            )
        else:
            first_line[code.upper()] = line
        name = values["name"]
        if not name or len(name) > name_max:
            row_errors.append(RowError(line, "name", _("a name of at most %(max)d characters") % {"max": name_max}))
        storage = []
        for part in values["storage"].split(";"):
            kind = part.strip().lower()
            if not kind:
                continue
            if kind not in kinds:
                row_errors.append(
                    RowError(
                        line,
                        "storage",
                        _("%(value)s is not a storage kind; use %(kinds)s")
                        % {"value": part.strip(), "kinds": ", ".join(StorageKind.values)},
                    )
                )
            elif kind not in storage:
                storage.append(kind)
        if not storage and not any(e.column == "storage" for e in row_errors):
            row_errors.append(RowError(line, "storage", _("at least one storage kind is needed")))
        cutoff, message = parse_time(values["cutoff"])
        if message:
            row_errors.append(RowError(line, "cutoff", message))
        priority, message = parse_int(values["priority"], minimum=0, maximum=32767)
        if message:
            row_errors.append(RowError(line, "priority", message))
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append(
            {
                "line": line,
                "code": code,
                "name": name,
                "storage_kinds": storage,
                "cutoff_time": cutoff,
                "priority": priority,
            }
        )
    if errors:
        raise ImportRejected(errors)
    existing = {loc.code: loc for loc in Location.objects.filter(code__in=[r["code"] for r in rows])}
    outcome = ImportOutcome()
    for row in rows:
        location = existing.get(row["code"])
        if location is None:
            action = "new"
            outcome.created += 1
        elif _location_changes(location, row):
            action = "update"
            outcome.updated += 1
        else:
            action = "skip"
            outcome.unchanged += 1
        outcome.preview.append(
            PreviewRow(
                line=row["line"],
                action=action,
                values=[
                    row["code"],
                    row["name"],
                    ";".join(row["storage_kinds"]),
                    row["cutoff_time"].strftime("%H:%M"),
                    str(row["priority"]),
                ],
            )
        )
    return LocationPlan(rows=rows, existing=existing, outcome=outcome)


def _location_changes(location: Location, row: dict) -> list[str]:
    return [f for f in ("name", "storage_kinds", "cutoff_time", "priority") if getattr(location, f) != row[f]]


@transaction.atomic
def locations_import(*, table: Table, actor=None) -> ImportOutcome:
    started = time.monotonic()
    plan = locations_import_validate(table)
    now = timezone.now()
    new, changed = [], []
    for row in plan.rows:
        location = plan.existing.get(row["code"])
        fields = {k: row[k] for k in ("name", "storage_kinds", "cutoff_time", "priority")}
        if location is None:
            new.append(Location(code=row["code"], **fields))
        elif _location_changes(location, row):
            for key, value in fields.items():
                setattr(location, key, value)
            location.updated_at = now
            changed.append(location)
    Location.objects.bulk_create(new)
    Location.objects.bulk_update(changed, ["name", "storage_kinds", "cutoff_time", "priority", "updated_at"])
    plan.outcome.seconds = time.monotonic() - started
    return plan.outcome


# --- stock counts --------------------------------------------------------------------------


@dataclass
class StockPlan:
    counts: list[tuple[int, int, int]]
    outcome: ImportOutcome


def stock_import_validate(table: Table) -> StockPlan:
    errors = check_columns(table, required=STOCK_COLUMNS)
    if errors:
        raise ImportRejected(errors)
    locations = {code.upper(): pk for code, pk in Location.objects.values_list("code", "pk")}
    skus = list({values["sku"] for _line, values in table.rows if values["sku"]})
    products: dict[str, int] = {}
    for i in range(0, len(skus), CHUNK):
        products.update(dict(Product.objects.filter(sku__in=skus[i : i + CHUNK]).values_list("sku", "pk")))
    first_line: dict[tuple[int, int], int] = {}
    parsed = []
    for line, values in table.rows:
        row_errors = []
        location_id = locations.get(values["location"].upper())
        if location_id is None:
            row_errors.append(
                RowError(line, "location", _("%(value)s is not a known location") % {"value": values["location"]})
            )
        product_id = products.get(values["sku"])
        if product_id is None:
            row_errors.append(RowError(line, "sku", _("%(value)s is not a known SKU") % {"value": values["sku"]}))
        quantity, message = parse_int(values["quantity"], minimum=0, maximum=2_147_483_647)
        if message:
            row_errors.append(RowError(line, "quantity", message))
        if not row_errors:
            key = (product_id, location_id)
            if key in first_line:
                row_errors.append(
                    RowError(
                        line,
                        "sku",
                        _("%(sku)s at %(location)s is also on line %(line)d")
                        % {"sku": values["sku"], "location": values["location"], "line": first_line[key]},
                    )
                )
            else:
                first_line[key] = line
        if row_errors:
            errors.extend(row_errors)
            continue
        parsed.append((line, values, product_id, location_id, quantity))
    if errors:
        raise ImportRejected(errors)

    current: dict[tuple[int, int], int] = {}
    product_ids = list({p for _l, _v, p, _loc, _q in parsed})
    for i in range(0, len(product_ids), CHUNK):
        current.update(
            {
                (p, loc): on_hand
                for p, loc, on_hand in Stock.objects.filter(product_id__in=product_ids[i : i + CHUNK]).values_list(
                    "product_id", "location_id", "on_hand"
                )
            }
        )
    outcome = ImportOutcome()
    for line, values, product_id, location_id, quantity in parsed:
        on_hand = current.get((product_id, location_id))
        if on_hand is None and quantity:
            action = "new"
        elif on_hand is not None and on_hand != quantity:
            action = "update"
        else:
            action = "skip"
        if action == "new":
            outcome.created += 1
        elif action == "update":
            outcome.updated += 1
        else:
            outcome.unchanged += 1
        difference = quantity - (on_hand or 0)
        outcome.preview.append(
            PreviewRow(
                line=line,
                action=action,
                values=[values["location"], values["sku"], str(quantity), str(on_hand or 0), f"{difference:+d}"],
            )
        )
    # a zero count where no stock row exists changes nothing and needs no row
    counts = [(p, loc, q) for _l, _v, p, loc, q in parsed if q or (p, loc) in current]
    return StockPlan(counts=counts, outcome=outcome)


@transaction.atomic
def stock_import(*, table: Table, actor=None) -> ImportOutcome:
    """Book the counted quantities of the file; the file's name is the movements' reference."""
    started = time.monotonic()
    plan = stock_import_validate(table)
    stock_counts_book(
        counts=plan.counts,
        reference=f"import:{table.name or 'stock'}"[:120],
        reason=_("Stock count (import)"),
        actor=actor,
    )
    plan.outcome.seconds = time.monotonic() - started
    return plan.outcome
