"""The one normalised shape every bank statement format is read into."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from stdnum import iso11649

from payments.reference import payment_reference_is_valid

RAW_EXCERPT_LIMIT = 4000


@dataclass(frozen=True)
class StructuredReference:
    """A creditor reference as the bank reports it: CAMT `Strd/CdtrRefInf`
    (`Tp/CdOrPrtry/Cd` = SCOR, `Tp/Issr` = CUR for the Dutch betalingskenmerk, BBA for the
    Belgian one, ISO for an RF reference) or MT940 `/REMI/STRD/CUR/<ref>/`."""

    reference: str
    issuer: str = ""
    type_code: str = ""

    @property
    def is_betalingskenmerk(self) -> bool:
        digits = self.reference.replace(" ", "")
        return len(digits) == 16 and payment_reference_is_valid(digits)

    @property
    def is_rf(self) -> bool:
        return iso11649.is_valid(self.reference.replace(" ", ""))


@dataclass(frozen=True)
class BankTransaction:
    """One booked movement on the account. A CAMT batch entry with per-transaction
    amounts becomes one BankTransaction per `TxDtls`.

    `amount` is signed: credit (money in) positive, debit negative. `counterparty_iban`
    holds the other party's account as the bank gives it: an IBAN normally, an older
    account number where the bank gives nothing else. `dedupe_key` is a 64-character
    hex key, the same on every read of the same file (and of another file holding the
    same booking with the bank's reference), distinct within a file."""

    dedupe_key: str
    booking_date: datetime.date
    value_date: datetime.date | None
    amount: Decimal
    currency: str
    counterparty_name: str = ""
    counterparty_iban: str = ""
    structured_reference: StructuredReference | None = None
    end_to_end_id: str = ""
    remittance_text: str = ""
    bank_reference: str = ""
    is_reversal: bool = False
    raw_excerpt: str = ""
    counterparty_bic: str = ""
    additional_info: str = ""
    mandate_id: str = ""
    instruction_id: str = ""
    transaction_code: str = ""
    return_reason: str = ""
    batch_reference: str = ""
    referred_documents: tuple[str, ...] = ()

    @property
    def is_credit(self) -> bool:
        return self.amount > 0

    @property
    def text_for_matching(self) -> str:
        """Everything a payer may have typed, for the reference finder."""
        parts = [self.remittance_text, self.end_to_end_id, self.additional_info, *self.referred_documents]
        if self.structured_reference:
            parts.insert(0, self.structured_reference.reference)
        return " ".join(part for part in parts if part)


@dataclass(frozen=True)
class BankStatement:
    account_iban: str
    statement_id: str
    created_at: datetime.datetime | None
    currency: str
    opening_balance: Decimal | None
    closing_balance: Decimal | None
    entries: tuple[BankTransaction, ...] = field(default_factory=tuple)
    format: str = ""
    sequence_number: str = ""
    opening_date: datetime.date | None = None
    closing_date: datetime.date | None = None

    @property
    def total(self) -> Decimal:
        return sum((entry.amount for entry in self.entries), Decimal("0.00"))

    @property
    def is_balanced(self) -> bool | None:
        """Whether opening balance + entries = closing balance (None when a balance is
        missing)."""
        if self.opening_balance is None or self.closing_balance is None:
            return None
        return self.opening_balance + self.total == self.closing_balance


def excerpt(text: str) -> str:
    text = text.strip()
    if len(text) <= RAW_EXCERPT_LIMIT:
        return text
    return text[: RAW_EXCERPT_LIMIT - 1] + "…"
