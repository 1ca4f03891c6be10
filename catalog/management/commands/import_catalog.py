from catalog.management.table_import import TableImportCommand
from catalog.services.imports import catalog_import


class Command(TableImportCommand):
    help = (
        "Import products and their default consumer prices (incl. VAT) from a CSV: "
        "sku,name,ean,vat_rate,price,storage,weight_grams[,brand,category,warranty_months]. "
        "Nothing is imported if any row is wrong."
    )
    columns = "sku,name,ean,vat_rate,price,storage,weight_grams and optional brand,category,warranty_months"

    def importer(self):
        return catalog_import
