"""Clearing policies (when an order paid with a method may ship) and the pay-later
credit check.

The policies are read at every order intake, so every process keeps them for a few
seconds (core.localcache, like API keys, business rules and VAT rates: no query and no
Redis round trip per order). A change through `clearing_policy_update` (or a flush +
ensure_defaults) takes effect at once in the process that made it and within
LOCAL_CACHE_SECONDS in the others."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import audited
from core.exceptions import ApplicationError, PermissionDenied
from core.localcache import MISSING, LocalCache
from core.money import ZERO
from core.rules import define_rule, rule_value
from payments.models import ClearingPolicy
from payments.states import ClearingRule

_policies = LocalCache("clearing policies")
# Without a row (a method added later) an order waits until staff record the payment.
FALLBACK_RULE = ClearingRule.MANUAL

PAY_LATER_CREDIT_LIMIT = define_rule(
    "payments.pay_later.credit_limit",
    Decimal("750.00"),
    label="Pay later is granted while the customer's open balance plus the order stays at or below this amount",
    unit="EUR",
)


def clearing_policies() -> dict[str, str]:
    """{method: rule} for every payment method with a policy."""
    policies = _policies.get("all")
    if policies is MISSING:
        policies = dict(ClearingPolicy.objects.values_list("method", "rule"))
        _policies.set("all", policies)
    return policies


def clearing_rule_for(method: str) -> str:
    return clearing_policies().get(method, FALLBACK_RULE)


def clearing_policies_forget() -> None:
    _policies.clear()
    transaction.on_commit(_policies.clear)  # again, in case a request cached the old rows meanwhile


def clears_at_intake(*, method: str, payment: dict | None = None) -> bool:
    """orders.services.intake.CLEARING_POLICY: an order is cleared when it is placed
    only if its method clears at once (paid at the till)."""
    return clearing_rule_for(method) == ClearingRule.IMMEDIATE


@transaction.atomic
def clearing_policy_update(*, method: str, rule: str, actor, note: str = "") -> ClearingPolicy:
    """Staff change when orders paid with `method` clear. Orders already cleared stay so."""
    if actor is not None and not actor.has_perm("payments.change_clearingpolicy"):
        raise PermissionDenied(_("You may not change clearing policies."))
    if rule not in ClearingRule.values:
        raise ApplicationError(_("Unknown clearing rule %(rule)r.") % {"rule": rule}, attr="rule")
    policy = ClearingPolicy.objects.select_for_update().filter(method=method).first()
    with audited(actor):
        if policy is None:
            policy = ClearingPolicy(method=method, rule=rule, note=note[:255])
            policy.save()
        elif (policy.rule, policy.note) != (rule, note[:255]):
            policy.rule = rule
            policy.note = note[:255]
            policy.save(update_fields=["rule", "note", "updated_at"])
    clearing_policies_forget()
    return policy


# --- pay later ----------------------------------------------------------------------


@dataclass(frozen=True)
class CreditCheck:
    passed: bool
    reasons: tuple[str, ...]
    open_balance: Decimal
    limit: Decimal


def pay_later_credit_check(*, customer, amount: Decimal, exclude_order_id: int | None = None) -> CreditCheck:
    """Pay later is granted to a customer who is not blocked, has nothing overdue, and
    whose open balance (invoiced and not paid, plus pay-later orders not yet invoiced)
    with this order stays within the limit."""
    from payments.selectors.ledger import customer_ledger, pay_later_uninvoiced_amount

    limit = rule_value(PAY_LATER_CREDIT_LIMIT)
    ledger = customer_ledger(customer_id=customer.pk)
    pending = pay_later_uninvoiced_amount(customer_id=customer.pk, exclude_order_id=exclude_order_id)
    open_balance = max(ZERO, ledger.open_amount) + pending
    reasons = []
    if customer.is_blocked:
        reasons.append("customer_blocked")
    if ledger.overdue_amount > 0:
        reasons.append("overdue_invoices")
    if open_balance + amount > limit:
        reasons.append("credit_limit_exceeded")
    return CreditCheck(passed=not reasons, reasons=tuple(reasons), open_balance=open_balance, limit=limit)
