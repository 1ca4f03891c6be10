"""Typed errors of the catalog, each with a stable code."""

from core.exceptions import ApplicationError, NotFound


class InvalidPrice(ApplicationError):
    code = "invalid_price"


class PriceOverlap(ApplicationError):
    code = "price_overlap"


class PriceNotWithdrawable(ApplicationError):
    code = "price_in_effect"


class UnknownProduct(NotFound):
    code = "unknown_sku"


class UnknownChannel(ApplicationError):
    code = "unknown_channel"
