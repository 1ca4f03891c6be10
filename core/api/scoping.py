"""Data scoping for API clients: a channel key sees only its channel's data, a location
key only its location's work; staff keys see what their permissions allow."""

from core.api.authentication import ApiClient


def client_of(request) -> ApiClient | None:
    user = getattr(request, "user", None)
    return user if isinstance(user, ApiClient) else None


def channel_scope(request) -> int | None:
    """The channel id to limit a query to, or None for staff (who see every channel)."""
    client = client_of(request)
    return client.channel.pk if client is not None and client.is_channel else None


def location_scope(request) -> int | None:
    client = client_of(request)
    return client.location.pk if client is not None and client.is_location else None


def api_actor(request):
    """(actor, context): the staff user behind a staff key (None for channel and
    location keys) and an `acting_as` block that labels every history row and ledger
    movement written during the request with the client (`channel:webshop-nl`)."""
    from core.audit import acting_as

    client = client_of(request)
    user = client.user if client is not None and client.is_staff else None
    return user, acting_as(user, str(client) if client is not None else "")
