"""The catalog's staff screens: import and export through django-import-export with the
command's validation, prices only through the price form, access per role."""

import csv
import io
import time
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Price, Product
from catalog.resources import ProductResource
from catalog.selectors import price_get
from catalog.tests.admin_import import admin_import, admin_import_preview, invalid_lines
from catalog.tests.factories import ProductFactory, default_price_list, priced_product
from catalog.tests.files import catalog_csv
from core import roles
from core.tests.factories import UserFactory
from core.tests.utils import login_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    user = UserFactory(username="manager", role=roles.MANAGER)
    login_staff(client, user)
    return user


@pytest.mark.slow
def test_ten_thousand_products_import_through_the_admin(client, manager):
    # when
    started = time.monotonic()
    response = admin_import(client, "catalog_product", catalog_csv(10_000), filename="catalogus.csv")
    seconds = time.monotonic() - started
    # then
    assert response.status_code == 200
    assert Product.objects.count() == 10_000
    assert any("10000" in str(m) for m in response.context["messages"])
    assert price_get(product_id=Product.objects.get(sku="IMP-009999").pk, channel_id=None) == Decimal("19.95")
    assert Product.objects.get(sku="IMP-000001").history.first().history_user == manager
    assert seconds < 90, f"admin import of 10,000 products took {seconds:.1f} s"
    print(f"\nadmin import (preview + confirm): 10,000 rows in {seconds:.1f} s")


def test_one_bad_row_in_the_admin_imports_nothing_and_names_its_line(client, manager):
    lines = catalog_csv(300).decode().splitlines()
    lines[150] = lines[150].replace(",21,", ",17,")  # line 151: a VAT rate that does not exist
    response = admin_import_preview(client, "catalog_product", ("\n".join(lines) + "\n").encode())
    assert response.context.get("confirm_form") is None
    errors = invalid_lines(response)
    assert list(errors) == [151]
    assert "vat_rate" in errors[151]
    assert not Product.objects.exists()


def test_a_file_that_is_not_utf8_is_refused_with_its_line(client, manager):
    data = "sku,name,ean,vat_rate,price,storage,weight_grams\nA,Goed,,21,1.00,normal,1\nB,Caf\xe9,,21,1.00,normal,1\n"
    response = admin_import_preview(client, "catalog_product", data.encode("latin-1"))
    assert response.context.get("confirm_form") is None
    assert "3" in str(response.context["form"].errors["import_file"])
    assert not Product.objects.exists()


def test_a_row_that_became_wrong_before_confirming_imports_nothing(client, manager):
    # given: the preview was clean
    data = b"sku,name,ean,vat_rate,price,storage,weight_grams\nNEW-1,Nieuw,8712345678906,21,1.00,normal,1\n"
    preview = admin_import_preview(client, "catalog_product", data)
    confirm = preview.context["confirm_form"]
    # when: meanwhile another product got that EAN
    ProductFactory(sku="OTHER", ean="8712345678906")
    response = client.post(reverse("admin:catalog_product_process_import"), dict(confirm.initial), follow=True)
    # then
    assert not Product.objects.filter(sku="NEW-1").exists()
    assert any("8712345678906" in str(m) for m in response.context["messages"])


def test_the_export_imports_again_unchanged(client, manager):
    # given
    priced_product("12.34", sku="EXP-1", ean="8712345678906")
    priced_product("5.00", sku="EXP-2", ean="")
    # when
    selected = {f"productresource_{name}": "on" for name in ProductResource._meta.fields}
    response = client.post(reverse("admin:catalog_product_export"), {"resource": "0", "format": "0", **selected})
    # then
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["sku"], r["price"], r["vat_rate"]) for r in rows] == [("EXP-1", "12.34", "21"), ("EXP-2", "5.00", "21")]
    before = Price.objects.count()
    preview = admin_import_preview(client, "catalog_product", response.content)
    assert preview.context["result"].totals["skip"] == 2
    assert Price.objects.count() == before


def test_a_price_is_set_through_the_form_and_the_old_row_is_kept(client, manager):
    product = priced_product("10.00", sku="P-1")
    response = client.post(
        reverse("admin:catalog_price_add"),
        {"price_list": default_price_list().pk, "sku": "P-1", "gross_amount": "8.50"},
    )
    assert response.status_code == 302
    assert price_get(product_id=product.pk, channel_id=None) == Decimal("8.50")
    assert Price.objects.filter(product=product).count() == 2
    # a price row cannot be edited
    row = Price.objects.filter(product=product).first()
    page = client.get(reverse("admin:catalog_price_change", args=[row.pk]))
    assert page.status_code == 200
    assert b'name="gross_amount"' not in page.content


def test_a_refused_price_is_a_form_error_and_changes_nothing(client, manager):
    product = priced_product("10.00", sku="P-2")
    response = client.post(
        reverse("admin:catalog_price_add"),
        {
            "price_list": default_price_list().pk,
            "sku": "P-2",
            "gross_amount": "8.50",
            "valid_from_0": "2001-01-01",
            "valid_from_1": "10:00",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["valid_from"]
    unknown = client.post(
        reverse("admin:catalog_price_add"),
        {"price_list": default_price_list().pk, "sku": "NOPE", "gross_amount": "1.00"},
    )
    assert unknown.context["form"].errors["sku"]
    assert Price.objects.filter(product=product).count() == 1


@pytest.mark.parametrize(
    ("role", "page", "status"),
    [
        (roles.CUSTOMER_SERVICE, "admin:catalog_product_changelist", 200),
        (roles.CUSTOMER_SERVICE, "admin:catalog_price_add", 403),
        (roles.CUSTOMER_SERVICE, "admin:catalog_product_import", 403),
        (roles.WAREHOUSE, "admin:catalog_price_add", 403),
        (roles.WAREHOUSE, "admin:catalog_product_changelist", 200),
        (roles.FINANCE, "admin:catalog_price_changelist", 200),
        (roles.FINANCE, "admin:catalog_product_import", 403),
        (roles.MANAGER, "admin:catalog_product_import", 200),
        (roles.MANAGER, "admin:catalog_promotion_add", 200),
    ],
)
def test_role_access(client, role, page, status):
    login_staff(client, UserFactory(role=role))
    assert client.get(reverse(page)).status_code == status


def test_product_pages_show_prices_stock_and_history_without_n_plus_one(client, manager, django_assert_max_num_queries):
    products = [priced_product("9.95") for _ in range(30)]
    with django_assert_max_num_queries(20):
        response = client.get(reverse("admin:catalog_product_changelist"))
    assert response.status_code == 200
    assert b"9.95" in response.content or b"9,95" in response.content
    assert client.get(reverse("admin:catalog_product_change", args=[products[0].pk])).status_code == 200
    assert client.get(reverse("admin:catalog_product_history", args=[products[0].pk])).status_code == 200
    price_list = default_price_list()
    assert client.get(reverse("admin:catalog_pricelist_change", args=[price_list.pk])).status_code == 200
