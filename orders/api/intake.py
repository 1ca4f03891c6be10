"""Re-processing a stored order post (staff, from the order inbox): the same shape
check and service as the API."""

import json

from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError, ValidationError

from core.api.errors import errors_of
from core.audit import acting_as
from core.exceptions import ApplicationError, Conflict
from orders.api.serializers import OrderInputSerializer
from orders.models import OrderInbox
from orders.services.intake import order_inbox_record, order_intake


def order_inbox_reprocess(*, inbox_id: int, actor=None) -> OrderInbox:
    """Run a stored post through validation and intake again and record the result.
    Validation and business errors are recorded on the entry (not raised)."""
    with transaction.atomic():
        inbox = OrderInbox.objects.select_for_update().select_related("channel").get(pk=inbox_id)
        if inbox.result in (OrderInbox.Result.CREATED, OrderInbox.Result.DUPLICATE):
            raise Conflict(_("This post already made its order."), code="already_processed")
        inbox.attempts += 1
        inbox.save(update_fields=["attempts"])
    try:
        try:
            data = json.loads(inbox.body)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        serializer = OrderInputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        with acting_as(actor, f"reprocess:{getattr(actor, 'username', 'system')}"):
            order_intake(channel=inbox.channel, payload=serializer.validated_data, actor=actor, inbox=inbox)
    except (ValidationError, ParseError, ApplicationError) as exc:
        conflict = getattr(exc, "http_status", 400) == 409
        return order_inbox_record(
            inbox=inbox,
            result=OrderInbox.Result.CONFLICT if conflict else OrderInbox.Result.REJECTED,
            errors=errors_of(exc),
        )
    return inbox  # order_intake recorded the order (or the repeat) on it
