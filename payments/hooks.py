"""What the payments app does at the orders app's hook points (registered in
PaymentsConfig.ready(); orders never imports payments)."""

from core.audit import audited
from orders.states import PaymentMethod


def on_order_created(*, order, payload: dict, actor=None) -> None:
    from payments.services.payments import payment_create_for_order

    payment_create_for_order(order=order, payload=payload, actor=actor)


def on_shipment(*, shipment, order, actor=None) -> None:
    from payments.services.invoicing import invoice_for_shipment

    invoice_for_shipment(shipment=shipment, order=order, actor=actor)


def on_order_cancelled(*, order, actor=None) -> None:
    """A cancelled order owes nothing: what was paid becomes a refund proposal."""
    from payments.services.payments import order_payments_settle

    with audited(actor):
        order_payments_settle(order=order, actor=actor, source="cancelled")


def payment_risk_signals(*, customer, payment_method: str) -> list[str]:
    """orders.services.fraud.PAYMENT_RISK_CHECKS: pay later by a customer with overdue
    invoices, or who paid before from a blocked account. Only pay-later orders are
    checked, so other orders cost no query."""
    if payment_method != PaymentMethod.PAY_LATER or not customer.pk:
        return []
    from django.utils import timezone

    from orders.models import FraudBlock
    from payments.models import BankMatch, Invoice
    from payments.selectors.ledger import customer_ledger

    signals = []
    # the full ledger only for a customer with an invoice past its due date (one query otherwise)
    overdue_invoice = Invoice.objects.filter(customer_id=customer.pk, due_date__lt=timezone.localdate()).exists()
    if overdue_invoice and customer_ledger(customer_id=customer.pk).overdue_amount > 0:
        signals.append("pay_later_overdue_invoices")
    accounts = BankMatch.objects.filter(order__customer_id=customer.pk).values("line__counterparty_iban")
    if FraudBlock.objects.filter(kind=FraudBlock.Kind.IBAN, value__in=accounts).exists():
        signals.append("pay_later_blocked_iban")
    return signals
