"""Writes for customers: blocks (unblocking needs a second person), the customer's own
details and the address book. Every write leaves a history row naming the actor."""

import dataclasses

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.approvals import approval_request_create
from core.audit import audited
from core.exceptions import ApplicationError, Conflict, PermissionDenied
from core.models import ApprovalRequest, User
from customers.addresses import address_normalise
from customers.models import Address, Customer

BLOCK_PERMISSION = "customers.block_customer"
UNBLOCK_ACTION = "customers.unblock"
# Who may ask for an unblock (a second person with BLOCK_PERMISSION decides).
UNBLOCK_REQUEST_PERMISSIONS = ("customers.change_customer", BLOCK_PERMISSION)

CUSTOMER_EDITABLE_FIELDS = ("first_name", "last_name", "phone", "type", "company_name", "vat_number", "language")


class CustomerNotBlocked(Conflict):
    code = "customer_not_blocked"


class CustomerAlreadyBlocked(Conflict):
    code = "customer_already_blocked"


def customer_qs_for_update():
    return Customer.objects.select_for_update(of=("self",))


def _get_locked(customer_id: int) -> Customer:
    customer = customer_qs_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise ApplicationError(_("Customer not found."), code="not_found")
    return customer


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Give a reason."), code="reason_required", attr="reason")
    return reason[:255]


@transaction.atomic
def customer_block(*, customer_id: int, reason: str, actor: User | None) -> Customer:
    """Block a customer: their new orders wait for review. `actor=None` is the system
    (a fraud rule); a person needs the block permission."""
    reason = _require_reason(reason)
    if actor is not None and not actor.has_perm(BLOCK_PERMISSION):
        raise PermissionDenied(_("You may not block customers."))
    customer = _get_locked(customer_id)
    if customer.is_blocked:
        raise CustomerAlreadyBlocked(_("This customer is already blocked."))
    customer.is_blocked = True
    customer.blocked_reason = reason
    customer.blocked_at = timezone.now()
    with audited(actor):
        customer.save(update_fields=["is_blocked", "blocked_reason", "blocked_at", "updated_at"])
    return customer


def customer_unblock(*, customer_id: int, reason: str, actor: User) -> ApprovalRequest:
    """Ask for a customer to be unblocked. Nothing changes until a second person with
    the block permission approves (`customers.unblock`); then it happens once. Asking
    again while a request is pending returns that request."""
    reason = _require_reason(reason)
    if actor is None or not any(actor.has_perm(p) for p in UNBLOCK_REQUEST_PERMISSIONS):
        raise PermissionDenied(_("You may not ask for a customer to be unblocked."))
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise ApplicationError(_("Customer not found."), code="not_found")
    if not customer.is_blocked:
        raise CustomerNotBlocked(_("This customer is not blocked."))
    return approval_request_create(
        action=UNBLOCK_ACTION,
        payload={"customer_id": customer.pk, "reason": reason},
        requested_by=actor,
        summary=_("Unblock %(customer)s") % {"customer": customer},
        reason=reason,
        subject=customer,
    )


def customer_unblock_execute(*, approval: ApprovalRequest) -> Customer:
    """Carry out an approved unblock (called by the approval handler only, inside the
    approval's transaction)."""
    if approval.action != UNBLOCK_ACTION or approval.status != ApprovalRequest.Status.APPROVED:
        raise PermissionDenied(_("An unblock needs an approved request."))
    customer = _get_locked(approval.payload["customer_id"])
    if not customer.is_blocked:
        raise CustomerNotBlocked(_("This customer is no longer blocked."))
    customer.is_blocked = False
    customer.blocked_reason = ""
    customer.blocked_at = None
    with audited(approval.decided_by):
        customer.save(update_fields=["is_blocked", "blocked_reason", "blocked_at", "updated_at"])
    return customer


@transaction.atomic
def customer_update(*, customer_id: int, actor: User | None, **fields) -> Customer:
    """Change a customer's own details (not the e-mail address, which identifies them
    within the channel, and not the block)."""
    unknown = set(fields) - set(CUSTOMER_EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(
            _("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
            code="not_editable",
        )
    customer = _get_locked(customer_id)
    changed = [name for name, value in fields.items() if getattr(customer, name) != value]
    if not changed:
        return customer
    for name in changed:
        setattr(customer, name, fields[name])
    customer.full_clean(exclude=[f.name for f in Customer._meta.fields if f.name not in changed])
    with audited(actor):
        customer.save(update_fields=[*changed, "updated_at"])
    return customer


ADDRESS_FIELDS = ("street", "house_number", "house_number_addition", "postal_code", "city", "country")


def _only_address_fields(fields: dict) -> None:
    unknown = set(fields) - set(ADDRESS_FIELDS)
    if unknown:
        raise ApplicationError(
            _("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
            code="not_editable",
        )


@transaction.atomic
def address_create(*, customer_id: int, actor: User | None, **fields) -> Address:
    """Add an address to a customer's address book, normalised (postcode, house number)."""
    _only_address_fields(fields)
    customer = _get_locked(customer_id)
    normalised = address_normalise(**{name: fields.get(name, "") for name in ADDRESS_FIELDS})
    address = Address(customer=customer, **dataclasses.asdict(normalised))
    with audited(actor):
        address.save()
    return address


@transaction.atomic
def address_update(*, address_id: int, actor: User | None, **fields) -> Address:
    """Change an address in the address book (orders keep their own snapshot)."""
    _only_address_fields(fields)
    address = Address.objects.select_for_update(of=("self",)).filter(pk=address_id).first()
    if address is None:
        raise ApplicationError(_("Address not found."), code="not_found")
    current = {name: getattr(address, name) for name in ADDRESS_FIELDS}
    normalised = address_normalise(**{**current, **fields})
    changed = [name for name in ADDRESS_FIELDS if getattr(normalised, name) != current[name]]
    if not changed:
        return address
    for name in changed:
        setattr(address, name, getattr(normalised, name))
    with audited(actor):
        address.save(update_fields=[*changed, "updated_at"])
    return address


@transaction.atomic
def address_delete(*, address_id: int, actor: User | None) -> None:
    """Remove an address from the address book (orders keep their own snapshot)."""
    address = Address.objects.select_for_update(of=("self",)).filter(pk=address_id).first()
    if address is None:
        return
    with audited(actor):
        address.delete()
