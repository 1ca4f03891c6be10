from catalog.management.table_import import TableImportCommand
from inventory.services.imports import stock_import


class Command(TableImportCommand):
    help = (
        "Import counted stock from a CSV: location,sku,quantity. The difference to the books is booked as "
        "an adjustment. Nothing is imported if any row is wrong."
    )
    columns = "location,sku,quantity"

    def importer(self):
        return stock_import
