"""`import_catalog` (and the same import in the admin): products with their default price.

Columns (API-CONTRACT): sku,name,ean,vat_rate,price,storage,weight_grams and optional
brand,category,warranty_months. `vat_rate` 21/9/0 is mapped to the VAT class whose rate it
is today; `price` (incl. VAT) goes into the default price list, which serves every
channel without a price of its own. An optional column that is absent leaves that field
of existing products as it is.

Every row is checked first; if any is wrong nothing is imported (ImportRejected lists each
error with its line number). Writes are bulk: a few queries per thousand rows.
"""

import contextlib
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from catalog.gtin import gtin_is_valid
from catalog.models import Brand, Category, Product
from catalog.selectors import price_list_default, price_map, vat_class_for_rate, vat_rate_label, vat_rates_at
from catalog.services.prices import prices_set
from catalog.tabular import (
    ImportOutcome,
    ImportRejected,
    PreviewRow,
    RowError,
    Table,
    check_columns,
    parse_amount,
    parse_int,
)
from core.audit import actor_label
from inventory.models import StorageKind

REQUIRED = ["sku", "name", "ean", "vat_rate", "price", "storage", "weight_grams"]
OPTIONAL = ["brand", "category", "warranty_months"]
PRODUCT_FIELDS = ["name_nl", "ean", "vat_class", "storage_kind", "weight_grams"]
CHUNK = 2000


@dataclass
class CatalogRow:
    line: int
    sku: str
    name: str
    ean: str
    vat_class: str
    vat_rate: str
    price: Decimal
    storage: str
    weight_grams: int
    brand: str | None  # None: column absent
    category: str | None
    warranty_months: int | None


@dataclass
class CatalogPlan:
    rows: list[CatalogRow]
    existing: dict[str, Product]
    outcome: ImportOutcome


def _chunks(values: list, size: int = CHUNK):
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _products_by_sku(skus: list[str]) -> dict[str, Product]:
    found: dict[str, Product] = {}
    for chunk in _chunks(skus):
        found.update({p.sku: p for p in Product.objects.filter(sku__in=chunk).select_related("brand", "category")})
    return found


def _category_lookup() -> tuple[dict[str, Category], dict[str, Category]]:
    by_code, by_name = {}, {}
    for category in Category.objects.all():
        by_code[category.code] = category
        by_name.setdefault(category.name_nl.lower(), category)
    return by_code, by_name


def _find_category(value: str, by_code: dict, by_name: dict) -> Category | None:
    return by_code.get(value) or by_name.get(value.lower()) or by_code.get(slugify(value)[:60])


def catalog_import_validate(table: Table) -> CatalogPlan:
    """Check every row; raise ImportRejected with all errors, or return what would change."""
    errors = check_columns(table, required=REQUIRED, optional=OPTIONAL)
    if errors:
        raise ImportRejected(errors)
    has = {column: column in table.header for column in OPTIONAL}
    rates = vat_rates_at()
    rate_names = ", ".join(sorted({vat_rate_label(r) for r in rates.values()}, key=lambda r: -Decimal(r)))
    storage_kinds = set(StorageKind.values)
    max_len = {f.name: f.max_length for f in Product._meta.fields if getattr(f, "max_length", None)}

    rows: list[CatalogRow] = []
    first_line_of_sku: dict[str, int] = {}
    first_line_of_ean: dict[str, int] = {}
    for line, values in table.rows:
        row_errors: list[RowError] = []

        def error(column: str, message: str, line=line, row_errors=row_errors) -> None:
            row_errors.append(RowError(line, column, message))

        sku = values["sku"]
        if not sku:
            error("sku", _("a SKU is needed"))
        elif len(sku) > max_len["sku"] or any(c.isspace() for c in sku):
            error("sku", _("a SKU has at most %(max)d characters and no spaces") % {"max": max_len["sku"]})
        elif sku in first_line_of_sku:
            error("sku", _("%(sku)s is also on line %(line)d") % {"sku": sku, "line": first_line_of_sku[sku]})
        else:
            first_line_of_sku[sku] = line
        name = values["name"]
        if not name:
            error("name", _("a name is needed"))
        elif len(name) > max_len["name_nl"]:
            error("name", _("at most %(max)d characters") % {"max": max_len["name_nl"]})
        ean = values["ean"]
        if ean:
            if not gtin_is_valid(ean):
                error("ean", _("%(ean)s is not a valid EAN/GTIN (check digit or length)") % {"ean": ean})
            elif ean in first_line_of_ean:
                error("ean", _("%(ean)s is also on line %(line)d") % {"ean": ean, "line": first_line_of_ean[ean]})
            else:
                first_line_of_ean[ean] = line
        vat_class = None
        with contextlib.suppress(InvalidOperation):
            vat_class = vat_class_for_rate(Decimal(values["vat_rate"].replace(",", ".")), rates)
        if vat_class is None:
            error(
                "vat_rate",
                _("%(value)s is not a VAT rate; use %(rates)s") % {"value": values["vat_rate"], "rates": rate_names},
            )
        price, message = parse_amount(values["price"])
        if message:
            error("price", message)
        storage = values["storage"].lower()
        if storage not in storage_kinds:
            error(
                "storage",
                _("%(value)s is not a storage kind; use %(kinds)s")
                % {"value": values["storage"], "kinds": ", ".join(StorageKind.values)},
            )
        weight, message = parse_int(values["weight_grams"], minimum=0, maximum=2_147_483_647)
        if message:
            error("weight_grams", message)
        brand = values["brand"] if has["brand"] else None
        if brand and len(brand) > Brand._meta.get_field("name").max_length:
            error("brand", _("at most %(max)d characters") % {"max": Brand._meta.get_field("name").max_length})
        category = values["category"] if has["category"] else None
        if category and (len(category) > 120 or not slugify(category)):
            error("category", _("%(value)s is not a usable category") % {"value": category})
        warranty = None
        if has["warranty_months"]:
            if values["warranty_months"]:
                warranty, message = parse_int(values["warranty_months"], minimum=0, maximum=600)
                if message:
                    error("warranty_months", message)
            else:
                warranty = 0
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append(
            CatalogRow(
                line=line,
                sku=sku,
                name=name,
                ean=ean,
                vat_class=vat_class,
                vat_rate=values["vat_rate"],
                price=price,
                storage=storage,
                weight_grams=weight,
                brand=brand,
                category=category,
                warranty_months=warranty,
            )
        )

    existing = _products_by_sku([r.sku for r in rows])
    # an EAN may not belong to another product already
    eans = [r.ean for r in rows if r.ean]
    owners: dict[str, str] = {}
    for chunk in _chunks(eans):
        owners.update(dict(Product.objects.filter(ean__in=chunk).values_list("ean", "sku")))
    for row in rows:
        owner = owners.get(row.ean) if row.ean else None
        if owner and owner != row.sku:
            errors.append(
                RowError(row.line, "ean", _("%(ean)s belongs to SKU %(sku)s") % {"ean": row.ean, "sku": owner})
            )
    if errors:
        raise ImportRejected(errors)

    outcome = ImportOutcome()
    prices = price_map(product_ids=[p.pk for p in existing.values()], channel_id=None)
    by_code, by_name = _category_lookup()
    for row in rows:
        product = existing.get(row.sku)
        if product is None:
            action = "new"
            outcome.created += 1
        elif _changes(product, row, by_code, by_name) or prices.get(product.pk) != row.price:
            action = "update"
            outcome.updated += 1
        else:
            action = "skip"
            outcome.unchanged += 1
        outcome.preview.append(
            PreviewRow(
                line=row.line,
                action=action,
                values=[
                    row.sku,
                    row.name,
                    row.ean,
                    row.vat_rate,
                    str(row.price),
                    row.storage,
                    str(row.weight_grams),
                    row.brand or "",
                    row.category or "",
                    "" if row.warranty_months is None else str(row.warranty_months),
                ],
            )
        )
    return CatalogPlan(rows=rows, existing=existing, outcome=outcome)


def _changes(product: Product, row: CatalogRow, by_code: dict, by_name: dict) -> dict:
    """The fields of `product` that the row changes (brand/category by name)."""
    changes = {}
    wanted = {
        "name_nl": row.name,
        "ean": row.ean,
        "vat_class": row.vat_class,
        "storage_kind": row.storage,
        "weight_grams": row.weight_grams,
    }
    if row.warranty_months is not None:
        wanted["warranty_months"] = row.warranty_months
    for field_name, value in wanted.items():
        if getattr(product, field_name) != value:
            changes[field_name] = value
    if row.brand is not None:
        current = product.brand.name if product.brand_id else ""
        if current.lower() != row.brand.lower():
            changes["brand"] = row.brand
    if row.category is not None:
        current = product.category if product.category_id else None
        target = _find_category(row.category, by_code, by_name) if row.category else None
        if (current.pk if current else None) != (target.pk if target else None) or (row.category and not target):
            changes["category"] = row.category
    return changes


def _ensure_brands(names: set[str]) -> dict[str, Brand]:
    existing = {b.name.lower(): b for b in Brand.objects.all()}
    missing = {n.lower(): n for n in sorted(names) if n.lower() not in existing}
    if missing:
        Brand.objects.bulk_create([Brand(name=n) for n in missing.values()], ignore_conflicts=True)
        existing = {b.name.lower(): b for b in Brand.objects.all()}
    return existing


def _ensure_categories(names: set[str]) -> tuple[dict, dict]:
    by_code, by_name = _category_lookup()
    missing = {}
    for name in names:
        if _find_category(name, by_code, by_name) is None:
            missing.setdefault(slugify(name)[:60], name)
    if missing:
        Category.objects.bulk_create(
            [Category(code=code, name_nl=name, name_en=name) for code, name in sorted(missing.items())],
            ignore_conflicts=True,
        )
        by_code, by_name = _category_lookup()
    return by_code, by_name


@transaction.atomic
def catalog_import(*, table: Table, actor=None) -> ImportOutcome:
    """Validate every row, then create and update the products and set their default
    prices, all in one transaction. Raises ImportRejected (nothing imported) on any error."""
    started = time.monotonic()
    plan = catalog_import_validate(table)
    rows, existing = plan.rows, plan.existing
    brands = _ensure_brands({r.brand for r in rows if r.brand})
    by_code, by_name = _ensure_categories({r.category for r in rows if r.category})
    now = timezone.now()
    user = actor if getattr(actor, "pk", None) else None
    history = {"default_user": user, "custom_historical_attrs": {"history_actor": actor_label(actor)[:120] or "import"}}

    new, changed, changed_fields = [], [], set()
    for row in rows:
        product = existing.get(row.sku)
        if product is None:
            product = Product(
                sku=row.sku,
                name_nl=row.name,
                ean=row.ean,
                vat_class=row.vat_class,
                storage_kind=row.storage,
                weight_grams=row.weight_grams,
                warranty_months=row.warranty_months or 0,
                brand=brands[row.brand.lower()] if row.brand else None,
                category=_find_category(row.category, by_code, by_name) if row.category else None,
            )
            new.append(product)
            continue
        changes = _changes(product, row, by_code, by_name)
        if not changes:
            continue
        for field_name, value in changes.items():
            if field_name == "brand":
                product.brand = brands[value.lower()] if value else None
            elif field_name == "category":
                product.category = _find_category(value, by_code, by_name) if value else None
            else:
                setattr(product, field_name, value)
        product.updated_at = now
        changed.append(product)
        changed_fields.update(changes)
    if new:
        bulk_create_with_history(new, Product, batch_size=1000, **history)
    if changed:
        bulk_update_with_history(changed, Product, [*sorted(changed_fields), "updated_at"], batch_size=1000, **history)
    ids = {p.sku: p.pk for p in new}
    ids.update({sku: p.pk for sku, p in existing.items()})
    if not all(ids.values()):  # a backend that does not return keys from bulk inserts
        ids = dict(Product.objects.filter(sku__in=[r.sku for r in rows]).values_list("sku", "pk"))
    prices_set(
        price_list_id=price_list_default().pk,
        prices={ids[r.sku]: r.price for r in rows},
        actor=actor,
    )
    outcome = plan.outcome
    outcome.seconds = time.monotonic() - started
    return outcome
