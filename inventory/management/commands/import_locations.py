from catalog.management.table_import import TableImportCommand
from inventory.services.imports import locations_import


class Command(TableImportCommand):
    help = (
        "Import locations from a CSV: code,name,storage,cutoff,priority (storage ;-separated, cutoff HH:MM, "
        "lower priority preferred). Nothing is imported if any row is wrong."
    )
    columns = "code,name,storage,cutoff,priority"

    def importer(self):
        return locations_import
