"""Typed errors of the carrier adapters, each with a stable code.

The poller decides from the type what to do:
- `CarrierRateLimited`: the carrier said "too many requests"; wait `retry_after_seconds`.
- `CarrierUnavailable`: timeouts, connection errors, 5xx, unreadable answers; retry later
  with backoff. Only this carrier waits; the others carry on.
- `CarrierAuthError`: 401/403 or missing credentials; retrying will not help until someone
  fixes the configuration.
- `CarrierError` itself: the carrier refused the request (4xx) or the call is not supported.
"""

from django.utils.translation import gettext

from core.exceptions import ApplicationError, ServiceUnavailable


class CarrierError(ApplicationError):
    code = "carrier_error"
    http_status = 502

    def __init__(self, message: str, *, carrier: str = "", code: str | None = None, extra=None):
        super().__init__(message, code=code, extra={"carrier": carrier, **(extra or {})})
        self.carrier = carrier


class CarrierUnavailable(CarrierError, ServiceUnavailable):
    code = "carrier_unavailable"
    http_status = 503


class CarrierRateLimited(CarrierError):
    code = "carrier_rate_limited"
    http_status = 503

    def __init__(self, message: str = "", *, carrier: str = "", retry_after_seconds: int = 60, extra=None):
        retry_after_seconds = max(1, int(retry_after_seconds))
        super().__init__(
            message
            or gettext("The carrier %(carrier)s is rate limiting us; try again in %(seconds)s seconds.")
            % {"carrier": carrier, "seconds": retry_after_seconds},
            carrier=carrier,
            extra={"retry_after_seconds": retry_after_seconds, **(extra or {})},
        )
        self.retry_after_seconds = retry_after_seconds


class CarrierAuthError(CarrierError):
    code = "carrier_auth_failed"
    http_status = 502


class CarrierNotConfigured(CarrierAuthError):
    code = "carrier_not_configured"


class UnknownCarrier(CarrierError):
    code = "unknown_carrier"
    http_status = 400
