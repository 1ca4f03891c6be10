"""Bank statements imported and matched: every sample parses and is stored once; a line
with an order's betalingskenmerk clears it and releases its fulfilments; a second
import changes nothing; part of the money leaves payment_mismatch; the rest clears."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import FraudBlock, Order, OrderEvent
from orders.states import FulfilmentStatus, HoldReason, OrderStatus
from payments.models import (
    BankMatch,
    BankMatchSuggestion,
    BankStatementImport,
    BankStatementLine,
    Payment,
    PaymentEvent,
    Refund,
)
from payments.services.statements import bank_line_match_manual, bank_statement_import
from payments.statements import parse_statement_file
from payments.states import BankLineStatus, MatchMethod, PaymentEventKind, PaymentStatus, RefundReason, RefundStatus
from payments.tests.factories import camt, place, ship

pytestmark = pytest.mark.django_db
D = Decimal
SAMPLE_FILES = [
    "camt053_fi_fffs-guideline-sample_structured-ref.xml",
    "camt053_iso20022-business-sample_v001.04.xml",
    "camt053_nl_abnamro-style_oca-test.xml",
    "camt053_nl_sns-volksbank_anonymised.xml",
    "camt053_v001.08_genkgo-test_scor-ref.xml",
    "mt940_ing_structured.txt",
    "mt940_mollie_settlement_voorbeeld.mt940",
    "mt940_rabobank_structured.txt",
]


def _snapshot():
    return (
        BankStatementImport.objects.count(),
        BankStatementLine.objects.count(),
        BankMatch.objects.count(),
        PaymentEvent.objects.count(),
        list(Payment.objects.order_by("pk").values_list("paid_amount", "status")),
        list(Order.objects.order_by("pk").values_list("status", "cleared_at", "hold_reasons")),
    )


def test_the_samples_are_all_listed(samples):
    assert sorted(p.name for p in (samples / "bank").iterdir()) == sorted(SAMPLE_FILES)


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_every_sample_statement_imports_each_entry_once(samples, name):
    data = (samples / "bank" / name).read_bytes()
    entries = sum(len(s.entries) for s in parse_statement_file(data, name))
    # when
    result = bank_statement_import(data=data, filename=name)
    # then every entry is stored once, each line has a status
    assert result.statement_import.entries_total == entries == BankStatementLine.objects.count()
    assert result.new_lines == entries
    assert not result.already_imported
    debits = BankStatementLine.objects.filter(amount__lt=0, is_reversal=False)
    assert set(debits.values_list("status", flat=True)) <= {BankLineStatus.NOT_APPLICABLE}
    # and importing it again changes nothing
    before = _snapshot()
    again = bank_statement_import(data=data, filename=name)
    assert again.already_imported and again.statement_import == result.statement_import
    assert _snapshot() == before


def test_the_same_bookings_in_another_file_are_not_stored_twice(samples):
    name = "camt053_nl_abnamro-style_oca-test.xml"
    data = (samples / "bank" / name).read_bytes()
    bank_statement_import(data=data, filename=name)
    # when the bank sends the same statement again in a file that differs (whitespace)
    result = bank_statement_import(data=data.replace(b"<Document", b"\n<Document", 1), filename="again.xml")
    # then a new import is recorded with no new lines
    assert not result.already_imported
    assert result.new_lines == 0 and result.duplicate_lines == 4
    assert BankStatementLine.objects.count() == 4


def test_a_transfer_with_the_payment_reference_clears_the_order_and_releases_it(channel, shirt, run_on_commit):
    # given an order paid by bank transfer, waiting for the money
    order = place(channel, lines=[{"sku": shirt.sku, "quantity": 2, "unit_price": "19.95", "discount": "2.00"}])
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert set(order.fulfilments.values_list("status", flat=True)) == {FulfilmentStatus.WAITING}
    statement = camt([{"amount": "42.85", "reference": order.payment_reference, "name": "A. de Vries"}])
    # when
    with run_on_commit():
        result = bank_statement_import(data=statement, filename="2026-11-20.xml")
    # then
    order.refresh_from_db()
    assert order.cleared_at is not None and order.status == OrderStatus.RELEASED
    assert set(order.fulfilments.values_list("status", flat=True)) == {FulfilmentStatus.RELEASED}
    payment = Payment.objects.get(order=order)
    assert (payment.paid_amount, payment.status) == (D("42.85"), PaymentStatus.PAID)
    (match,) = BankMatch.objects.all()
    assert (match.order, match.amount, match.method) == (order, D("42.85"), MatchMethod.STRUCTURED_REFERENCE)
    assert BankStatementLine.objects.get().status == BankLineStatus.MATCHED
    assert [(m.order.number, m.amount) for _line, ms in result.matched for m in ms] == [(order.number, D("42.85"))]
    assert OrderEvent.objects.filter(order=order, kind="cleared").count() == 1
    # and importing the same file again changes nothing
    before = _snapshot()
    again = bank_statement_import(data=statement, filename="2026-11-20.xml")
    assert again.already_imported
    assert _snapshot() == before


def test_a_statement_clears_its_orders_together_in_as_many_queries_for_twelve_as_for_two(channel, shirt, run_on_commit):
    """The orders a statement pays are cleared in bulk (orders_clear_many): each is
    cleared, released with its promised ship date, gets its events and history, and the
    statements to do so do not grow with the number of orders."""

    def import_paying(count: int, statement_id: str) -> tuple[list[Order], int]:
        orders = [
            place(channel, lines=[{"sku": shirt.sku, "quantity": 1, "unit_price": "10.00"}], shipping="0.00")
            for _ in range(count)
        ]
        data = camt([{"amount": "10.00", "reference": o.payment_reference} for o in orders], statement_id=statement_id)
        with CaptureQueriesContext(connection) as queries, run_on_commit():
            result = bank_statement_import(data=data, filename=f"{statement_id}.xml")
        assert len(result.matched) == count
        return orders, len(queries)

    two, few = import_paying(2, "S1")
    twelve, many = import_paying(12, "S2")
    assert many == few
    for order in two + twelve:
        order.refresh_from_db()
        assert order.cleared_at is not None and order.status == OrderStatus.RELEASED
        assert order.promised_ship_date is not None
        (fulfilment,) = order.fulfilments.all()
        assert fulfilment.status == FulfilmentStatus.RELEASED
        assert fulfilment.promised_ship_date == order.promised_ship_date
        kinds = list(OrderEvent.objects.filter(order=order).order_by("pk").values_list("kind", flat=True))
        assert kinds[-4:] == ["payment_received", "cleared", "fulfilment_released", "status_changed"]
        latest = order.history.order_by("-history_id").first()
        assert (latest.status, latest.cleared_at) == (OrderStatus.RELEASED, order.cleared_at)


def test_part_of_the_money_leaves_payment_mismatch_then_the_rest_clears(channel, shirt, run_on_commit):
    order = place(channel, lines=[{"sku": shirt.sku, "quantity": 2, "unit_price": "19.95", "discount": "2.00"}])
    # when 30.00 of 42.85 arrives
    with run_on_commit():
        bank_statement_import(
            data=camt([{"amount": "30.00", "reference": order.payment_reference}], statement_id="S1"), filename="a.xml"
        )
    # then the order waits for the rest, not cleared, with payment_mismatch
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert order.cleared_at is None
    assert HoldReason.PAYMENT_MISMATCH in order.hold_reasons
    assert set(order.fulfilments.values_list("status", flat=True)) == {FulfilmentStatus.WAITING}
    assert Payment.objects.get(order=order).paid_amount == D("30.00")
    # when the rest comes on the next statement
    with run_on_commit():
        bank_statement_import(
            data=camt([{"amount": "12.85", "text": f"rest {order.number}"}], statement_id="S2"), filename="b.xml"
        )
    # then it is cleared and released, the mismatch gone
    order.refresh_from_db()
    assert order.cleared_at is not None and order.status == OrderStatus.RELEASED
    assert HoldReason.PAYMENT_MISMATCH not in order.hold_reasons
    assert BankMatch.objects.get(amount=D("12.85")).method == MatchMethod.ORDER_NUMBER


def test_too_much_becomes_one_refund_proposal(channel, shirt):
    order = place(channel, lines=[{"sku": shirt.sku, "quantity": 1, "unit_price": "10.00"}], shipping="0.00")
    bank_statement_import(data=camt([{"amount": "25.00", "reference": order.payment_reference}]), filename="a.xml")
    order.refresh_from_db()
    assert order.cleared_at is not None
    (proposal,) = Refund.objects.filter(order=order)
    assert (proposal.status, proposal.amount, proposal.reason) == (
        RefundStatus.PROPOSED,
        D("15.00"),
        RefundReason.OVERPAYMENT,
    )


def test_invoice_number_and_loose_order_number_in_the_text_find_the_order(channel, shirt, run_on_commit):
    paid_by_invoice = place(channel, method="pay_later", lines=[{"sku": shirt.sku, "unit_price": "20.00"}])
    with run_on_commit():
        from payments.services.payments import payment_start

        payment_start(payment_id=paid_by_invoice.payments.get().pk)  # credit check: cleared
        (shipment,) = ship(Order.objects.get(pk=paid_by_invoice.pk))
    invoice = shipment.invoice
    loose = place(channel, lines=[{"sku": shirt.sku, "unit_price": "5.00"}])
    number = int(loose.number.rsplit("-", 1)[1])
    statement = camt(
        [
            {"amount": str(invoice.total_amount), "text": f"factuur {invoice.number}"},
            {"amount": "9.95", "text": f"bestelling web {loose.number[4:8]} {number}"},
        ]
    )
    # when
    bank_statement_import(data=statement, filename="x.xml")
    # then
    by_invoice = BankMatch.objects.get(order=paid_by_invoice)
    assert (by_invoice.method, by_invoice.invoice) == (MatchMethod.INVOICE_NUMBER, invoice)
    assert BankMatch.objects.get(order=loose).method == MatchMethod.ORDER_NUMBER
    assert Order.objects.get(pk=loose.pk).cleared_at is not None


def test_amount_and_name_are_only_a_suggestion_and_one_click_books_it(channel, shirt, django_user_model):
    from core import roles
    from core.tests.factories import UserFactory

    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "31.05"}], last_name="Jansen")
    place(channel, lines=[{"sku": shirt.sku, "unit_price": "31.05"}], email="p@example.nl", last_name="Pietersen")
    result = bank_statement_import(
        data=camt([{"amount": "36.00", "text": "boodschappen", "name": "J. JANSEN"}]), filename="x.xml"
    )
    # then nothing is booked: the line waits with suggestions, the name-matching order first
    (line,) = result.left
    assert line.status == BankLineStatus.UNMATCHED and not BankMatch.objects.exists()
    suggestions = list(BankMatchSuggestion.objects.filter(line=line))
    assert suggestions[0].order_id == order.pk and len(suggestions) == 2
    assert "jansen" in suggestions[0].reason
    assert Order.objects.get(pk=order.pk).cleared_at is None
    # when finance takes the first suggestion
    finance = UserFactory(username="femke", role=roles.FINANCE)
    match = bank_line_match_manual(line_id=line.pk, order_id=order.pk, actor=finance)
    # then it is booked, the order cleared, the suggestions gone
    assert (match.amount, match.method, match.actor) == (D("36.00"), MatchMethod.MANUAL, finance)
    line.refresh_from_db()
    assert line.status == BankLineStatus.MATCHED and not line.suggestions.exists()
    assert Order.objects.get(pk=order.pk).cleared_at is not None


def test_matching_by_hand_needs_the_permission_and_changes_nothing_without(channel, shirt):
    from core.exceptions import PermissionDenied
    from core.tests.factories import UserFactory

    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "31.05"}])
    (line,) = bank_statement_import(data=camt([{"amount": "36.00"}]), filename="x.xml").left
    with pytest.raises(PermissionDenied):
        bank_line_match_manual(line_id=line.pk, order_id=order.pk, actor=UserFactory(username="nobody"))
    assert not BankMatch.objects.exists() and Payment.objects.get(order=order).paid_amount == 0


def test_a_transfer_from_a_blocked_account_holds_the_order_for_review(channel, shirt):
    FraudBlock.objects.create(kind=FraudBlock.Kind.IBAN, value="NL02ABNA0123456789", reason="stolen cards")
    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "10.00"}], shipping="0.00")
    bank_statement_import(
        data=camt([{"amount": "10.00", "reference": order.payment_reference, "iban": "NL02ABNA0123456789"}]),
        filename="x.xml",
    )
    order.refresh_from_db()
    assert HoldReason.FRAUD_REVIEW in order.hold_reasons
    assert order.status == OrderStatus.ON_HOLD
    assert set(order.fulfilments.values_list("status", flat=True)) == {FulfilmentStatus.WAITING}


def test_one_transfer_for_two_orders_is_shared_and_the_rest_waits(channel, shirt):
    first = place(channel, lines=[{"sku": shirt.sku, "unit_price": "10.00"}], shipping="0.00")
    second = place(channel, lines=[{"sku": shirt.sku, "unit_price": "20.00"}], shipping="0.00")
    text = f"{first.number} en {second.number}"
    (line, _matches), *_ = bank_statement_import(
        data=camt([{"amount": "35.00", "text": text}]), filename="x.xml"
    ).matched
    assert dict(BankMatch.objects.values_list("order_id", "amount")) == {first.pk: D("10.00"), second.pk: D("20.00")}
    line.refresh_from_db()
    assert (line.status, line.open_amount) == (BankLineStatus.PARTLY_MATCHED, D("5.00"))


def test_the_command_prints_what_it_matched_and_what_it_left(channel, shirt, tmp_path, capsys):
    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "10.00"}], shipping="0.00")
    path = tmp_path / "statement.xml"
    path.write_bytes(
        camt(
            [
                {"amount": "10.00", "reference": order.payment_reference},
                {"amount": "77.00", "text": "onbekend", "name": "X"},
            ]
        )
    )
    call_command("import_bank_statement", str(path))
    out = capsys.readouterr().out
    assert "matched" in out and order.number in out
    assert "left" in out and "onbekend" in out
    assert "1 matched, 1 left for finance" in out
    call_command("import_bank_statement", str(path))
    assert "already imported" in capsys.readouterr().out
    assert BankStatementLine.objects.count() == 2


def test_refund_debits_are_recognised_by_their_end_to_end_id(channel, shirt):
    from payments.services.refunds import refund_request

    order = place(channel, lines=[{"sku": shirt.sku, "unit_price": "10.00"}], shipping="0.00")
    bank_statement_import(data=camt([{"amount": "12.00", "reference": order.payment_reference}]), filename="a.xml")
    proposal = Refund.objects.get(order=order, status=RefundStatus.PROPOSED)
    # a debit naming a proposal that was never sent is not ours
    early = camt([{"amount": "-2.00", "end_to_end_id": f"REFUND-{proposal.pk}"}], statement_id="S2")
    bank_statement_import(data=early, filename="b.xml")
    assert BankStatementLine.objects.get(statement_id="S2").status == BankLineStatus.NOT_APPLICABLE
    # once the SEPA refund is sent, its debit is recognised
    refund = refund_request(payment_id=proposal.payment_id, amount=D("2.00"), reason="overpayment", actor=None)
    assert refund.method == "sepa" and refund.iban == "NL02ABNA0123456789"
    statement = camt([{"amount": "-2.00", "end_to_end_id": refund.end_to_end_id}], statement_id="S3")
    bank_statement_import(data=statement, filename="c.xml")
    assert BankStatementLine.objects.get(statement_id="S3").status == BankLineStatus.REFUND
    assert PaymentEvent.objects.filter(kind=PaymentEventKind.RECEIVED).count() == 1
