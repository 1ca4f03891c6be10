"""Stock screens: counters read-only, every change through a form that books a movement;
refusals are form errors; access per role; the admin imports (stock, locations)."""

import time

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from catalog.models import Product, Promotion
from catalog.tests.admin_import import admin_import, admin_import_preview, invalid_lines
from catalog.tests.factories import ProductFactory, priced_product
from catalog.tests.files import catalog_csv, stock_csv
from core import roles
from core.models import ApprovalRequest
from core.tests.factories import UserFactory
from core.tests.utils import login_staff
from inventory.models import InboundDelivery, Location, Stock, StockMovement, StorageKind
from inventory.services.inbound import inbound_delivery_create
from inventory.services.ledger import stock_reserve
from inventory.tests.factories import LocationFactory, stocked

pytestmark = pytest.mark.django_db


@pytest.fixture
def warehouse(client):
    user = UserFactory(username="willem", role=roles.WAREHOUSE)
    login_staff(client, user)
    return user


@pytest.fixture
def stock():
    return stocked(ProductFactory(sku="TS-1"), LocationFactory(code="UTR"), 10)


def test_the_adjustment_form_books_a_movement(client, warehouse, stock):
    response = client.post(
        reverse("admin:inventory_stock_adjust", args=[stock.pk]), {"counted": "7", "reason": "telling"}
    )
    assert response.status_code == 302
    stock.refresh_from_db()
    assert stock.on_hand == 7
    movement = StockMovement.objects.filter(stock=stock).latest("id")
    assert (movement.kind, movement.on_hand_delta, movement.actor, movement.reason) == (
        "adjustment",
        -3,
        warehouse,
        "telling",
    )


def test_a_refused_adjustment_is_a_form_error_and_changes_nothing(client, warehouse, stock):
    before = StockMovement.objects.count()
    response = client.post(reverse("admin:inventory_stock_adjust", args=[stock.pk]), {"delta": "-11", "reason": "weg"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    both = client.post(
        reverse("admin:inventory_stock_adjust", args=[stock.pk]), {"counted": "1", "delta": "1", "reason": "x"}
    )
    assert both.status_code == 200 and both.context["form"].non_field_errors()
    stock.refresh_from_db()
    assert stock.on_hand == 10 and StockMovement.objects.count() == before


def test_the_transfer_form_moves_stock(client, warehouse, stock):
    hng = LocationFactory(code="HNG", storage_kinds=[StorageKind.NORMAL, StorageKind.HANGING])
    response = client.post(
        reverse("admin:inventory_stock_transfer", args=[stock.pk]), {"to_location": hng.pk, "quantity": "4"}
    )
    assert response.status_code == 302
    assert dict(Stock.objects.values_list("location__code", "on_hand")) == {"UTR": 6, "HNG": 4}


def test_a_large_write_off_goes_to_the_approval_queue(client, warehouse):
    stock = stocked(ProductFactory(sku="EL-1", cost_price="400.00"), LocationFactory(), 3)
    response = client.post(
        reverse("admin:inventory_stock_write_off", args=[stock.pk]), {"quantity": "1", "reason": "gevallen"}
    )
    assert response.status_code == 302
    assert ApprovalRequest.objects.get().action == "inventory.stock_write_off"
    stock.refresh_from_db()
    assert stock.on_hand == 3


def test_stock_pages_show_counters_read_only_and_the_ledger(client, warehouse, stock, django_assert_max_num_queries):
    for _ in range(20):
        stocked(ProductFactory(), stock.location, 3, reorder_point=5)
    with django_assert_max_num_queries(15):
        changelist = client.get(reverse("admin:inventory_stock_changelist"))
    assert changelist.status_code == 200
    low = client.get(reverse("admin:inventory_stock_changelist"), {"low": "yes"})
    assert low.context["cl"].result_count == 20
    page = client.get(reverse("admin:inventory_stock_change", args=[stock.pk]))
    content = page.content.decode()
    assert 'name="on_hand"' not in content and 'name="reserved"' not in content
    assert 'name="safety_stock"' not in content
    assert reverse("admin:inventory_stock_thresholds", args=[stock.pk]) in content
    assert reverse("admin:inventory_stock_adjust", args=[stock.pk]) in content
    assert "test:receipt" in content  # the movement inline
    assert client.get(reverse("admin:inventory_stockmovement_changelist")).status_code == 200


@pytest.mark.parametrize(
    ("role", "status"),
    [(roles.WAREHOUSE, 200), (roles.MANAGER, 200), (roles.CUSTOMER_SERVICE, 403), (roles.FINANCE, 403)],
)
def test_only_stock_staff_may_adjust(client, stock, role, status):
    login_staff(client, UserFactory(role=role))
    assert client.get(reverse("admin:inventory_stock_adjust", args=[stock.pk])).status_code == status


def test_customer_service_sees_stock_but_no_forms(client, stock):
    login_staff(client, UserFactory(role=roles.CUSTOMER_SERVICE))
    page = client.get(reverse("admin:inventory_stock_change", args=[stock.pk]))
    assert page.status_code == 200
    assert reverse("admin:inventory_stock_adjust", args=[stock.pk]).encode() not in page.content
    assert client.post(reverse("admin:inventory_stock_receive"), {}).status_code == 403


def test_receiving_an_inbound_delivery_in_part(client, warehouse):
    product = ProductFactory(sku="IN-1")
    location = LocationFactory()
    delivery = inbound_delivery_create(
        reference="PO-1", location_id=location.pk, expected_on="2030-01-01", lines=[(product.pk, 10)]
    )
    url = reverse("admin:inventory_inbounddelivery_receive", args=[delivery.pk])
    assert client.get(url).status_code == 200
    too_many = client.post(url, {f"line_{product.pk}": "11"})
    assert too_many.status_code == 200 and too_many.context["form"].errors
    response = client.post(url, {f"line_{product.pk}": "6"})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == InboundDelivery.Status.EXPECTED
    assert Stock.objects.get(product=product).on_hand == 6


def test_announcing_an_inbound_delivery_through_the_form(client, warehouse):
    ProductFactory(sku="A-1")
    location = LocationFactory()
    response = client.post(
        reverse("admin:inventory_inbounddelivery_add"),
        {"reference": "PO-2", "location": location.pk, "expected_on": "2030-01-01", "lines": "A-1;5\nNOPE;2"},
    )
    assert response.status_code == 200 and response.context["form"].errors["lines"]
    assert not InboundDelivery.objects.exists()
    response = client.post(
        reverse("admin:inventory_inbounddelivery_add"),
        {"reference": "PO-2", "location": location.pk, "expected_on": "2030-01-01", "lines": "A-1;5"},
    )
    assert response.status_code == 302
    assert InboundDelivery.objects.get().lines.get().quantity_expected == 5


@pytest.mark.slow
def test_ten_thousand_stock_counts_import_through_the_admin(client, warehouse, tmp_path):
    from django.core.management import call_command

    path = tmp_path / "catalog.csv"
    path.write_bytes(catalog_csv(10_000))
    call_command("import_catalog", str(path), stdout=None)
    LocationFactory(code="UTR", storage_kinds=StorageKind.values)
    started = time.monotonic()
    response = admin_import(client, "inventory_stock", stock_csv(10_000), filename="telling.csv")
    seconds = time.monotonic() - started
    assert response.status_code == 200
    assert Stock.objects.count() == 10_000
    assert (
        StockMovement.objects.filter(kind="adjustment", actor=warehouse, reference="import:telling.csv").count()
        == 10_000
    )
    print(f"\nadmin stock import (preview + confirm): 10,000 rows in {seconds:.1f} s")
    assert Product.objects.count() == 10_000


def test_a_bad_stock_row_in_the_admin_imports_nothing(client, warehouse, stock):
    response = admin_import_preview(client, "inventory_stock", b"location,sku,quantity\nUTR,TS-1,4\nUTR,TS-1,5\n")
    assert list(invalid_lines(response)) == [3]
    stock.refresh_from_db()
    assert stock.on_hand == 10


def test_locations_import_and_export_in_the_admin(client):
    login_staff(client, UserFactory(role=roles.MANAGER))
    admin_import(
        client, "inventory_location", b"code,name,storage,cutoff,priority\nFC1,Fulfilment,normal;bulky,14:00,5\n"
    )
    assert Location.objects.get(code="FC1").storage_kinds == ["normal", "bulky"]
    fields = {f"locationresource_{n}": "on" for n in ("code", "name", "storage", "cutoff", "priority")}
    export = client.post(reverse("admin:inventory_location_export"), {"resource": "0", "format": "0", **fields})
    assert "FC1,Fulfilment,normal;bulky,14:00,5" in export.content.decode("utf-8-sig")


def test_thresholds_are_set_through_their_form_without_touching_the_counters(client, warehouse, stock):
    url = reverse("admin:inventory_stock_thresholds", args=[stock.pk])
    page = client.get(url)  # the form is open while an order reserves a unit
    assert page.status_code == 200
    stock_reserve(allocations=[(stock.pk, 1)], reference="order:1")
    response = client.post(url, {"reorder_point": "12", "safety_stock": "3"})
    assert response.status_code == 302
    stock.refresh_from_db()
    assert (stock.reorder_point, stock.safety_stock, stock.on_hand, stock.reserved) == (12, 3, 10, 1)


def test_a_delivery_is_rescheduled_through_its_form(client, warehouse):
    delivery = inbound_delivery_create(
        reference="PO-3", location_id=LocationFactory().pk, expected_on="2030-01-01", lines=[(ProductFactory().pk, 1)]
    )
    url = reverse("admin:inventory_inbounddelivery_reschedule", args=[delivery.pk])
    response = client.post(url, {"expected_on": "2030-02-01", "supplier": "Nieuwe leverancier"})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (str(delivery.expected_on), delivery.supplier) == ("2030-02-01", "Nieuwe leverancier")


def test_every_catalog_and_inventory_screen_renders(client, stock):
    # given: one of everything, seen by a superuser
    priced_product("5.00")
    promotion = Promotion.objects.create(
        code="p", name="P", kind="percentage", percentage="10", scope="order", valid_from="2026-01-01T00:00:00+01:00"
    )
    inbound_delivery_create(
        reference="PO-9", location_id=stock.location_id, expected_on="2030-01-01", lines=[(stock.product_id, 2)]
    )
    root = UserFactory(username="root", is_superuser=True)
    login_staff(client, root)
    as_root = RequestFactory().get("/")
    as_root.user = root
    assert promotion.pk
    # then
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in ("catalog", "inventory"):
            continue
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        assert client.get(reverse(f"{prefix}_changelist")).status_code == 200, prefix
        obj = model.objects.first()
        if obj is not None:
            assert client.get(reverse(f"{prefix}_change", args=[obj.pk])).status_code == 200, prefix
        if model_admin.has_add_permission(as_root):
            assert client.get(reverse(f"{prefix}_add")).status_code == 200, prefix
