"""The payments rows that concern a customer, for the customer's history (helpdesk
timeline, customer page): payments, refunds, invoices and credit notes."""

from customers.selectors import customer_history_source
from payments.models import CreditNote, Invoice, Payment, Refund


@customer_history_source("payments.payment")
def _payments(customer_id: int):
    return Payment.history.filter(order__customer_id=customer_id)


@customer_history_source("payments.refund")
def _refunds(customer_id: int):
    return Refund.history.filter(order__customer_id=customer_id)


@customer_history_source("payments.invoice")
def _invoices(customer_id: int):
    return Invoice.history.filter(customer_id=customer_id)


@customer_history_source("payments.creditnote")
def _credit_notes(customer_id: int):
    return CreditNote.history.filter(customer_id=customer_id)
