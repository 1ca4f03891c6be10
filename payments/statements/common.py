"""What the statement parsers share: amounts, dates, dedupe keys."""

import datetime
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import CENT
from payments.exceptions import StatementParseError
from payments.statements.types import BankStatement, BankTransaction

DEDUPE_KEY_VERSION = "v1"
MAX_AMOUNT = Decimal("9999999999.99")
_AMOUNT = re.compile(r"[0-9]{1,15}(?:\.[0-9]*)?")


@dataclass
class Where:
    """Where in the file a parser is, for error messages."""

    filename: str | None
    location: str = ""

    def at(self, location: str) -> "Where":
        return Where(self.filename, location)

    def error(self, problem: str) -> StatementParseError:
        return StatementParseError(problem, filename=self.filename, location=self.location or None)


def parse_amount(text: str, where: Where) -> Decimal:
    """A non-negative amount written with a decimal point, at most two decimals that
    matter (trailing zeros are fine)."""
    text = (text or "").strip()
    if not _AMOUNT.fullmatch(text):
        raise where.error(_("%(value)r is not an amount.") % {"value": text[:40]})
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern above admits only numbers
        raise where.error(_("%(value)r is not an amount.") % {"value": text[:40]}) from exc
    rounded = value.quantize(CENT)
    if rounded != value:
        raise where.error(_("The amount %(value)s has more than two decimals.") % {"value": text[:40]})
    if rounded > MAX_AMOUNT:
        raise where.error(_("The amount %(value)s is too large.") % {"value": text[:40]})
    return rounded


def parse_iso_date(text: str, where: Where) -> datetime.date:
    try:
        return datetime.date.fromisoformat((text or "").strip())
    except ValueError as exc:
        raise where.error(_("%(value)r is not a date (YYYY-MM-DD).") % {"value": (text or "")[:40]}) from exc


def parse_iso_datetime(text: str, where: Where) -> datetime.datetime:
    """An ISO 8601 date-time; without an offset it is Dutch local time."""
    try:
        value = datetime.datetime.fromisoformat((text or "").strip())
    except ValueError as exc:
        raise where.error(_("%(value)r is not a date and time.") % {"value": (text or "")[:40]}) from exc
    if timezone.is_naive(value):
        try:
            value = timezone.make_aware(value, timezone.get_default_timezone())
        except (ValueError, OverflowError) as exc:
            raise where.error(_("%(value)r is not a date and time.") % {"value": text[:40]}) from exc
    return value


def local_date(value: datetime.datetime) -> datetime.date:
    try:
        return value.astimezone(timezone.get_default_timezone()).date()
    except (ValueError, OverflowError):
        return value.date()


def clean_text(text: str | None) -> str:
    """Collapse runs of whitespace; banks pad their fields with spaces."""
    return " ".join((text or "").split())


def compact_account(text: str | None) -> str:
    return "".join((text or "").split()).upper()


@dataclass
class TransactionDraft:
    """A transaction before its dedupe key is known. `key_basis` is what identifies it."""

    transaction: BankTransaction
    key_basis: tuple[str, ...]


@dataclass
class StatementDraft:
    statement: BankStatement
    drafts: list[TransactionDraft] = field(default_factory=list)


def dedupe_key(account: str, basis: tuple[str, ...], occurrence: int) -> str:
    parts = [DEDUPE_KEY_VERSION, compact_account(account), *basis]
    if occurrence:
        parts.append(f"#{occurrence}")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def finish(statement_drafts: list[StatementDraft]) -> list[BankStatement]:
    """Give every transaction its dedupe key. Identical transactions on one account (two
    equal payments on one day without a bank reference) are told apart by how many
    identical ones came before them in the file, so the first keeps the plain key."""
    seen: Counter = Counter()
    statements = []
    for draft in statement_drafts:
        account = draft.statement.account_iban
        entries = []
        for tx_draft in draft.drafts:
            counter_key = (compact_account(account), tx_draft.key_basis)
            occurrence = seen[counter_key]
            seen[counter_key] += 1
            entries.append(
                replace(tx_draft.transaction, dedupe_key=dedupe_key(account, tx_draft.key_basis, occurrence))
            )
        statements.append(replace(draft.statement, entries=tuple(entries)))
    return statements


def content_basis(tx: BankTransaction, position: int) -> tuple[str, ...]:
    """The identity of a transaction the bank gave no reference for."""
    reference = tx.structured_reference.reference if tx.structured_reference else ""
    return (
        "content",
        tx.booking_date.isoformat(),
        tx.value_date.isoformat() if tx.value_date else "",
        str(tx.amount),
        tx.currency,
        tx.counterparty_iban,
        tx.counterparty_name,
        reference,
        tx.end_to_end_id,
        tx.instruction_id,
        tx.mandate_id,
        tx.remittance_text,
        tx.additional_info,
        "1" if tx.is_reversal else "0",
        str(position),
    )


def reference_basis(kind: str, reference: str, tx: BankTransaction, position: int) -> tuple[str, ...]:
    """The identity of a transaction by the bank's own reference for it (with its date,
    amount and parties, for banks whose entry references restart per statement)."""
    return (
        "ref",
        kind,
        reference,
        tx.booking_date.isoformat(),
        str(tx.amount),
        tx.end_to_end_id,
        tx.counterparty_iban,
        str(position),
    )
