"""The contract's error body for every 4xx:

    {"type": "validation_error" | "client_error",
     "errors": [{"code": str, "detail": str, "attr": str | null}]}

`attr` is the dotted path of the bad field (`lines.0.sku`), null for errors that concern
the whole request. Application errors raised by services are translated here, so views
never catch them one by one.

A database that cannot be reached or drops the connection (a restart, a fail-over) or
that gives up on a transaction (deadlock, serialisation failure) is a retryable
`503` with `Retry-After`, not a 500: the transaction was rolled back, nothing was
half-written, and a client that retries the same request (orders are idempotent on
their external reference) gets the answer it should have had
(docs/reliability.md; tests/reliability/test_fault_database.py).
"""

import re
import sys

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from drf_standardized_errors.formatter import ExceptionFormatter
from drf_standardized_errors.handler import ExceptionHandler
from rest_framework import exceptions, status
from rest_framework.settings import api_settings

from core.api.parsers import RequestTooLarge
from core.exceptions import ApplicationError


class ApplicationAPIException(exceptions.APIException):
    def __init__(self, error: ApplicationError):
        self.status_code = error.http_status
        super().__init__(detail=error.message, code=error.code)


# Seconds a client is asked to wait before retrying when the database is unavailable.
DATABASE_RETRY_AFTER_SECONDS = 2
DATABASE_ERRORS = (OperationalError, InterfaceError)


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is not available at the moment; nothing was stored. Retry the request."
    default_code = "database_unavailable"

    def __init__(self):
        super().__init__()
        self.wait = DATABASE_RETRY_AFTER_SECONDS  # sent as Retry-After


class ContractExceptionHandler(ExceptionHandler):
    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, DATABASE_ERRORS):
            return DatabaseUnavailable()
        if isinstance(exc, RequestDataTooBig):
            return RequestTooLarge()
        if isinstance(exc, SuspiciousOperation):  # too many fields, a bad header, …: a 400 as Django gives it
            return exceptions.ParseError(_("Bad request."), code="bad_request")
        if isinstance(exc, ApplicationError):
            if exc.http_status == status.HTTP_400_BAD_REQUEST:
                detail = exceptions.ErrorDetail(exc.message, code=exc.code)
                if exc.attr:
                    return exceptions.ValidationError({exc.attr: [detail]})
                return exceptions.ValidationError([detail])
            return ApplicationAPIException(exc)
        return super().convert_known_exceptions(exc)


class ContractExceptionFormatter(ExceptionFormatter):
    def format_error_response(self, error_response):
        data = super().format_error_response(error_response)
        if isinstance(self.original_exc, ApplicationError) and self.original_exc.attr and len(data["errors"]) == 1:
            data["errors"][0]["attr"] = self.original_exc.attr  # a conflict may name its field too
        for error in data["errors"]:
            error["attr"] = _printable(normalise_attr(error["attr"]))
            error["detail"] = _printable(error["detail"])
        return data


_SURROGATE = re.compile("[\ud800-\udfff]")


def _printable(text):
    """An error may quote the input back (`"p\\udc00os" is not a valid choice`); a lone
    surrogate cannot be encoded as UTF-8 and becomes U+FFFD, so the answer is still sent."""
    return _SURROGATE.sub("\ufffd", text) if isinstance(text, str) else text


def normalise_attr(attr: str | None) -> str | None:
    """Errors about the request (or a nested object) as a whole name that object, or
    null for the request itself — not DRF's made-up `non_field_errors` key."""
    key = api_settings.NON_FIELD_ERRORS_KEY
    if attr in (key, ""):
        return None
    if attr and attr.endswith(f".{key}"):
        return attr[: -len(key) - 1]
    return attr


def error_body(*, code: str, detail: str, attr: str | None = None, type_: str = "client_error") -> dict:
    return {"type": type_, "errors": [{"code": code, "detail": detail, "attr": attr}]}


def _json_error(status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(error_body(code=code, detail=detail), status=status_code)


def api_not_found(request, exception=None):
    return _json_error(404, "not_found", _("Not found."))


def api_server_error(request):
    # Django calls the 500 handler while the exception is being handled: a database
    # error that escaped a view (or a middleware) is retryable, like in the DRF handler.
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        response = JsonResponse(
            {
                "type": "server_error",
                "errors": [
                    {
                        "code": DatabaseUnavailable.default_code,
                        "detail": DatabaseUnavailable.default_detail,
                        "attr": None,
                    }
                ],
            },
            status=503,
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    return JsonResponse(
        {"type": "server_error", "errors": [{"code": "error", "detail": _("Server error."), "attr": None}]},
        status=500,
    )


def api_bad_request(request, exception=None):
    return _json_error(400, "bad_request", _("Bad request."))


def api_permission_denied(request, exception=None):
    return _json_error(403, "permission_denied", _("You do not have permission to perform this action."))


def errors_of(exc: Exception) -> list[dict]:
    """The contract's error list for an exception, to store beside a rejected request
    (the order inbox) exactly as the client was answered."""
    from drf_standardized_errors.formatter import flatten_errors

    if isinstance(exc, ApplicationError):
        return [{"code": exc.code, "detail": exc.message, "attr": exc.attr}]
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail if isinstance(exc.detail, (list, dict)) else [exc.detail]
        return [{"code": e.code, "detail": e.detail, "attr": normalise_attr(e.attr)} for e in flatten_errors(detail)]
    return [{"code": "error", "detail": f"{exc.__class__.__name__}: {exc}", "attr": None}]
