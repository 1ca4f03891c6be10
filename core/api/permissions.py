"""Which kind of API client may call an operation. Data scoping (a channel sees only its
own orders) is done by the selectors, which answer 'not found' for what is not yours."""

from rest_framework.permissions import BasePermission

from core.api.scoping import client_of as _client


class IsApiClient(BasePermission):
    message = "Authentication with an API key is required."

    def has_permission(self, request, view) -> bool:
        return _client(request) is not None


class ClientKindPermission(BasePermission):
    """Allow channel keys, location keys, and staff keys holding `staff_perm`.

    Views declare `api_clients = {"channel", "location", "staff"}` and, for staff keys,
    `staff_permission = "orders.view_order"` (or a dict per HTTP method, or True for
    any active staff user)."""

    message = "This API key may not use this operation."

    def has_permission(self, request, view) -> bool:
        client = _client(request)
        if client is None:
            return False
        allowed = getattr(view, "api_clients", set())
        if client.kind not in allowed:
            return False
        if client.is_staff:
            perm = getattr(view, "staff_permission", None)
            if isinstance(perm, dict):
                perm = perm.get(request.method, perm.get("*"))
            if perm is True:  # any active staff user
                return client.user.is_active
            if not perm:
                return False
            return client.has_perm(perm)
        return True
