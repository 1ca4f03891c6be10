import re
import uuid

from django.core.exceptions import SuspiciousOperation

from core.logging import request_id_var

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Gives every request an id (the caller's X-Request-ID when it is sane), puts it in
    every log line of that request and returns it in the X-Request-ID header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class NulCharacterMiddleware:
    """A NUL character in the path, the query string or a cookie is a 400 (the API's
    contract error body, Django's 400 page elsewhere). PostgreSQL cannot compare or store
    text with NUL in it, so such a value would otherwise end as a database error, a 500,
    in whatever lookup it reaches (an order number, a filter, the session key)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or _has_nul(request.GET) or any("\x00" in v for v in request.COOKIES.values()):
            raise SuspiciousOperation("NUL character in the path, the query string or a cookie")
        return self.get_response(request)


def _has_nul(query) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in query.lists())


class StaffTwoFactorMiddleware:
    """Before any staff page: a user who needs two-factor authentication
    (core.twofactor.otp_required) and has not passed it in this session is sent to enter
    a code, or to set up an authenticator first. Goes after django-otp's OTPMiddleware.

    The login and logout pages, the two-factor pages themselves, static files, the
    language switch, the health check and the API (its own key authentication) pass."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._exempt: tuple[str, ...] | None = None

    def _exempt_prefixes(self) -> tuple[str, ...]:
        if self._exempt is None:
            from django.conf import settings
            from django.urls import reverse

            self._exempt = (
                reverse("admin:login"),
                reverse("admin:logout"),
                reverse("two_factor:verify"),
                reverse("two_factor:enrol"),
                reverse("set_language"),
                reverse("healthz"),
                "/api/",
                settings.STATIC_URL,
                settings.MEDIA_URL,
            )
        return self._exempt

    def __call__(self, request):
        from core.twofactor import otp_has_device, otp_required

        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(self._exempt_prefixes())
            and otp_required(user)
            and not user.is_verified()
        ):
            from django.shortcuts import redirect
            from django.urls import reverse
            from django.utils.http import urlencode

            target = "two_factor:verify" if otp_has_device(user) else "two_factor:enrol"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
