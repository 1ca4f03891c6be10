"""import_catalog: every row checked first, nothing imported on any error, each error
with its line number; 10,000 rows quickly."""

import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from catalog.models import Brand, Price, Product
from catalog.selectors import price_map
from catalog.tests.factories import ProductFactory, priced_product
from catalog.tests.files import CATALOG_HEADER, catalog_csv

pytestmark = pytest.mark.django_db


def _run(tmp_path, data: bytes, name: str = "catalog.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    out, err = StringIO(), StringIO()
    with translation.override("en"):
        call_command("import_catalog", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _fails(tmp_path, data: bytes) -> str:
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    err = StringIO()
    with pytest.raises(CommandError) as error, translation.override("en"):
        call_command("import_catalog", str(path), stdout=StringIO(), stderr=err)
    assert "nothing was imported" in str(error.value)
    return err.getvalue()


@pytest.mark.slow
def test_ten_thousand_products_import_through_the_command(tmp_path):
    # given
    data = catalog_csv(10_000)
    # when
    started = time.monotonic()
    out, _ = _run(tmp_path, data)
    seconds = time.monotonic() - started
    # then
    assert "10000 rows — 10000 new" in out
    assert Product.objects.filter(sku__startswith="IMP-").count() == 10_000
    prices = price_map(product_ids=Product.objects.values_list("pk", flat=True), channel_id=None)
    assert len(prices) == 10_000 and set(prices.values()) == {Decimal("19.95")}
    book = Product.objects.select_related("brand", "category").get(sku="IMP-000010")
    assert (book.vat_class, book.storage_kind, book.brand.name, book.category.code) == (
        "reduced",
        "normal",
        "Merk 3",
        "categorie-10",
    )
    assert book.history.count() == 1
    assert seconds < 60, f"10,000 products took {seconds:.1f} s"
    print(f"\nimport_catalog: 10,000 rows in {seconds:.1f} s")
    # and importing the same file again changes nothing
    rows_before = Price.objects.count()
    out, _ = _run(tmp_path, data)
    assert "0 new, 0 updated, 10000 unchanged" in out
    assert Price.objects.count() == rows_before


def test_one_bad_row_imports_nothing_and_names_its_line(tmp_path):
    # given: 5,000 good rows and one with a wrong check digit on line 2,501
    lines = catalog_csv(5_000).decode().splitlines()
    fields = lines[2500].split(",")
    fields[2] = fields[2][:-1] + str((int(fields[2][-1]) + 1) % 10)
    lines[2500] = ",".join(fields)
    # when
    err = _fails(tmp_path, ("\n".join(lines) + "\n").encode())
    # then
    assert "line 2501, ean:" in err
    assert err.count("\n") == 1
    assert not Product.objects.exists()
    assert not Price.objects.exists()


def test_every_error_is_reported_with_its_line(tmp_path):
    data = (
        f"{CATALOG_HEADER}\n"
        "A-1,Goed,,21,10.00,normal,100,,,\n"
        "A-2,BTW,,19,10.00,normal,100,,,\n"
        "A-3,Opslag,,21,10.00,frozen,100,,,\n"
        "A-4,Prijs,,21,-3,normal,100,,,\n"
        "A-1,Dubbel,,21,10.00,normal,100,,,\n"
        ",Geen sku,,21,10.00,normal,1.5,,,x\n"
    ).encode()
    err = _fails(tmp_path, data)
    assert "line 3, vat_rate" in err
    assert "line 4, storage" in err
    assert "line 5, price" in err
    assert "line 6, sku: A-1 is also on line 2" in err
    assert "line 7, sku" in err and "line 7, weight_grams" in err and "line 7, warranty_months" in err
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"sku,name,ean,vat_rate,price,storage\nA,B,,21,1.00,normal\n", "line 1, weight_grams: this column is missing"),
        (b"sku;name;ean;vat_rate;price;storage;weight_grams\n", "separated by commas"),
        (b"", "the file is empty"),
        (
            f"{CATALOG_HEADER},colour\nA,B,,21,1.00,normal,1,,,,rood\n".encode(),
            "line 1, colour: unknown column",
        ),
        (
            f"{CATALOG_HEADER}\nA,Goed,,21,1.00,normal,1,,,\nB,Caf\xe9,,21,1.00,normal,1,,,\n".encode("latin-1"),
            "line 3: this line is not UTF-8",
        ),
    ],
)
def test_broken_files_import_nothing(tmp_path, data, expected):
    err = _fails(tmp_path, data)
    assert expected in err
    assert not Product.objects.exists()


def test_an_ean_of_another_product_is_refused(tmp_path):
    ProductFactory(sku="OLD-1", ean="8712345678906")
    err = _fails(tmp_path, f"{CATALOG_HEADER}\nNEW-1,Nieuw,8712345678906,21,1.00,normal,1,,,\n".encode())
    assert "line 2, ean: 8712345678906 belongs to SKU OLD-1" in err
    assert not Product.objects.filter(sku="NEW-1").exists()


def test_a_second_import_updates_what_changed_and_keeps_the_old_price(tmp_path):
    # given
    product = priced_product("10.00", sku="UPD-1", name_nl="Oud", weight_grams=100)
    product.brand = Brand.objects.create(name="Behouden")
    product.save(update_fields=["brand"])
    header = "sku,name,ean,vat_rate,price,storage,weight_grams"  # no brand column: the brand stays
    # when
    out, _ = _run(tmp_path, f"{header}\nUPD-1,Nieuw,,9,12.50,normal,250\n".encode())
    # then
    assert "1 updated" in out
    product.refresh_from_db()
    assert (product.name_nl, product.vat_class, product.weight_grams, product.brand.name) == (
        "Nieuw",
        "reduced",
        250,
        "Behouden",
    )
    assert list(
        Price.objects.filter(product=product).order_by("valid_from").values_list("gross_amount", flat=True)
    ) == [
        Decimal("10.00"),
        Decimal("12.50"),
    ]
    latest = product.history.first()
    assert latest.history_actor == "command:import_catalog"


def test_errors_are_in_dutch_by_default(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(f"{CATALOG_HEADER}\nA-1,Naam,,19,1.00,normal,1,,,\n".encode())
    err = StringIO()
    with pytest.raises(CommandError), translation.override("nl"):
        call_command("import_catalog", str(path), stdout=StringIO(), stderr=err)
    assert "regel 2, vat_rate: 19 is geen btw-tarief; gebruik 21, 9, 0" in err.getvalue()
