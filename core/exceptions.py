"""Typed application errors with a stable code.

Services raise these; the API turns them into the contract's error body, screens into
form errors and admin actions into error messages.
"""

from typing import Any


class ApplicationError(Exception):
    code = "invalid"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, attr: str | None = None, extra: Any = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.attr = attr
        self.extra = extra or {}

    def __str__(self) -> str:
        return self.message


class NotFound(ApplicationError):
    code = "not_found"
    http_status = 404


class Conflict(ApplicationError):
    code = "conflict"
    http_status = 409


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    http_status = 403


class InvalidTransition(Conflict):
    code = "invalid_transition"


class ServiceUnavailable(ApplicationError):
    """An outside service (carrier, provider, bank) failed; the caller may retry."""

    code = "service_unavailable"
    http_status = 503
