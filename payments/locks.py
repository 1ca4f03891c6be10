"""Row locks, in the project's one order: order → order lines → fulfilments → stock →
payment (→ refund → credit account → bank line → document counter)."""

from django.db.models import QuerySet

from payments.models import (
    BankStatementLine,
    CreditAccount,
    Payment,
    Refund,
    SepaBatch,
    SimulatedProviderPayment,
)


def simulated_payment_qs_for_update() -> QuerySet[SimulatedProviderPayment]:
    return SimulatedProviderPayment.objects.select_for_update(of=("self",)).order_by("pk")


def payment_qs_for_update() -> QuerySet[Payment]:
    return Payment.objects.select_for_update(of=("self",)).order_by("pk")


def refund_qs_for_update() -> QuerySet[Refund]:
    return Refund.objects.select_for_update(of=("self",)).order_by("pk")


def credit_account_qs_for_update() -> QuerySet[CreditAccount]:
    return CreditAccount.objects.select_for_update(of=("self",)).order_by("pk")


def bank_line_qs_for_update() -> QuerySet[BankStatementLine]:
    return BankStatementLine.objects.select_for_update(of=("self",)).order_by("pk")


def sepa_batch_qs_for_update() -> QuerySet[SepaBatch]:
    return SepaBatch.objects.select_for_update(of=("self",)).order_by("pk")
