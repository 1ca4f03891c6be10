import datetime

from django import template
from django.urls import reverse
from django.utils import timezone

from core.approvals import approval_requested_by, approval_waiting_for
from core.models import ApprovalRequest

register = template.Library()

RECENT_DAYS = 7


@register.inclusion_tag("admin/core/approvals_panel.html", takes_context=True)
def approvals_panel(context):
    """On the admin index: what waits for the user's decision, and their own requests."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    pending = ApprovalRequest.Status.PENDING
    since = timezone.now() - datetime.timedelta(days=RECENT_DAYS)
    waiting = approval_waiting_for(user=user).count()
    mine = approval_requested_by(user=user)
    mine_pending = mine.filter(status=pending).count()
    mine_decided = mine.exclude(status=pending).filter(decided_at__gte=since).count()
    url = reverse("admin:core_approvalrequest_changelist")
    return {
        "show": bool(waiting or mine_pending or mine_decided),
        "waiting": waiting,
        "waiting_url": f"{url}?queue=decide",
        "mine_pending": mine_pending,
        "mine_pending_url": f"{url}?queue=mine&status__exact={pending}",
        "mine_decided": mine_decided,
        "mine_decided_url": f"{url}?queue=mine&decided_at__gte={since.date().isoformat()}",
        "days": RECENT_DAYS,
    }
