"""Typed errors of inventory, each with a stable code. The ledger's own errors
(InsufficientStock, InvalidStockChange) are defined with the ledger and exported here."""

from core.exceptions import ApplicationError, Conflict, InvalidTransition, NotFound
from inventory.services.ledger import InsufficientStock, InvalidStockChange

__all__ = [
    "InboundNotReceivable",
    "InsufficientStock",
    "InvalidQuantity",
    "InvalidStockChange",
    "LocationInactive",
    "OverReceipt",
    "ReasonRequired",
    "StorageKindNotHandled",
    "UnknownLocation",
    "UnknownProduct",
    "WriteOffPending",
]


class InvalidQuantity(ApplicationError):
    code = "invalid_quantity"


class ReasonRequired(ApplicationError):
    code = "reason_required"


class StorageKindNotHandled(ApplicationError):
    code = "storage_kind_not_handled"


class LocationInactive(ApplicationError):
    code = "location_inactive"


class UnknownLocation(NotFound):
    code = "unknown_location"


class UnknownProduct(NotFound):
    code = "unknown_sku"


class OverReceipt(ApplicationError):
    code = "over_receipt"


class InboundNotReceivable(InvalidTransition):
    code = "inbound_not_receivable"


class WriteOffPending(Conflict):
    code = "write_off_pending"
