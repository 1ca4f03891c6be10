"""`Authorization: Token <key>` for the three kinds of API client."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from core.models import ApiKey
from core.selectors import api_key_authenticate


@dataclass(frozen=True)
class ApiClient:
    """Who is calling: the principal behind an API key (request.user in API views)."""

    key: ApiKey

    is_authenticated = True
    is_anonymous = False

    @property
    def kind(self) -> str:
        return self.key.kind

    @property
    def channel(self):
        return self.key.channel

    @property
    def location(self):
        return self.key.location

    @property
    def user(self):
        return self.key.user

    @property
    def is_channel(self) -> bool:
        return self.key.kind == ApiKey.Kind.CHANNEL

    @property
    def is_location(self) -> bool:
        return self.key.kind == ApiKey.Kind.LOCATION

    @property
    def is_staff(self) -> bool:
        return self.key.kind == ApiKey.Kind.STAFF

    @property
    def pk(self) -> int:
        return self.key.pk

    def has_perm(self, perm: str) -> bool:
        return self.is_staff and self.key.user.is_active and self.key.user.has_perm(perm)

    def __str__(self) -> str:
        if self.is_channel:
            return f"channel:{self.key.channel.code}"
        if self.is_location:
            return f"location:{self.key.location.code}"
        return f"staff:{self.key.user.username}"


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: use 'Token <key>'."))
        try:
            raw_key = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid API key.")) from exc
        api_key = api_key_authenticate(raw_key=raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        return ApiClient(key=api_key), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` — a key for a sales channel, a location or a staff user "
            "(`manage.py create_api_token`).",
        }
