"""Bank statement import and matching (CAMT.053, MT940).

`bank_statement_import(data, filename, actor)` reads the file, stores every entry once
(the same file again, or another file with the same bookings, adds nothing: the file's
checksum and each entry's dedupe_key are unique) and matches the new credit entries:

1. the structured reference (betalingskenmerk) → the order with that payment reference;
2. a payment reference, order number or invoice number in the free text → that order;
3. nothing found: suggestions by amount and name, kept apart and never booked by
   themselves; the line waits in the finance queue for one click.

A match books the amount on the order's bank payment and settles the order (cleared in
full, payment_mismatch in part, a refund proposal when too much). Debits are our own
refunds (end-to-end id `REFUND-…`) or not customer payments; lines with a provider
payment id (`tr_…`) are provider settlements, confirmed against the provider payment
and never booked twice.
"""

import datetime
import hashlib
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audited
from core.db import rows_update
from core.exceptions import Conflict, NotFound, PermissionDenied
from core.models import SalesChannel
from core.money import ZERO, round_money
from orders.locks import order_qs_for_update
from orders.models import FraudBlock, Order
from payments.events import actor_fields
from payments.locks import bank_line_qs_for_update
from payments.models import (
    BankMatch,
    BankMatchSuggestion,
    BankStatementImport,
    BankStatementLine,
    Invoice,
    Payment,
    Refund,
)
from payments.reference import find_reference_candidates, payment_reference_normalise
from payments.selectors import order_money
from payments.statements import parse_statement_file
from payments.statements.types import BankTransaction
from payments.states import BankLineStatus, MatchMethod, RefundStatus

logger = logging.getLogger(__name__)

_REFUND_E2E = re.compile(r"^REFUND-([0-9]{1,12})$")
SUGGESTIONS_PER_LINE = 5
SUGGESTION_WINDOW_DAYS = 400
_BULK = 500


@dataclass
class ImportResult:
    statement_import: BankStatementImport
    already_imported: bool = False
    new_lines: int = 0
    duplicate_lines: int = 0
    matched: list[tuple[BankStatementLine, list[BankMatch]]] = field(default_factory=list)
    left: list[BankStatementLine] = field(default_factory=list)
    other: list[BankStatementLine] = field(default_factory=list)


def _require(actor, perm: str, message: str) -> None:
    if getattr(actor, "username", None) and not actor.has_perm(perm):
        raise PermissionDenied(message)


def _line_from(tx: BankTransaction, statement, statement_import: BankStatementImport) -> BankStatementLine:
    reference = tx.structured_reference.reference if tx.structured_reference else ""
    return BankStatementLine(
        statement_import=statement_import,
        dedupe_key=tx.dedupe_key,
        account_iban=statement.account_iban[:40],
        statement_id=(statement.statement_id or "")[:64],
        booking_date=tx.booking_date,
        value_date=tx.value_date,
        amount=tx.amount,
        currency=(tx.currency or "EUR")[:3],
        counterparty_name=tx.counterparty_name[:200],
        counterparty_iban=tx.counterparty_iban[:40],
        structured_reference=payment_reference_normalise(reference)[:40],
        end_to_end_id=tx.end_to_end_id[:64],
        remittance_text=" ".join(p for p in (tx.remittance_text, tx.additional_info) if p),
        bank_reference=tx.bank_reference[:64],
        is_reversal=tx.is_reversal,
        raw_excerpt=tx.raw_excerpt,
    )


def bank_statement_import(*, data: bytes, filename: str, actor=None) -> ImportResult:
    """Import a statement file and match its new entries. Importing the same file (or
    the same bookings) again changes nothing."""
    _require(actor, "payments.add_bankstatementimport", _("You may not import bank statements."))
    checksum = hashlib.sha256(bytes(data)).hexdigest()
    existing = BankStatementImport.objects.filter(sha256=checksum).first()
    if existing is not None:  # the same file again: nothing to read
        return ImportResult(statement_import=existing, already_imported=True)
    statements = parse_statement_file(data, filename)  # StatementParseError says what and where
    transactions = [(statement, tx) for statement in statements for tx in statement.entries]
    try:
        with transaction.atomic(), audited(actor):
            labels = actor_fields(actor)
            statement_import = BankStatementImport.objects.create(
                filename=(filename or "statement")[:255],
                sha256=checksum,
                file_format=(statements[0].format if statements else "")[:10],
                account_iban=(statements[0].account_iban if statements else "")[:40],
                statement_ids=[s.statement_id for s in statements][:200],
                entries_total=len(transactions),
                **labels,
            )
            keys = [tx.dedupe_key for _s, tx in transactions]
            known = set()
            for start in range(0, len(keys), _BULK):
                known |= set(
                    BankStatementLine.objects.filter(dedupe_key__in=keys[start : start + _BULK]).values_list(
                        "dedupe_key", flat=True
                    )
                )
            fresh = [_line_from(tx, s, statement_import) for s, tx in transactions if tx.dedupe_key not in known]
            BankStatementLine.objects.bulk_create(fresh, batch_size=_BULK, ignore_conflicts=True)
    except IntegrityError:
        existing = BankStatementImport.objects.filter(sha256=checksum).first()
        if existing is None:
            raise
        return ImportResult(statement_import=existing, already_imported=True)
    result = ImportResult(statement_import=statement_import, duplicate_lines=len(transactions) - len(fresh))
    bank_lines_match(statement_import=statement_import, actor=actor, result=result)
    BankStatementImport.objects.filter(pk=statement_import.pk).update(
        entries_new=result.new_lines,
        entries_matched=len(result.matched),
        entries_for_finance=len(result.left),
    )
    statement_import.refresh_from_db()
    return result


# --- finding the order ----------------------------------------------------------------


@dataclass
class LinePlan:
    """What a line's references point at, in the order of trust."""

    candidates: list[tuple[Order, str, Invoice | None]] = field(default_factory=list)
    settlement: bool = False
    our_refund: bool = False


class LineMatcher:
    """Reads the references of many lines with a few queries per chunk (the channels'
    order number prefixes once, orders by reference / number, invoices, provider
    payments, our refunds), and the orders still owed money once per import for the
    suggestions."""

    def __init__(self):
        self.prefixes = list(SalesChannel.objects.values_list("order_number_prefix", flat=True))
        self._open_by_rest: dict[Decimal, list[tuple[Order, set[str]]]] | None = None
        self.matched_orders: set[int] = set()
        self.blocked_ibans = {
            value.replace(" ", "").upper()
            for value in FraudBlock.objects.filter(kind=FraudBlock.Kind.IBAN).values_list("value", flat=True)
        }

    @staticmethod
    def _text(line: BankStatementLine) -> str:
        return " ".join(p for p in (line.remittance_text, line.end_to_end_id) if p)

    def plan(self, lines: list[BankStatementLine]) -> dict[int, LinePlan]:
        refs = {line.pk: find_reference_candidates(self._text(line), order_prefixes=self.prefixes) for line in lines}
        payment_refs = {r for found in refs.values() for r in found.payment_references}
        payment_refs |= {line.structured_reference for line in lines if len(line.structured_reference) == 16}
        numbers = {n for found in refs.values() for n in found.order_numbers}
        invoice_numbers = {n for found in refs.values() for n in found.invoice_numbers}
        provider_ids = {i for found in refs.values() for i in found.provider_payment_ids}
        refund_ids = {
            int(m.group(1)) for line in lines if line.amount < 0 and (m := _REFUND_E2E.match(line.end_to_end_id or ""))
        }
        by_ref = {o.payment_reference: o for o in Order.objects.filter(payment_reference__in=payment_refs)}
        by_number = {o.number: o for o in Order.objects.filter(number__in=numbers)}
        invoices = {i.number: i for i in Invoice.objects.filter(number__in=invoice_numbers).select_related("order")}
        providers = set(
            Payment.objects.filter(provider_id__in=provider_ids)
            .exclude(provider="")
            .values_list("provider_id", flat=True)
        )
        sent = (RefundStatus.QUEUED, RefundStatus.PROCESSING, RefundStatus.REFUNDED)
        refunds = dict(Refund.objects.filter(pk__in=refund_ids, status__in=sent).values_list("pk", "amount"))

        plans = {}
        for line in lines:
            plan = LinePlan()
            seen: set[int] = set()

            def add(order, how, invoice=None, plan=plan, seen=seen):
                if order is not None and order.pk not in seen:
                    seen.add(order.pk)
                    plan.candidates.append((order, how, invoice))

            found = refs[line.pk]
            if len(line.structured_reference) == 16:
                add(by_ref.get(line.structured_reference), MatchMethod.STRUCTURED_REFERENCE)
            for ref in found.payment_references:
                add(by_ref.get(ref), MatchMethod.REFERENCE_IN_TEXT)
            for number in found.order_numbers:
                add(by_number.get(number), MatchMethod.ORDER_NUMBER)
            for number in found.invoice_numbers:
                invoice = invoices.get(number)
                if invoice is not None:
                    add(invoice.order, MatchMethod.INVOICE_NUMBER, invoice)
            plan.settlement = any(i in providers for i in found.provider_payment_ids)
            match = _REFUND_E2E.match(line.end_to_end_id or "")
            plan.our_refund = bool(match) and refunds.get(int(match.group(1))) == -line.amount
            plans[line.pk] = plan
        return plans

    # suggestions ------------------------------------------------------------------

    def open_by_rest(self) -> dict[Decimal, list[tuple[Order, set[str]]]]:
        """Orders placed in the window and still owed money, by what they are owed."""
        if self._open_by_rest is None:
            self._open_by_rest = {}
            for order in orders_owed_money():
                words = _words(f"{order.first_name} {order.last_name} {order.company_name}")
                self._open_by_rest.setdefault(order.rest, []).append((order, words))
        return self._open_by_rest

    def suggestions(self, line: BankStatementLine, limit: int = SUGGESTIONS_PER_LINE) -> list[BankMatchSuggestion]:
        amount = line.open_amount
        if amount <= 0:
            return []
        payer = _words(line.counterparty_name)
        scored = []
        for order, names in self.open_by_rest().get(amount, []):
            if order.pk in self.matched_orders:
                continue
            common = payer & names
            score = 50 + (40 if common else 0) + (10 if order.cleared_at is None else 0)
            why = _("%(amount)s still owed") % {"amount": amount}
            if common:
                why += _(", name matches (%(words)s)") % {"words": ", ".join(sorted(common))}
            scored.append((score, order, why))
        scored.sort(key=lambda item: (-item[0], -item[1].pk))
        return [
            BankMatchSuggestion(line=line, order=order, score=score, reason=why[:200])
            for score, order, why in scored[:limit]
        ]


def orders_owed_money():
    """Orders not cancelled, placed within the suggestion window, with `rest` (total −
    what came in) above zero: one query."""
    money = DecimalField(max_digits=12, decimal_places=2)
    received = (
        Payment.objects.filter(order_id=OuterRef("pk"))
        .values("order_id")
        .annotate(s=Sum("paid_amount") - Sum("refunded_amount") - Sum("charged_back_amount"))
        .values("s")
    )
    since = timezone.now() - datetime.timedelta(days=SUGGESTION_WINDOW_DAYS)
    return (
        Order.objects.filter(cancelled_at__isnull=True, placed_at__gte=since)
        .annotate(received=Coalesce(Subquery(received, output_field=money), Value(ZERO), output_field=money))
        .annotate(rest=ExpressionWrapper(F("total_amount") - F("received"), output_field=money))
        .filter(rest__gt=0)
        .only("pk", "number", "first_name", "last_name", "company_name", "total_amount", "cleared_at", "placed_at")
    )


def bank_lines_match(
    *, statement_import: BankStatementImport, actor=None, result: ImportResult | None = None, chunk: int = _BULK
) -> ImportResult:
    """Match the unmatched lines of an import by their references, a chunk of lines at
    a time: a chunk's references are read with a few queries, its bookings made in one
    transaction (orders, payments, lines locked in that order; writes in bulk; each order
    settled once); lines that name nothing get suggestions, debits and settlements their
    status (bulk). The orders a chunk pays are cleared together
    (orders.orders_clear_many), so a chunk costs the same statements for two lines as
    for a thousand; only part payments (a hold per order) cost statements per line."""
    result = result or ImportResult(statement_import=statement_import)
    matcher = LineMatcher()
    last_pk = 0
    while True:
        lines = list(
            BankStatementLine.objects.filter(
                statement_import=statement_import, status=BankLineStatus.UNMATCHED, pk__gt=last_pk
            ).order_by("pk")[:chunk]
        )
        if not lines:
            break
        last_pk = lines[-1].pk
        result.new_lines += len(lines)
        plans = matcher.plan(lines)
        statuses: dict[str, list[int]] = {}
        suggestions: list[BankMatchSuggestion] = []
        to_book: list[tuple[BankStatementLine, list]] = []
        for line in lines:
            plan = plans[line.pk]
            if line.amount < 0 or line.is_reversal:
                if line.amount > 0:
                    result.left.append(line)  # a reversed debit: finance looks at it
                    continue
                status = BankLineStatus.REFUND if plan.our_refund else BankLineStatus.NOT_APPLICABLE
                statuses.setdefault(status, []).append(line.pk)
                line.status = status
                result.other.append(line)
            elif plan.candidates:
                to_book.append((line, _allocate(line.amount, plan.candidates)))
            elif plan.settlement:
                statuses.setdefault(BankLineStatus.SETTLEMENT, []).append(line.pk)
                line.status = BankLineStatus.SETTLEMENT
                result.other.append(line)
            else:
                suggestions += matcher.suggestions(line)
                result.left.append(line)
        booked = _book_many(planned=to_book, actor=actor, matcher=matcher) if to_book else {}
        for line, _allocations in to_book:
            matches = booked.get(line.pk, [])
            matcher.matched_orders |= {m.order_id for m in matches}
            if matches:
                line.matched_amount = sum((m.amount for m in matches), line.matched_amount)
                line.status = (
                    BankLineStatus.MATCHED if line.matched_amount >= line.amount else BankLineStatus.PARTLY_MATCHED
                )
                result.matched.append((line, matches))
            if line.status != BankLineStatus.MATCHED:
                suggestions += matcher.suggestions(line)
                if not matches:
                    result.left.append(line)
        with transaction.atomic():
            for status, ids in statuses.items():
                BankStatementLine.objects.filter(pk__in=ids, status=BankLineStatus.UNMATCHED).update(status=status)
            BankMatchSuggestion.objects.bulk_create(suggestions, ignore_conflicts=True)
    return result


def bank_line_match_auto(*, line_id: int, actor=None) -> tuple[BankStatementLine, list[BankMatch]]:
    """Match one unmatched line by its references (as the import does)."""
    line = BankStatementLine.objects.get(pk=line_id)
    if line.status != BankLineStatus.UNMATCHED:
        return line, []
    plan = LineMatcher().plan([line])[line.pk]
    if line.amount <= 0 or line.is_reversal or not plan.candidates:
        return line, []
    matches = _book(line_id=line.pk, allocations=_allocate(line.amount, plan.candidates), actor=actor)
    line.refresh_from_db()
    if line.status != BankLineStatus.MATCHED:
        bank_line_suggest(line=line)
    return line, matches


def _allocate(amount: Decimal, candidates) -> list[tuple[Order, Decimal, str, Invoice | None]]:
    """Share a transfer over the orders it names: each gets what it still owes, in the
    order of trust; with one order it gets everything (too much becomes a refund
    proposal there); with several, what is left waits for finance."""
    if len(candidates) == 1:
        order, how, invoice = candidates[0]
        return [(order, amount, how, invoice)]
    left = amount
    allocations = []
    for order, how, invoice in candidates:
        rest = order_money(order=order).rest
        take = min(left, rest)
        if take > 0:
            allocations.append((order, take, how, invoice))
            left -= take
        if left <= 0:
            break
    return allocations


def _book(*, line_id: int, allocations, actor, matcher: "LineMatcher | None" = None) -> list[BankMatch]:
    """Book each (order, amount) on the order's bank payment, one order at a time,
    each in its own transaction with the order locked first (order → payment → line)."""
    from payments.services.payments import payment_receive_bank

    made = []
    for order, amount, how, invoice in allocations:
        with transaction.atomic(), audited(actor):
            locked = order_qs_for_update().select_related("channel", "customer").get(pk=order.pk)
            line = bank_line_qs_for_update().get(pk=line_id)
            amount = min(amount, line.open_amount)
            if amount <= 0 or BankMatch.objects.filter(line=line, order=locked).exists():
                continue
            payment = payment_receive_bank(
                order=locked,
                amount=amount,
                key=f"bank:{line.dedupe_key}:{locked.pk}",
                actor=actor,
                blocked_ibans=matcher.blocked_ibans if matcher is not None else None,
                data={
                    "line": line.pk,
                    "booking_date": line.booking_date.isoformat(),
                    "counterparty_iban": line.counterparty_iban,
                    "counterparty_name": line.counterparty_name,
                    "how": how,
                },
            )
            match = BankMatch.objects.create(
                line=line,
                order=locked,
                payment=payment,
                invoice=invoice,
                amount=amount,
                method=how,
                **actor_fields(actor),
            )
            line.matched_amount += amount
            line.status = (
                BankLineStatus.MATCHED if line.matched_amount >= line.amount else BankLineStatus.PARTLY_MATCHED
            )
            line.save(update_fields=["matched_amount", "status"])
            if line.status == BankLineStatus.MATCHED and matcher is None:  # (a new line has no suggestions)
                BankMatchSuggestion.objects.filter(line=line).delete()
            made.append(match)
    return made


def _book_many(
    *, planned: list[tuple[BankStatementLine, list]], actor, matcher: "LineMatcher"
) -> dict[int, list[BankMatch]]:
    """Book the lines of a chunk in one transaction (orders → payments → lines locked,
    in that order), writes in bulk; each order is settled once."""
    from payments.locks import payment_qs_for_update
    from payments.services.payments import BankBooking, payments_receive_bank_many

    order_ids = sorted({order.pk for _line, allocations in planned for order, *_rest in allocations})
    line_ids = sorted(line.pk for line, _allocations in planned)
    made: dict[int, list[BankMatch]] = {}
    with transaction.atomic(), audited(actor):
        orders = {o.pk: o for o in order_qs_for_update().select_related("channel", "customer").filter(pk__in=order_ids)}
        payments_by_order: dict[int, list[Payment]] = {order_id: [] for order_id in order_ids}
        for payment in payment_qs_for_update().filter(order_id__in=order_ids):
            payments_by_order[payment.order_id].append(payment)
        lines = {line.pk: line for line in bank_line_qs_for_update().filter(pk__in=line_ids)}
        done = set(BankMatch.objects.filter(line_id__in=line_ids).values_list("line_id", "order_id"))
        bookings, pending = [], []
        for planned_line, allocations in planned:
            line = lines[planned_line.pk]
            if line.status not in (BankLineStatus.UNMATCHED, BankLineStatus.PARTLY_MATCHED):
                continue
            for order, amount, how, invoice in allocations:
                amount = min(amount, line.open_amount)
                if amount <= 0 or (line.pk, order.pk) in done:
                    continue
                done.add((line.pk, order.pk))
                locked = orders[order.pk]
                bookings.append(
                    BankBooking(
                        order=locked,
                        amount=amount,
                        key=f"bank:{line.dedupe_key}:{locked.pk}",
                        data={
                            "line": line.pk,
                            "booking_date": line.booking_date.isoformat(),
                            "counterparty_iban": line.counterparty_iban,
                            "counterparty_name": line.counterparty_name,
                            "how": how,
                        },
                    )
                )
                pending.append((line, locked, amount, how, invoice))
                line.matched_amount += amount
                line.status = (
                    BankLineStatus.MATCHED if line.matched_amount >= line.amount else BankLineStatus.PARTLY_MATCHED
                )
        if not bookings:
            return made
        payments = payments_receive_bank_many(
            bookings=bookings, payments_by_order=payments_by_order, actor=actor, blocked_ibans=matcher.blocked_ibans
        )
        labels = actor_fields(actor)
        matches = BankMatch.objects.bulk_create(
            [
                BankMatch(line=line, order=order, payment=payment, invoice=invoice, amount=amount, method=how, **labels)
                for (line, order, amount, how, invoice), payment in zip(pending, payments, strict=True)
            ]
        )
        booked_lines = {line.pk: line for line, *_rest in pending}.values()
        rows_update(
            BankStatementLine,
            fields=["matched_amount", "status"],
            rows=[(line.pk, line.matched_amount, line.status) for line in booked_lines],
        )
        for match in matches:
            made.setdefault(match.line_id, []).append(match)
    return made


# --- suggestions (amount and name; never booked by themselves) -------------------------------


_WORD = re.compile(r"[a-z0-9]{3,}")


def _words(text: str) -> set[str]:
    return set(_WORD.findall((text or "").lower()))


def bank_line_suggest(*, line: BankStatementLine, matcher: LineMatcher | None = None) -> list[BankMatchSuggestion]:
    """Orders still owed exactly the line's open amount, the payer's name weighed in.
    Stored for the finance queue (replaced on every call); never booked by themselves."""
    made = (matcher or LineMatcher()).suggestions(line)
    with transaction.atomic():
        BankMatchSuggestion.objects.filter(line=line).delete()
        return BankMatchSuggestion.objects.bulk_create(made)


# --- finance's own matches ------------------------------------------------------------------


def bank_line_match_manual(*, line_id: int, order_id: int, actor, amount: Decimal | None = None) -> BankMatch:
    """Finance books (part of) a line on an order: one click on a suggestion, or an
    order number typed in."""
    _require(actor, "payments.match_bankstatementline", _("You may not match bank statement lines."))
    line = BankStatementLine.objects.filter(pk=line_id).first()
    if line is None:
        raise NotFound(_("Bank statement line not found."))
    if line.amount <= 0:
        raise Conflict(_("Only money received can be matched to an order."), code="not_a_credit")
    if line.status not in (BankLineStatus.UNMATCHED, BankLineStatus.PARTLY_MATCHED):
        raise Conflict(_("This line is already matched."), code="already_matched")
    amount = round_money(Decimal(amount)) if amount is not None else line.open_amount
    if amount <= 0 or amount > line.open_amount:
        raise Conflict(
            _("At most %(open)s of this line is left to match.") % {"open": line.open_amount},
            code="more_than_open",
            attr="amount",
        )
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound(_("Order not found."))
    if BankMatch.objects.filter(line=line, order=order).exists():
        raise Conflict(_("This line is already matched to that order."), code="already_matched")
    matches = _book(line_id=line.pk, allocations=[(order, amount, MatchMethod.MANUAL, None)], actor=actor)
    if not matches:
        raise Conflict(_("This line is already matched."), code="already_matched")
    line.refresh_from_db()
    if line.status == BankLineStatus.PARTLY_MATCHED:
        bank_line_suggest(line=line)
    return matches[0]


def bank_line_dismiss(*, line_id: int, actor, note: str = "") -> BankStatementLine:
    """Finance says a line is not a customer payment (interest, a supplier refund)."""
    _require(actor, "payments.match_bankstatementline", _("You may not match bank statement lines."))
    with transaction.atomic():
        line = bank_line_qs_for_update().get(pk=line_id)
        if line.status != BankLineStatus.UNMATCHED:
            raise Conflict(_("Only an unmatched line can be set aside."), code="already_matched")
        line.status = BankLineStatus.NOT_APPLICABLE
        line.save(update_fields=["status"])
        BankMatchSuggestion.objects.filter(line=line).delete()
        return line
