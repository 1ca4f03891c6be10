from collections.abc import Callable

from django.db.models import QuerySet

from core.audit import HistoryEntry, history_entries
from core.exceptions import NotFound
from customers.models import Address, Customer


def customer_list(*, channel_id: int | None = None) -> QuerySet[Customer]:
    """Customers, limited to one sales channel when a channel asks."""
    qs = Customer.objects.select_related("channel")
    if channel_id is not None:
        qs = qs.filter(channel_id=channel_id)
    return qs


def access_customer(*, customer_id: int, channel_id: int | None = None) -> Customer:
    """One customer as the caller may see it; another channel's customer is not found."""
    customer = customer_list(channel_id=channel_id).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("Customer not found.")
    return customer


# --- the customer's audit trail (the helpdesk timeline reads it) -------------------------

CustomerHistorySource = Callable[[int], QuerySet]
_HISTORY_SOURCES: dict[str, CustomerHistorySource] = {}


def customer_history_source(name: str):
    """Register a function `customer_id -> historical rows` whose rows concern a customer.
    Apps put theirs in `<app>/history_sources.py` (loaded at start-up):

        @customer_history_source("orders.order")
        def _orders(customer_id):
            return Order.history.filter(customer_id=customer_id)
    """

    def register(source: CustomerHistorySource) -> CustomerHistorySource:
        _HISTORY_SOURCES[name] = source
        return source

    return register


def customer_history_sources() -> dict[str, CustomerHistorySource]:
    return dict(_HISTORY_SOURCES)


@customer_history_source("customers.customer")
def _customer_rows(customer_id: int) -> QuerySet:
    return Customer.history.filter(id=customer_id)


@customer_history_source("customers.address")
def _address_rows(customer_id: int) -> QuerySet:
    return Address.history.filter(customer_id=customer_id)


def customer_history(*, customer_id: int, limit: int | None = 200) -> list[HistoryEntry]:
    """Every recorded change that concerns one customer (their details, block, address
    book, and whatever other apps registered), newest first, each with who did it and
    the before/after of each field."""
    return history_entries(*(source(customer_id) for source in _HISTORY_SOURCES.values()), limit=limit)
