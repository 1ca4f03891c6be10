from core.exceptions import ApplicationError, Conflict, NotFound


class OrderNotFound(NotFound):
    code = "order_not_found"


class IdempotencyConflict(Conflict):
    """The same external reference was posted before with a different body."""

    code = "idempotency_conflict"


class OrderInvalid(ApplicationError):
    code = "invalid"


class UnknownSku(OrderInvalid):
    code = "unknown_sku"


class ShipmentInvalid(ApplicationError):
    code = "invalid_shipment"


class NotCleared(Conflict):
    """The money is not confirmed: nothing ships."""

    code = "not_cleared"


class OrderOnHold(Conflict):
    code = "on_hold"
