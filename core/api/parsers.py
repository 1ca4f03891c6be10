from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class RequestTooLarge(ParseError):
    """A body above DATA_UPLOAD_MAX_MEMORY_SIZE: refused before it is read or parsed."""

    default_code = "request_too_large"

    def __init__(self):
        super().__init__(
            _("The request body is larger than %(max)d bytes.") % {"max": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
        )


class SafeJSONParser(JSONParser):
    """JSON that is too deeply nested is a 400 like any other malformed body, not a
    crash of the decoder; a body above DATA_UPLOAD_MAX_MEMORY_SIZE is a 400 before it is
    read (Django checks that size only where `request.body` is used)."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        if request is not None and _content_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise RequestTooLarge()
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
