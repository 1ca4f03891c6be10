"""CSV files for import tests: many valid rows, quickly."""

from catalog.gtin import gtin_with_check_digit

CATALOG_HEADER = "sku,name,ean,vat_rate,price,storage,weight_grams,brand,category,warranty_months"
KINDS = ["normal", "hanging", "secure", "bulky", "cooled"]


def catalog_csv(count: int, *, prefix: str = "IMP", price: str = "19.95") -> bytes:
    lines = [CATALOG_HEADER]
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        vat = "9" if n % 10 == 0 else "21"
        lines.append(
            f"{prefix}-{n:06d},Artikel {n},{gtin_with_check_digit(f'87{n:010d}')},{vat},{price},{kind},"
            f"{100 + n % 900},Merk {n % 7},categorie-{n % 12},{24 if n % 3 == 0 else ''}"
        )
    return ("\n".join(lines) + "\n").encode()


def stock_csv(count: int, *, prefix: str = "IMP", location: str = "UTR", quantity: int = 5) -> bytes:
    lines = ["location,sku,quantity"]
    lines += [f"{location},{prefix}-{n:06d},{quantity + n % 7}" for n in range(count)]
    return ("\n".join(lines) + "\n").encode()
