"""import_locations, import_stock and check_stock_ledger."""

import datetime
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from catalog.tests.files import catalog_csv, stock_csv
from inventory.models import Location, Stock, StockMovement
from inventory.tests.factories import LocationFactory, stocked

pytestmark = pytest.mark.django_db


def _call(command, tmp_path, data: bytes, name="file.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    out, err = StringIO(), StringIO()
    with translation.override("en"):
        call_command(command, str(path), stdout=out, stderr=err)
    return out.getvalue()


def _fails(command, tmp_path, data: bytes) -> str:
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    err = StringIO()
    with pytest.raises(CommandError), translation.override("en"):
        call_command(command, str(path), stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_locations_are_created_and_updated(tmp_path):
    LocationFactory(code="UTR", name="Oud", priority=50)
    out = _call(
        "import_locations",
        tmp_path,
        b"code,name,storage,cutoff,priority\n"
        b"UTR,Magazijn Utrecht,normal;bulky;cooled,17:00,10\n"
        b"HNG,Fashion Tilburg,hanging; normal,15:30,20\n",
    )
    assert "1 new, 1 updated" in out
    utr, hng = Location.objects.get(code="UTR"), Location.objects.get(code="HNG")
    assert (utr.name, utr.priority, utr.storage_kinds) == ("Magazijn Utrecht", 10, ["normal", "bulky", "cooled"])
    assert (hng.cutoff_time, hng.storage_kinds) == (datetime.time(15, 30), ["hanging", "normal"])


def test_a_bad_location_row_imports_nothing(tmp_path):
    err = _fails(
        "import_locations",
        tmp_path,
        b"code,name,storage,cutoff,priority\n"
        b"NEW,Nieuw,normal,16:00,10\n"
        b"BAD,Fout,normal;frozen,25:00,-1\n"
        b"NEW,Dubbel,normal,16:00,1\n",
    )
    assert "line 3, storage: frozen is not a storage kind" in err
    assert "line 3, cutoff" in err and "line 3, priority" in err
    assert "line 4, code: NEW is also on line 2" in err
    assert not Location.objects.exists()


@pytest.mark.slow
def test_ten_thousand_stock_counts_import_and_book_their_differences(tmp_path):
    # given: 10,000 products, some with stock already
    _call("import_catalog", tmp_path, catalog_csv(10_000), name="catalog.csv")
    utr = LocationFactory(code="UTR", storage_kinds=["normal", "hanging", "secure", "bulky", "cooled"])
    stocked(Product.objects.get(sku="IMP-000000"), utr, 9)
    # when
    started = time.monotonic()
    out = _call("import_stock", tmp_path, stock_csv(10_000), name="telling-2026-11.csv")
    seconds = time.monotonic() - started
    # then: the counted quantity is on hand, the difference booked as an adjustment
    assert "10000 rows" in out
    first = Stock.objects.get(product__sku="IMP-000000")
    assert first.on_hand == 5
    adjustment = StockMovement.objects.filter(stock=first, kind="adjustment").get()
    assert (adjustment.on_hand_delta, adjustment.reference) == (-4, "import:telling-2026-11.csv")
    assert Stock.objects.filter(location=utr).count() == 10_000
    assert StockMovement.objects.filter(kind="adjustment").count() == 10_000
    assert "OK" in _check()
    assert seconds < 60, f"10,000 stock counts took {seconds:.1f} s"
    print(f"\nimport_stock: 10,000 rows in {seconds:.1f} s")


def test_a_bad_stock_row_imports_nothing_and_names_its_line(tmp_path):
    ProductFactory(sku="A")
    LocationFactory(code="UTR")
    err = _fails(
        "import_stock",
        tmp_path,
        b"location,sku,quantity\nUTR,A,4\nUTR,NOPE,1\nXXX,A,2\nUTR,A,-1\n",
    )
    assert "line 3, sku: NOPE is not a known SKU" in err
    assert "line 4, location: XXX is not a known location" in err
    assert "line 5, quantity" in err
    assert not Stock.objects.exists() and not StockMovement.objects.exists()


def test_a_stock_file_without_its_columns_imports_nothing(tmp_path):
    err = _fails("import_stock", tmp_path, b"sku,quantity\nA,1\n")
    assert "line 1, location: this column is missing" in err


def _check() -> str:
    out = StringIO()
    call_command("check_stock_ledger", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_check_stock_ledger_is_clean_when_the_books_hold():
    stocked(ProductFactory(), LocationFactory(), 3)
    assert "OK" in _check()


def test_check_stock_ledger_exits_non_zero_and_lists_each_difference():
    stock = stocked(ProductFactory(sku="BROKEN"), LocationFactory(code="UTR"), 3)
    Stock.objects.filter(pk=stock.pk).update(on_hand=5, reserved=1)
    err = StringIO()
    try:
        with pytest.raises(CommandError) as error:
            call_command("check_stock_ledger", stdout=StringIO(), stderr=err)
        assert "1 stock rows differ" in str(error.value)
        assert "BROKEN@UTR: on hand 5, ledger 3; reserved 1, ledger 0" in err.getvalue()
    finally:
        Stock.objects.filter(pk=stock.pk).update(on_hand=3, reserved=0)  # the suite checks the ledger after each test
