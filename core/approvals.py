"""Four-eyes approvals: a service that needs a second person registers an action here,
asks for approval with `approval_request_create`, and the action runs when another
staff member with the action's permission approves it (`approval_decide`).

    @approval_action("payments.refund", label=_("Refund above the limit"),
                     permission="payments.approve_refund")
    def _refund(payload: dict, *, approval: ApprovalRequest) -> dict:
        refund = refund_create(..., actor=approval.requested_by, approved_by=approval.decided_by)
        return {"refund_id": refund.pk}

Handlers live in each app's `approvals.py` (imported at start-up). A handler runs inside
the approval's own transaction: it either completes with the approval marked executed,
or it fails and changes nothing except the approval being marked failed with the error.
What the handler saves is attributed to the decider, labelled
`approval:<id>:<requester>/<decider>` in the history.

Who may decide is mailed when a request is made; the requester is mailed the outcome.
The admin index shows each user what waits for their decision and their own requests.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.audit import acting_as
from core.exceptions import ApplicationError, Conflict, NotFound, PermissionDenied
from core.models import ApprovalRequest, User
from core.services import outbox_enqueue

logger = logging.getLogger(__name__)
NOTIFY_TASK = "core.approval_notify"


@dataclass(frozen=True)
class ApprovalAction:
    key: str
    label: str
    permission: str
    handler: Callable[..., dict | None]


_ACTIONS: dict[str, ApprovalAction] = {}


class FourEyesViolation(PermissionDenied):
    code = "four_eyes"


def approval_action(key: str, *, label: str, permission: str):
    """Register the handler that carries out an approved action."""

    def register(handler: Callable[..., dict | None]):
        _ACTIONS[key] = ApprovalAction(key=key, label=label, permission=permission, handler=handler)
        return handler

    return register


def approval_actions() -> dict[str, ApprovalAction]:
    return dict(_ACTIONS)


def get_action(key: str) -> ApprovalAction:
    try:
        return _ACTIONS[key]
    except KeyError:
        raise ApplicationError(_("Unknown approval action %(key)s.") % {"key": key}, code="unknown_action") from None


def approval_qs_for_update():
    return ApprovalRequest.objects.select_for_update(of=("self",))


def can_decide(*, approval: ApprovalRequest, user: User) -> bool:
    action = _ACTIONS.get(approval.action)
    return (
        action is not None
        and approval.status == ApprovalRequest.Status.PENDING
        and user.is_active
        and user.pk != approval.requested_by_id
        and user.has_perm(action.permission)
    )


def approval_request_create(
    *,
    action: str,
    payload: dict,
    requested_by: User,
    summary: str,
    reason: str = "",
    subject: models.Model | None = None,
    amount=None,
) -> ApprovalRequest:
    """Ask a second person to approve `action`. One pending request per action and
    subject: asking again returns the pending one."""
    get_action(action)
    if requested_by is None or not requested_by.is_active:
        raise PermissionDenied(_("Only an active staff member can ask for an approval."))
    subject_type = ContentType.objects.get_for_model(subject) if subject is not None else None
    subject_id = str(subject.pk) if subject is not None else ""
    try:
        # A unique constraint carries "one pending request per action and subject".
        with transaction.atomic():
            approval = ApprovalRequest.objects.create(
                action=action,
                payload=payload,
                requested_by=requested_by,
                summary=summary[:255],
                reason=reason,
                subject_type=subject_type,
                subject_id=subject_id,
                amount=amount,
            )
            outbox_enqueue(NOTIFY_TASK, approval_id=approval.pk, event="requested")
            return approval
    except IntegrityError:
        return ApprovalRequest.objects.get(
            action=action, subject_type=subject_type, subject_id=subject_id, status=ApprovalRequest.Status.PENDING
        )


def approval_decide(*, approval_id: int, decided_by: User, approve: bool, note: str = "") -> ApprovalRequest:
    """Record the decision; when approved, run the action in its own transaction."""
    with transaction.atomic():
        approval = approval_qs_for_update().filter(pk=approval_id).first()
        if approval is None:
            raise NotFound(_("Approval request not found."))
        if approval.status != ApprovalRequest.Status.PENDING:
            raise Conflict(
                _("This request was already decided (%(status)s).") % {"status": approval.get_status_display()},
                code="already_decided",
            )
        if decided_by.pk == approval.requested_by_id:
            raise FourEyesViolation(_("You cannot decide on your own request: a second person must."))
        action = get_action(approval.action)
        if not decided_by.is_active or not decided_by.has_perm(action.permission):
            raise PermissionDenied(_("You may not decide on this kind of request."))
        approval.status = ApprovalRequest.Status.APPROVED if approve else ApprovalRequest.Status.REJECTED
        approval.decided_by = decided_by
        approval.decided_at = timezone.now()
        approval.decision_note = note
        approval.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    if approve:
        approval = approval_execute(approval_id=approval.pk)
    with transaction.atomic():
        outbox_enqueue(NOTIFY_TASK, approval_id=approval.pk, event="decided")
    return approval


def _execution_label(approval: ApprovalRequest) -> str:
    return f"approval:{approval.pk}:{approval.requested_by.username}/{approval.decided_by.username}"


def approval_execute(*, approval_id: int) -> ApprovalRequest:
    """Run an approved action exactly once. A failure rolls the action back and leaves
    the request marked failed, with the error, for staff to see. An unexpected error is
    logged with its traceback and marks the request failed too, so nothing waits
    half-decided; a request stays approved-not-run only when even that write fails
    (the database is gone), and can then be carried out again."""
    try:
        with transaction.atomic():
            approval = approval_qs_for_update().select_related("requested_by", "decided_by").get(pk=approval_id)
            if approval.status != ApprovalRequest.Status.APPROVED:
                return approval  # already run (or not approved): never twice
            action = get_action(approval.action)
            with acting_as(approval.decided_by, _execution_label(approval)):
                result = action.handler(approval.payload, approval=approval) or {}
            approval.status = ApprovalRequest.Status.EXECUTED
            approval.executed_at = timezone.now()
            approval.result = result
            approval.save(update_fields=["status", "executed_at", "result"])
            return approval
    except ApplicationError as exc:
        return _mark_failed(approval_id, str(exc))
    except Exception as exc:  # a broken handler must not leave the request hanging (logged below)
        logger.exception("approval action failed", extra={"approval_id": approval_id})
        return _mark_failed(
            approval_id,
            _("Unexpected error (%(error)s); the technical details are logged.") % {"error": type(exc).__name__},
        )


def _mark_failed(approval_id: int, error: str) -> ApprovalRequest:
    with transaction.atomic():
        approval = approval_qs_for_update().get(pk=approval_id)
        if approval.status == ApprovalRequest.Status.APPROVED:
            approval.status = ApprovalRequest.Status.FAILED
            approval.error = error
            approval.save(update_fields=["status", "error"])
        return approval


@transaction.atomic
def approval_withdraw(*, approval_id: int, actor: User) -> ApprovalRequest:
    approval = approval_qs_for_update().get(pk=approval_id)
    if approval.status != ApprovalRequest.Status.PENDING:
        raise Conflict(_("Only a pending request can be withdrawn."), code="already_decided")
    if actor.pk != approval.requested_by_id:
        raise PermissionDenied(_("Only the requester can withdraw a request."))
    approval.status = ApprovalRequest.Status.WITHDRAWN
    approval.decided_at = timezone.now()
    approval.save(update_fields=["status", "decided_at"])
    return approval


def can_carry_out(*, approval: ApprovalRequest, user: User) -> bool:
    """An approved request that did not run (the database went away mid-way) may be
    carried out again by anyone who could have decided it."""
    action = _ACTIONS.get(approval.action)
    return (
        action is not None
        and approval.status == ApprovalRequest.Status.APPROVED
        and user.is_active
        and user.pk != approval.requested_by_id
        and user.has_perm(action.permission)
    )


def approval_carry_out(*, approval_id: int, actor: User) -> ApprovalRequest:
    approval = ApprovalRequest.objects.filter(pk=approval_id).first()
    if approval is None:
        raise NotFound(_("Approval request not found."))
    if not can_carry_out(approval=approval, user=actor):
        raise PermissionDenied(_("You may not carry out this request."))
    return approval_execute(approval_id=approval.pk)


# --- selectors ------------------------------------------------------------------------


def decidable_actions(user: User) -> list[str]:
    """The action keys `user` holds the permission for."""
    if not user.is_active:
        return []
    return [key for key, action in _ACTIONS.items() if user.has_perm(action.permission)]


def approval_visible_to(*, user: User, qs: QuerySet | None = None) -> QuerySet[ApprovalRequest]:
    """What a staff member sees of the approvals: everything with the view permission,
    otherwise the kinds they may decide and their own requests."""
    qs = ApprovalRequest.objects.all() if qs is None else qs
    if user.is_superuser or user.has_perm("core.view_approvalrequest"):
        return qs
    return qs.filter(Q(action__in=decidable_actions(user)) | Q(requested_by=user))


def approval_waiting_for(*, user: User, qs: QuerySet | None = None) -> QuerySet[ApprovalRequest]:
    """Pending requests that `user` may decide (never their own)."""
    qs = ApprovalRequest.objects.all() if qs is None else qs
    return qs.filter(status=ApprovalRequest.Status.PENDING, action__in=decidable_actions(user)).exclude(
        requested_by=user
    )


def approval_requested_by(*, user: User, qs: QuerySet | None = None) -> QuerySet[ApprovalRequest]:
    qs = ApprovalRequest.objects.all() if qs is None else qs
    return qs.filter(requested_by=user)


def approval_pending_for(subject: models.Model) -> list[ApprovalRequest]:
    return list(
        ApprovalRequest.objects.filter(
            subject_type=ContentType.objects.get_for_model(subject),
            subject_id=str(subject.pk),
            status=ApprovalRequest.Status.PENDING,
        )
    )


# --- notifications ------------------------------------------------------------------------


def _deciders(approval: ApprovalRequest, action: ApprovalAction) -> list[User]:
    app_label, codename = action.permission.split(".", 1)
    users = (
        User.objects.filter(is_active=True, is_staff=True)
        .filter(
            Q(user_permissions__codename=codename, user_permissions__content_type__app_label=app_label)
            | Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label)
        )
        .exclude(pk=approval.requested_by_id)
        .exclude(email="")
        .distinct()
    )
    found = list(users)
    if not found:  # nobody holds the permission: the superusers must hear of it
        found = list(
            User.objects.filter(is_active=True, is_superuser=True)
            .exclude(pk=approval.requested_by_id)
            .exclude(email="")
        )
    return found


def approval_notify(*, approval_id: int, event: str) -> int:
    """Mail who may decide (event "requested") or the requester (event "decided").
    Sends each mail once, even when the task runs twice. Returns the mails sent."""
    sent_key = f"approval-notify:{approval_id}:{event}"
    if not cache.add(sent_key, 1, timeout=7 * 24 * 3600):
        return 0
    try:
        return _notify(approval_id=approval_id, event=event)
    except Exception:
        cache.delete(sent_key)  # not sent: a retry may try again
        raise


def _notify(*, approval_id: int, event: str) -> int:
    approval = ApprovalRequest.objects.select_related("requested_by", "decided_by").filter(pk=approval_id).first()
    if approval is None:
        return 0
    action = _ACTIONS.get(approval.action)
    url = settings.SITE_URL.rstrip("/") + reverse("admin:core_approvalrequest_change", args=[approval.pk])
    with translation.override(settings.LANGUAGE_CODE):
        if event == "requested":
            if approval.status != ApprovalRequest.Status.PENDING or action is None:
                return 0
            recipients = [user.email for user in _deciders(approval, action)]
            subject = _("Approval needed: %(summary)s") % {"summary": approval.summary}
            body = _(
                "%(requester)s asks for a second person's approval.\n\n%(summary)s\nReason: %(reason)s\n\n"
                "Decide here: %(url)s"
            ) % {"requester": approval.requested_by, "summary": approval.summary, "reason": approval.reason, "url": url}
        elif event == "decided":
            if not approval.requested_by.email:
                return 0
            recipients = [approval.requested_by.email]
            subject = _("Your request: %(summary)s — %(status)s") % {
                "summary": approval.summary,
                "status": approval.get_status_display(),
            }
            body = _("%(decider)s decided: %(status)s.\n%(note)s\n%(error)s\n\nDetails: %(url)s") % {
                "decider": approval.decided_by or "-",
                "status": approval.get_status_display(),
                "note": approval.decision_note,
                "error": approval.error,
                "url": url,
            }
        else:
            raise ValueError(f"unknown approval event {event!r}")
    if not recipients:
        return 0
    send_mail(subject[:200], body, None, recipients, fail_silently=False)
    return len(recipients)
