"""Typed errors of the payments app, each with a stable code (core.exceptions)."""

from django.utils.translation import gettext as _

from core.exceptions import ApplicationError, Conflict, NotFound, ServiceUnavailable


class InvalidPaymentReference(ApplicationError):
    code = "invalid_payment_reference"


# --- bank statements ----------------------------------------------------------------


class StatementParseError(ApplicationError):
    """A bank statement file that cannot be read: broken, truncated, not a statement.

    The message says where: the file name (when known) and the place inside the file
    (`Stmt 1, Ntry 3` for CAMT.053, `line 12 (:61:)` for MT940)."""

    code = "statement_invalid"

    def __init__(
        self, problem: str, *, filename: str | None = None, location: str | None = None, code: str | None = None
    ):
        where = [part for part in (filename, location) if part]
        message = _("%(where)s: %(problem)s") % {"where": ", ".join(where), "problem": problem} if where else problem
        super().__init__(message, code=code, extra={"filename": filename, "location": location, "problem": problem})
        self.problem = problem
        self.filename = filename
        self.location = location


# --- payment providers --------------------------------------------------------------


class ProviderError(ApplicationError):
    """Something about a payment provider call went wrong."""

    code = "provider_error"
    http_status = 502


class ProviderUnavailable(ProviderError, ServiceUnavailable):
    """The provider could not be reached or answered 5xx / 429: try again later."""

    code = "provider_unavailable"
    http_status = 503


class ProviderResponseInvalid(ProviderError):
    """The provider answered something we cannot read."""

    code = "provider_response_invalid"
    http_status = 502


class ProviderRejected(ProviderError):
    """The provider refused the request (4xx): it will not succeed when repeated."""

    code = "provider_rejected"
    http_status = 400


class ProviderNotConfigured(ProviderError):
    code = "provider_not_configured"
    http_status = 503


class UnknownProvider(ProviderError, NotFound):
    code = "unknown_provider"
    http_status = 404


class ProviderPaymentNotFound(ProviderError, NotFound):
    code = "provider_payment_not_found"
    http_status = 404


class InvalidProviderAmount(ProviderRejected):
    code = "invalid_amount"


class RefundExceedsPaid(ProviderRejected):
    code = "refund_exceeds_paid"


class CaptureExceedsAuthorized(ProviderRejected):
    code = "capture_exceeds_authorized"


class ChargebackExceedsPaid(ProviderRejected):
    code = "chargeback_exceeds_paid"


class IdempotencyKeyReused(ProviderError, Conflict):
    """The same idempotency key came with a different request."""

    code = "idempotency_key_reused"
    http_status = 409


class SimulatedPaymentExpired(ProviderError, Conflict):
    code = "payment_expired"
    http_status = 409


class WebhookDeliveryFailed(ServiceUnavailable):
    """The simulator could not deliver a webhook; the task retries."""

    code = "webhook_delivery_failed"


# --- SEPA transfer files ------------------------------------------------------------


class SepaFileError(ApplicationError):
    code = "sepa_invalid"


class InvalidIban(SepaFileError):
    code = "invalid_iban"
