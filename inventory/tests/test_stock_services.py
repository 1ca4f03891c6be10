"""Receipts, adjustments, transfers, write-offs (four eyes above the limit) and restocked
returns: each books its movements with who, when and a reference; a refusal changes nothing."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from catalog.tests.factories import ProductFactory
from core.approvals import FourEyesViolation, approval_decide
from core.audit import acting_as
from core.models import ApprovalRequest, BusinessRule
from core.tests.factories import UserFactory
from inventory.exceptions import (
    InsufficientStock,
    InvalidQuantity,
    InvalidStockChange,
    LocationInactive,
    ReasonRequired,
    StorageKindNotHandled,
    WriteOffPending,
)
from inventory.models import Stock, StockMovement, StorageKind
from inventory.rules import WRITE_OFF_APPROVAL_ABOVE
from inventory.services.ledger import stock_reserve
from inventory.services.stock import (
    stock_adjust,
    stock_receive,
    stock_return_restock,
    stock_transfer,
    stock_write_off,
)
from inventory.tests.factories import LocationFactory, stocked

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk():
    return UserFactory(username="clerk")


def _state():
    return (
        sorted(Stock.objects.values_list("product_id", "location_id", "on_hand", "reserved")),
        StockMovement.objects.count(),
    )


def test_a_receipt_books_a_movement_with_who_and_reference(clerk):
    product, location = ProductFactory(), LocationFactory()
    movement = stock_receive(
        product_id=product.pk, location_id=location.pk, quantity=12, reference="PAKBON-77", actor=clerk
    )
    assert (movement.kind, movement.on_hand_delta, movement.on_hand_after) == ("receipt", 12, 12)
    assert (movement.reference, movement.actor, movement.actor_label) == ("PAKBON-77", clerk, "clerk")
    assert Stock.objects.get(product=product, location=location).on_hand == 12


@pytest.mark.parametrize(
    ("storage_kinds", "active", "error"),
    [([StorageKind.NORMAL], True, StorageKindNotHandled), ([StorageKind.SECURE], False, LocationInactive)],
)
def test_goods_are_received_only_where_they_can_be_stored(clerk, storage_kinds, active, error):
    product = ProductFactory(storage_kind=StorageKind.SECURE)
    location = LocationFactory(storage_kinds=storage_kinds, is_active=active)
    before = _state()
    with pytest.raises(error):
        stock_receive(product_id=product.pk, location_id=location.pk, quantity=1, reference="x", actor=clerk)
    assert _state() == before


def test_adjusting_to_a_count_books_the_difference(clerk):
    stock = stocked(ProductFactory(), LocationFactory(), 10)
    movement = stock_adjust(
        product_id=stock.product_id, location_id=stock.location_id, counted=7, reason="telling", actor=clerk
    )
    assert (movement.kind, movement.on_hand_delta, movement.reason) == ("adjustment", -3, "telling")
    # a count that matches books nothing
    assert stock_adjust(product_id=stock.product_id, location_id=stock.location_id, counted=7, reason="x") is None
    assert StockMovement.objects.filter(stock=stock).count() == 2


def test_adjusting_by_a_difference(clerk):
    stock = stocked(ProductFactory(), LocationFactory(), 4)
    stock_adjust(product_id=stock.product_id, location_id=stock.location_id, delta=2, reason="gevonden", actor=clerk)
    stock.refresh_from_db()
    assert stock.on_hand == 6


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"delta": -5, "reason": "kwijt"}, InvalidStockChange),
        ({"delta": 2, "reason": " "}, ReasonRequired),
        ({"counted": -1, "reason": "x"}, InvalidQuantity),
        ({"counted": 3, "delta": 1, "reason": "x"}, InvalidQuantity),
        ({"delta": 0, "reason": "x"}, InvalidQuantity),
    ],
)
def test_refused_adjustments_change_nothing(clerk, kwargs, error):
    stock = stocked(ProductFactory(), LocationFactory(), 4)
    before = _state()
    with pytest.raises(error):
        stock_adjust(product_id=stock.product_id, location_id=stock.location_id, actor=clerk, **kwargs)
    assert _state() == before


def test_a_count_may_find_less_than_is_reserved():
    stock = stocked(ProductFactory(), LocationFactory(), 5)
    stock_reserve(allocations=[(stock.pk, 4)], reference="order:1")
    stock_adjust(product_id=stock.product_id, location_id=stock.location_id, counted=2, reason="telling")
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved, stock.available) == (2, 4, -2)


def test_a_transfer_moves_unreserved_stock_in_one_booking(clerk):
    # given
    product = ProductFactory()
    utr, hng = LocationFactory(code="UTR"), LocationFactory(code="HNG")
    source = stocked(product, utr, 10)
    stock_reserve(allocations=[(source.pk, 3)], reference="order:1")
    # when
    out, into = stock_transfer(
        product_id=product.pk, from_location_id=utr.pk, to_location_id=hng.pk, quantity=7, actor=clerk
    )
    # then
    assert (out.kind, out.on_hand_delta, into.kind, into.on_hand_delta) == ("transfer_out", -7, "transfer_in", 7)
    assert out.reference == into.reference == "transfer:UTR>HNG"
    assert dict(Stock.objects.filter(product=product).values_list("location__code", "on_hand")) == {"UTR": 3, "HNG": 7}


@pytest.mark.parametrize(
    ("quantity", "destination_kinds", "error"),
    [
        (8, [StorageKind.NORMAL], InsufficientStock),  # 3 of the 10 are reserved
        (2, [StorageKind.SECURE], StorageKindNotHandled),
        (0, [StorageKind.NORMAL], InvalidQuantity),
    ],
)
def test_refused_transfers_change_nothing(clerk, quantity, destination_kinds, error):
    product = ProductFactory()
    source = stocked(product, LocationFactory(), 10)
    stock_reserve(allocations=[(source.pk, 3)], reference="order:1")
    destination = LocationFactory(storage_kinds=destination_kinds)
    before = _state()
    with pytest.raises(error):
        stock_transfer(
            product_id=product.pk,
            from_location_id=source.location_id,
            to_location_id=destination.pk,
            quantity=quantity,
            actor=clerk,
        )
    assert _state() == before


def test_a_small_write_off_is_booked_at_once(clerk):
    product = ProductFactory(cost_price=Decimal("10.00"))
    stock = stocked(product, LocationFactory(), 5)
    outcome = stock_write_off(
        product_id=product.pk, location_id=stock.location_id, quantity=2, reason="beschadigd", actor=clerk
    )
    assert outcome.approval is None
    assert (outcome.movement.kind, outcome.movement.on_hand_delta, outcome.value) == ("write_off", -2, Decimal("20.00"))


def test_a_write_off_above_the_limit_waits_for_a_second_person(clerk):
    # given: the limit is a staff-editable rule, lowered to € 50
    BusinessRule.objects.create(
        key=WRITE_OFF_APPROVAL_ABOVE, value=Decimal("50"), valid_from=timezone.now() - datetime.timedelta(days=1)
    )
    product = ProductFactory(cost_price=Decimal("30.00"))
    stock = stocked(product, LocationFactory(), 5)
    manager = UserFactory(username="boss")
    manager.user_permissions.add(Permission.objects.get(codename="approve_write_off"))
    # when
    outcome = stock_write_off(
        product_id=product.pk, location_id=stock.location_id, quantity=2, reason="verlopen", actor=clerk
    )
    # then: nothing booked yet
    assert outcome.movement is None
    assert outcome.approval.amount == Decimal("60.00")
    stock.refresh_from_db()
    assert stock.on_hand == 5
    # the requester cannot approve it
    clerk.user_permissions.add(Permission.objects.get(codename="approve_write_off"))
    with pytest.raises(FourEyesViolation):
        approval_decide(approval_id=outcome.approval.pk, decided_by=clerk, approve=True)
    # a second write-off of the same stock while this one waits is refused
    with pytest.raises(WriteOffPending):
        stock_write_off(product_id=product.pk, location_id=stock.location_id, quantity=3, reason="x", actor=clerk)
    # the manager approves: it is booked, in the requester's name and with the approval as reference
    approval = approval_decide(approval_id=outcome.approval.pk, decided_by=manager, approve=True)
    assert approval.status == ApprovalRequest.Status.EXECUTED
    stock.refresh_from_db()
    assert stock.on_hand == 3
    movement = StockMovement.objects.get(stock=stock, kind="write_off")
    assert movement.reference == f"write-off approval:{approval.pk}"
    assert movement.actor == clerk and "boss" in movement.actor_label


def test_an_approved_write_off_that_no_longer_fits_fails_and_books_nothing(clerk):
    product = ProductFactory(cost_price=Decimal("500.00"))
    stock = stocked(product, LocationFactory(), 2)
    outcome = stock_write_off(product_id=product.pk, location_id=stock.location_id, quantity=2, reason="x", actor=clerk)
    stock_reserve(allocations=[(stock.pk, 1)], reference="order:9")  # meanwhile one unit was sold
    manager = UserFactory()
    manager.user_permissions.add(Permission.objects.get(codename="approve_write_off"))
    approval = approval_decide(approval_id=outcome.approval.pk, decided_by=manager, approve=True)
    assert approval.status == ApprovalRequest.Status.FAILED
    assert not StockMovement.objects.filter(stock=stock, kind="write_off").exists()


def test_returns_are_restocked_with_the_return_as_reference():
    product, location = ProductFactory(), LocationFactory()
    with acting_as(None, "channel:webshop-nl"):
        movements = stock_return_restock(items=[(product.pk, location.pk, 1)], reference="RMA-2026-000001")
    assert (movements[0].kind, movements[0].reference, movements[0].actor_label) == (
        "return_restock",
        "RMA-2026-000001",
        "channel:webshop-nl",
    )
    assert Stock.objects.get(product=product, location=location).on_hand == 1
