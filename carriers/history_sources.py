"""Rows of this app that concern a customer, for the customer's history (the helpdesk
timeline): the watch-list issues of their parcels, opened and resolved."""

from carriers.models import TrackingIssue
from customers.selectors import customer_history_source


@customer_history_source("carriers.trackingissue")
def _tracking_issues(customer_id: int):
    return TrackingIssue.history.filter(shipment__fulfilment__order__customer_id=customer_id)
