"""Admin imports and exports of locations and stock counts, on the same validation and
services as `import_locations` and `import_stock` (see catalog.resources)."""

from django.db.models import QuerySet
from import_export import fields

from catalog.resources import TableImportResource
from inventory.models import Location, Stock
from inventory.services.imports import (
    LOCATION_COLUMNS,
    STOCK_COLUMNS,
    locations_import,
    locations_import_validate,
    stock_import,
    stock_import_validate,
)


class LocationResource(TableImportResource):
    """code,name,storage,cutoff,priority — storage `;`-separated, cutoff HH:MM."""

    columns = LOCATION_COLUMNS

    code = fields.Field(attribute="code", column_name="code")
    name = fields.Field(attribute="name", column_name="name")
    storage = fields.Field(column_name="storage")
    cutoff = fields.Field(column_name="cutoff")
    priority = fields.Field(attribute="priority", column_name="priority")

    class Meta:
        model = Location
        fields = ("code", "name", "storage", "cutoff", "priority")
        export_order = fields
        import_id_fields = ("code",)
        name = "locations"

    def validate(self, table):
        return locations_import_validate(table)

    def run(self, *, table, actor):
        return locations_import(table=table, actor=actor)

    def dehydrate_storage(self, location):
        return ";".join(location.storage_kinds)

    def dehydrate_cutoff(self, location):
        return location.cutoff_time.strftime("%H:%M")


class StockResource(TableImportResource):
    """location,sku,quantity — a counted quantity on hand; the difference to the books is
    booked as an adjustment. The export writes what is on hand now."""

    columns = [*STOCK_COLUMNS, "on_hand_now", "difference"]

    location = fields.Field(column_name="location")
    sku = fields.Field(column_name="sku")
    quantity = fields.Field(attribute="on_hand", column_name="quantity")

    class Meta:
        model = Stock
        fields = ("location", "sku", "quantity")
        export_order = fields
        import_id_fields = ("location", "sku")
        name = "stock"

    def validate(self, table):
        return stock_import_validate(table)

    def run(self, *, table, actor):
        return stock_import(table=table, actor=actor)

    def filter_export(self, queryset: QuerySet, **kwargs) -> QuerySet:
        return queryset.select_related("location", "product")

    def dehydrate_location(self, stock):
        return stock.location.code

    def dehydrate_sku(self, stock):
        return stock.product.sku
