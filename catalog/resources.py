"""The admin's imports and exports (django-import-export) on the same validation and
services as the import commands.

A `TableImportResource` does not import row by row: it hands the whole file, with its
line numbers, to the app's import (`<x>_import_validate` for the preview, `<x>_import`
on confirmation), so the admin checks exactly what the command checks and imports all or
nothing. Errors come back as the import screen's invalid rows, each with its line number.
Exports write the same columns, so an exported file imports again unchanged.
"""

from collections import defaultdict

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from import_export import fields, resources
from import_export.formats.base_formats import CSV, XLSX
from import_export.results import Result, RowResult

from catalog.models import Product
from catalog.selectors import price_annotation, vat_rate_label, vat_rates_at
from catalog.services.imports import OPTIONAL, REQUIRED, catalog_import, catalog_import_validate
from catalog.tabular import ImportOutcome, ImportRejected, RowError, Table, table_from_csv_bytes, table_from_records
from core.exceptions import ApplicationError

PREVIEW_ROWS = 100


class ContractCSV(CSV):
    """CSV read the way the import commands read it: strict, with the file's own line
    numbers kept (tablib would drop blank lines and shift them)."""

    def create_dataset(self, in_stream, **kwargs):
        data = in_stream.encode("utf-8") if isinstance(in_stream, str) else in_stream
        table = table_from_csv_bytes(data)
        dataset = tablib.Dataset(headers=table.header)
        for _line, values in table.rows:
            dataset.append([values.get(h, "") for h in table.header])
        dataset.table = table
        return dataset


IMPORT_FORMATS = [ContractCSV, XLSX]
EXPORT_FORMATS = [CSV, XLSX]


def _result_with_errors(result: Result, table: Table, errors: list[RowError]) -> Result:
    values_by_line = dict(table.rows)
    values_by_line[1] = dict(zip(table.header, table.header, strict=False))
    by_line: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for error in errors:
        by_line[error.line][error.column or NON_FIELD_ERRORS].append(error.message)
    for line, messages in sorted(by_line.items()):
        result.append_invalid_row(line, values_by_line.get(line, {}), ValidationError(dict(messages)))
    result.totals[RowResult.IMPORT_TYPE_INVALID] = len(by_line)
    return result


def _result_with_outcome(result: Result, outcome: ImportOutcome) -> Result:
    for preview in outcome.preview[:PREVIEW_ROWS]:
        row = RowResult()
        row.import_type = preview.action
        row.diff = preview.values
        result.append_row_result(row)
    result.totals[RowResult.IMPORT_TYPE_NEW] = outcome.created
    result.totals[RowResult.IMPORT_TYPE_UPDATE] = outcome.updated
    result.totals[RowResult.IMPORT_TYPE_SKIP] = outcome.unchanged
    result.total_rows = outcome.rows
    result.outcome = outcome
    return result


class TableImportResource(resources.ModelResource):
    """Base for the admin imports: `columns` as the file has them, `validate(table)`
    returns a plan with an `outcome` (the preview), `run(table, actor)` imports."""

    columns: list[str] = []

    def validate(self, table: Table):
        raise NotImplementedError

    def run(self, *, table: Table, actor) -> ImportOutcome:
        raise NotImplementedError

    def get_diff_headers(self):
        return list(self.columns)

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, **kwargs):
        result = self.get_result_class()()
        result.diff_headers = self.get_diff_headers()
        table = getattr(dataset, "table", None) or table_from_records(dataset.headers or [], dataset)
        table.name = kwargs.get("file_name") or table.name or "admin"
        try:
            outcome = self.validate(table).outcome if dry_run else self.run(table=table, actor=kwargs.get("user"))
        except ImportRejected as exc:
            return _result_with_errors(result, table, exc.errors)
        except ApplicationError as exc:
            return _result_with_errors(result, table, [RowError(1, None, exc.message)])
        return _result_with_outcome(result, outcome)


class ProductResource(TableImportResource):
    """The catalog file of `import_catalog`: sku,name,ean,vat_rate,price,storage,
    weight_grams,brand,category,warranty_months (price: the default list, incl. VAT)."""

    columns = [*REQUIRED, *OPTIONAL]

    sku = fields.Field(attribute="sku", column_name="sku")
    name = fields.Field(attribute="name_nl", column_name="name")
    ean = fields.Field(attribute="ean", column_name="ean")
    vat_rate = fields.Field(column_name="vat_rate")
    price = fields.Field(column_name="price")
    storage = fields.Field(attribute="storage_kind", column_name="storage")
    weight_grams = fields.Field(attribute="weight_grams", column_name="weight_grams")
    brand = fields.Field(column_name="brand")
    category = fields.Field(column_name="category")
    warranty_months = fields.Field(attribute="warranty_months", column_name="warranty_months")

    class Meta:
        model = Product
        fields = (
            "sku",
            "name",
            "ean",
            "vat_rate",
            "price",
            "storage",
            "weight_grams",
            "brand",
            "category",
            "warranty_months",
        )
        export_order = fields
        import_id_fields = ("sku",)
        name = "catalog"

    def validate(self, table):
        return catalog_import_validate(table)

    def run(self, *, table, actor):
        return catalog_import(table=table, actor=actor)

    def filter_export(self, queryset: QuerySet, **kwargs) -> QuerySet:
        self._rates = vat_rates_at(timezone.localdate())
        return queryset.select_related("brand", "category").annotate(export_price=price_annotation(channel_id=None))

    def dehydrate_vat_rate(self, product):
        return vat_rate_label(self._rates.get(product.vat_class)) or ""

    def dehydrate_price(self, product):
        price = getattr(product, "export_price", None)
        return "" if price is None else str(price)

    def dehydrate_brand(self, product):
        return product.brand.name if product.brand_id else ""

    def dehydrate_category(self, product):
        return product.category.code if product.category_id else ""
