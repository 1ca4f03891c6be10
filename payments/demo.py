"""Demo payments: a bank statement that pays the demo orders paid by bank transfer (most
in full, one in part, one by its order number in the text) with two lines left for the
finance queue (one with a suggestion), and the credit check of the pay-later orders.
Made through the same services as real ones; running it again changes nothing (the
statement is the same file, imported once)."""

import datetime
from decimal import Decimal

from django.utils import timezone

from core.audit import acting_as
from core.models import User
from orders.models import Order
from payments.models import BankStatementImport, Payment
from payments.services.payments import payment_start
from payments.services.statements import bank_statement_import
from payments.statements.writer import StatementEntry, camt053_document
from payments.states import PaymentKind, PaymentStatus

FILENAME = "demo-bankafschrift.camt053.xml"


def seed_payments(ctx) -> None:
    started = 0
    for payment_id in Payment.objects.filter(
        kind=PaymentKind.INITIAL,
        method="pay_later",
        status=PaymentStatus.OPEN,
        order__external_reference__startswith="DEMO-",
    ).values_list("pk", flat=True):
        with acting_as(label="demo"):
            payment_start(payment_id=payment_id)
        started += 1
    if BankStatementImport.objects.filter(filename=FILENAME).exists():
        ctx.report.append(f"demo payments: statement imported before; {started} pay-later checks")
        return
    waiting = list(
        Order.objects.filter(
            external_reference__startswith="DEMO-",
            payment_method="bank_transfer",
            cleared_at__isnull=True,
            cancelled_at__isnull=True,
        ).order_by("pk")
    )
    if not waiting:
        ctx.report.append("demo payments: no orders waiting for a bank transfer")
        return
    today = timezone.localdate()
    entries = []
    for index, order in enumerate(waiting):
        name = f"{order.first_name[:1]}. {order.last_name}".strip(". ") or "Klant"
        if index == 1:  # paid in part: payment_mismatch, a payment link for the rest
            entries.append(
                StatementEntry(
                    amount=order.total_amount - Decimal("10.00"), reference=order.payment_reference, name=name
                )
            )
        elif index == 2:  # only the order number in the text
            entries.append(
                StatementEntry(amount=order.total_amount, text=f"betaling bestelling {order.number}", name=name)
            )
        elif index == 3:  # no reference at all: a suggestion by amount and name
            entries.append(StatementEntry(amount=order.total_amount, text="bestelling webshop", name=name.upper()))
        else:
            entries.append(StatementEntry(amount=order.total_amount, reference=order.payment_reference, name=name))
    entries.append(
        StatementEntry(amount=Decimal("17.50"), text="terugbetaling leverancier 2026-11", name="Leverancier B.V.")
    )
    entries.append(StatementEntry(amount=Decimal("-12.95"), text="kosten zakelijke rekening", name="Bank"))
    data = camt053_document(
        entries,
        statement_id=f"DEMO-{today:%Y%m%d}",
        default_date=today - datetime.timedelta(days=1),
    )
    finance = User.objects.filter(username="finance").first()
    with acting_as(finance, "demo"):
        result = bank_statement_import(data=data, filename=FILENAME, actor=finance)
    ctx.report.append(
        f"demo payments: statement with {len(entries)} entries, {len(result.matched)} matched, "
        f"{len(result.left)} in the finance queue; {started} pay-later checks"
    )
