"""Store credit: a customer's balance (granted by refunds as credit, used to pay
orders). The balance moves with a conditional UPDATE; every movement is an entry."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audited
from core.exceptions import Conflict
from core.money import ZERO
from orders.locks import order_qs_for_update
from payments.events import credit_entry_build, payment_event_create
from payments.locks import credit_account_qs_for_update, payment_qs_for_update
from payments.models import CreditAccount, CreditEntry, Payment, PaymentEvent
from payments.selectors import order_money
from payments.states import CreditEntryKind, PaymentEventKind, PaymentStatus


class InsufficientCredit(Conflict):
    code = "insufficient_credit"


def credit_account_for(customer_id: int) -> CreditAccount:
    """The customer's account, created on first use (idempotent under concurrency)."""
    account = CreditAccount.objects.filter(customer_id=customer_id).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return CreditAccount.objects.create(customer_id=customer_id)
    except IntegrityError:
        return CreditAccount.objects.get(customer_id=customer_id)


def credit_balance(*, customer_id: int) -> Decimal:
    return (
        CreditAccount.objects.filter(customer_id=customer_id).values_list("balance_amount", flat=True).first() or ZERO
    )


@transaction.atomic
def store_credit_grant(
    *, customer_id: int, amount: Decimal, actor=None, note: str = "", refund=None, key: str | None = None
) -> CreditEntry:
    """Add credit to a customer's balance (a refund as store credit)."""
    if amount <= 0:
        raise Conflict(_("Credit to grant must be more than zero."), code="invalid_amount", attr="amount")
    if key:
        existing = CreditEntry.objects.filter(key=key).first()
        if existing is not None:
            return existing
    account = credit_account_for(customer_id)
    with audited(actor):
        CreditAccount.objects.filter(pk=account.pk).update(
            balance_amount=F("balance_amount") + amount, updated_at=timezone.now()
        )
        entry = credit_entry_build(
            account=account,
            kind=CreditEntryKind.GRANT,
            amount=amount,
            refund=refund,
            note=note[:255],
            key=key,
            actor=actor,
        )
        entry.save()
    return entry


def store_credit_draw(*, payment_id: int, actor=None) -> Payment:
    """Pay an order (its store-credit payment) from the customer's credit, as far as it
    goes; the rest stays due (payment_mismatch, a payment link for the rest). Safe to run
    twice: the draw has a key."""
    from payments.services.payments import order_payments_settle, payment_status_derive

    with transaction.atomic(), audited(actor):
        order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
        order = order_qs_for_update().select_related("channel", "customer").get(pk=order_id)
        payments = list(payment_qs_for_update().filter(order_id=order.pk))
        payment = next(p for p in payments if p.pk == payment_id)
        key = f"store-credit:{payment.pk}"
        if PaymentEvent.objects.filter(key=key).exists() or order.cancelled_at is not None:
            return payment
        account = credit_account_qs_for_update().filter(customer_id=order.customer_id).first()
        rest = order_money(order=order, payments=payments).rest
        take = min(account.balance_amount, rest) if account is not None and rest > 0 else ZERO
        if take > 0:
            updated = CreditAccount.objects.filter(pk=account.pk, balance_amount__gte=take).update(
                balance_amount=F("balance_amount") - take, updated_at=timezone.now()
            )
            if updated != 1:
                raise InsufficientCredit(_("The customer's store credit changed; try again."))
            credit_entry_build(
                account=account,
                kind=CreditEntryKind.DRAW,
                amount=-take,
                payment=payment,
                note=_("Order %(number)s") % {"number": order.number},
                key=key,
                actor=actor,
            ).save()
            old = payment.status
            payment.paid_amount += take
            payment.paid_at = timezone.now()
            payment.status = payment_status_derive(payment)
            if payment.paid_amount >= payment.amount:
                payment.status = PaymentStatus.PAID
            payment.save(update_fields=["paid_amount", "paid_at", "status", "updated_at"])
            payment_event_create(
                payment=payment,
                kind=PaymentEventKind.RECEIVED,
                actor=actor,
                from_status=old,
                to_status=payment.status,
                amount=take,
                key=key,
                data={"source": "store_credit"},
            )
        else:
            payment_event_create(
                payment=payment,
                kind=PaymentEventKind.STORE_CREDIT_DRAWN,
                actor=actor,
                amount=ZERO,
                key=key,
                data={"note": "no store credit available"},
            )
        order_payments_settle(order=order, actor=actor, source="store_credit")
        return payment
