"""MT940 customer statements as Dutch banks export them (ING, Rabobank, ABN AMRO and the
Mollie settlement statement), with or without the SWIFT envelope (`{1:}{2:}{4:` … `-}`),
LF or CRLF line endings.

The `:86:` field of the structured Dutch formats is a row of `/CODE/value` subfields:
`/EREF/` end-to-end id, `/REMI/USTD//<text>/` free text, `/REMI/STRD/CUR/<ref>/` the
structured betalingskenmerk, `/CNTP/<iban>/<bic>/<name>/<city>/` (ING),
`/ORDP//NAME/…` or `/BENM//NAME/…` (Rabobank), `/IBAN/…/BIC/…/NAME/…` (ABN AMRO), and
more. Field lines are wrapped at a fixed width, so continuation lines are joined without
a separator.
"""

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from payments.statements.common import (
    StatementDraft,
    TransactionDraft,
    Where,
    clean_text,
    compact_account,
    content_basis,
    parse_amount,
    reference_basis,
)
from payments.statements.types import BankStatement, BankTransaction, StructuredReference, excerpt

_FIELD = re.compile(r"^:([0-9]{2}[A-Z]?):(.*)$")
_BALANCE = re.compile(r"^([CD])([0-9]{6})([A-Z]{3})([0-9]{1,15},[0-9]*)$")
_STATEMENT_LINE = re.compile(
    r"^(?P<value_date>[0-9]{6})(?P<entry_date>[0-9]{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?"
    r"(?P<amount>[0-9]{1,15},[0-9]*)(?P<type>[NFS][A-Z0-9]{3})(?P<rest>.*)$"
)
_DATE_TIME = re.compile(r"^([0-9]{6})([0-9]{4})([+-][0-9]{4})?$")
# Subfield codes of the structured :86: formats (ING, Rabobank, ABN AMRO).
_CODES = (
    "EREF|PREF|IREF|MARF|CSID|CNTP|REMI|PURP|ULTC|ULTD|ULTB|ULTCR|RTRN|TRCD|BENM|ORDP|NAME|ID|ADDR|ISDT|"
    "IBAN|BIC|TRTP|CDTRREFTP|CDTRREF|CD|ISSR|SUM|ACCW|OCMT|CHGS|EXCH|NRTX"
)
_SUBFIELD = re.compile(rf"/({_CODES})/")
_ACCOUNT_LINE = re.compile(r"^(?:[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}|P?[0-9]{5,18})$")
_NO_REFERENCE = {"", "NONREF", "EREF", "NOTPROVIDED"}


@dataclass
class _Field:
    tag: str
    lines: list[str]
    line_number: int

    @property
    def first_line(self) -> str:
        return self.lines[0].strip()

    @property
    def joined(self) -> str:
        return "".join(self.lines).strip()


@dataclass
class _Statement:
    fields: list[_Field] = field(default_factory=list)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _year(two_digits: int) -> int:
    return 2000 + two_digits if two_digits < 80 else 1900 + two_digits


def _yymmdd(text: str, where: Where) -> datetime.date:
    try:
        return datetime.date(_year(int(text[0:2])), int(text[2:4]), int(text[4:6]))
    except ValueError as exc:
        raise where.error(_("%(value)r is not a date (YYMMDD).") % {"value": text}) from exc


def _amount(text: str, where: Where) -> Decimal:
    whole, _comma, decimals = text.partition(",")
    return parse_amount(f"{whole}.{decimals}" if decimals else whole, where)


def subfields(text: str) -> list[tuple[str, str]]:
    """`/EREF/x//REMI/USTD//text/` → [("EREF", "x"), ("REMI", "USTD//text")]; text before
    the first code comes back with the code ""."""
    matches = list(_SUBFIELD.finditer(text))
    if not matches:
        return [("", text)] if text else []
    found: list[tuple[str, str]] = []
    if matches[0].start() > 0:
        found.append(("", text[: matches[0].start()]))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        value = text[match.end() : end]
        if value.endswith("/"):
            value = value[:-1]
        found.append((match.group(1), value))
    return found


@dataclass
class _Information:
    """What the :86: field says about a transaction."""

    end_to_end_id: str = ""
    remittance_text: str = ""
    structured_reference: StructuredReference | None = None
    counterparty_name: str = ""
    counterparty_iban: str = ""
    counterparty_bic: str = ""
    mandate_id: str = ""
    transaction_code: str = ""
    return_reason: str = ""
    additional_info: str = ""


def _information(text: str, is_credit: bool) -> _Information:
    info = _Information()
    parts = subfields(text)
    if not any(code for code, _value in parts):
        info.remittance_text = clean_text(text)
        return info
    party_names: dict[str, str] = {}
    party = ""
    creditor_reference = issuer = reference_type = ""
    texts: list[str] = []
    for code, value in parts:
        if code == "":
            texts.append(value)
        elif code == "EREF":
            info.end_to_end_id = "" if value.strip().upper() == "NOTPROVIDED" else value.strip()
        elif code == "REMI":
            if value.startswith("USTD//"):
                texts.append(value[6:])
            elif value.startswith("STRD/"):
                pieces = value.split("/")
                if len(pieces) >= 3 and pieces[2].strip():
                    info.structured_reference = StructuredReference(
                        reference=pieces[2].strip(), issuer=pieces[1].strip(), type_code="SCOR"
                    )
                elif len(pieces) == 2 and pieces[1].strip():
                    info.structured_reference = StructuredReference(reference=pieces[1].strip(), type_code="SCOR")
            else:
                texts.append(value)
        elif code == "CNTP":
            pieces = [*value.split("/"), "", "", ""][:4]
            info.counterparty_iban = compact_account(pieces[0])
            info.counterparty_bic = pieces[1].strip().upper()
            info.counterparty_name = clean_text(pieces[2])
        elif code in ("ORDP", "BENM"):
            party = code
            if value.strip():
                party_names.setdefault(code, clean_text(value))
        elif code == "NAME":
            party_names.setdefault(party or "NAME", clean_text(value))
        elif code == "IBAN":
            info.counterparty_iban = compact_account(value)
        elif code == "BIC":
            info.counterparty_bic = value.strip().upper()
        elif code == "MARF":
            info.mandate_id = value.strip()
        elif code in ("TRCD", "TRTP"):
            info.transaction_code = info.transaction_code or clean_text(value)
        elif code == "RTRN":
            info.return_reason = clean_text(value)
        elif code == "CDTRREF":
            creditor_reference = value.strip()
        elif code == "ISSR":
            issuer = value.strip()
        elif code == "CD":
            reference_type = value.strip()
        if code not in ("NAME", "ID", "ADDR"):
            party = party if code in ("ORDP", "BENM") else ""
    if creditor_reference and info.structured_reference is None:
        info.structured_reference = StructuredReference(
            reference=creditor_reference, issuer=issuer, type_code=reference_type or "SCOR"
        )
    if not info.counterparty_name:
        preferred = ("ORDP", "BENM") if is_credit else ("BENM", "ORDP")
        for code in (*preferred, "NAME"):
            if party_names.get(code):
                info.counterparty_name = party_names[code]
                break
    info.remittance_text = clean_text(" ".join(texts))
    return info


class Mt940Parser:
    def __init__(self, data: bytes, filename: str | None):
        self.text = _decode(data)
        self.where = Where(filename)

    def parse(self) -> list[StatementDraft]:
        statements = self._statements(self._fields())
        if not statements:
            raise self.where.error(_("The file contains no MT940 statement (no :20: field)."))
        return [self._statement(statement) for statement in statements]

    def _fields(self) -> list[_Field]:
        fields: list[_Field] = []
        current: _Field | None = None
        lines = self.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for number, raw in enumerate(lines, 1):
            if "\x00" in raw:  # no MT940 character; no text column could store it either
                raise self.where.at(_("line %(line)s") % {"line": number}).error(
                    _("A NUL byte: this is not MT940 text.")
                )
            line = raw.rstrip()
            if not line.strip():
                continue
            if line.startswith("{"):
                # SWIFT envelope: {1:…}{2:…}{3:…} headers, then {4: opens the text block
                position = line.find("{4:")
                if position < 0:
                    continue
                line = line[position + 3 :]
                current = None
                if not line.strip():
                    continue
            if line.startswith("-") and (line == "-" or line.startswith("-}")):
                current = None  # end of a message
                continue
            if line.strip() == ":940:":
                continue  # Rabobank's file header
            match = _FIELD.match(line)
            if match:
                current = _Field(tag=match.group(1), lines=[match.group(2)], line_number=number)
                fields.append(current)
            elif current is not None:
                current.lines.append(line)
            elif fields:
                raise self.where.at(_("line %(line)s") % {"line": number}).error(
                    _("Text outside any field: %(text)r.") % {"text": line[:60]}
                )
            # text before the first field is a bank's own file header; it is skipped
        return fields

    def _statements(self, fields: list[_Field]) -> list[_Statement]:
        statements: list[_Statement] = []
        for item in fields:
            if item.tag == "20":
                statements.append(_Statement())
            elif not statements:
                raise self._at(item).error(_("Field :%(tag)s: comes before the first :20: field.") % {"tag": item.tag})
            statements[-1].fields.append(item)
        return statements

    def _at(self, item: _Field) -> Where:
        return self.where.at(_("line %(line)s (:%(tag)s:)") % {"line": item.line_number, "tag": item.tag})

    def _balance(self, item: _Field) -> tuple[Decimal, datetime.date, str]:
        where = self._at(item)
        match = _BALANCE.match(item.joined)
        if not match:
            raise where.error(
                _("%(value)r is not a balance (C/D, YYMMDD, currency, amount).") % {"value": item.joined[:60]}
            )
        mark, date, currency, amount = match.groups()
        value = _amount(amount, where)
        return (value if mark == "C" else -value), _yymmdd(date, where), currency

    def _statement(self, statement: _Statement) -> StatementDraft:
        statement_id = account = sequence = currency = ""
        created_at = None
        opening = closing = None
        opening_date = closing_date = None
        lines: list[tuple[_Field, _Field | None]] = []
        last_was_line = False
        for item in statement.fields:
            tag = item.tag
            if tag == "20":
                statement_id = item.joined
            elif tag == "25":
                account = compact_account(item.joined)
            elif tag in ("28C", "28"):
                sequence = item.joined
            elif tag == "13D":
                created_at = self._created_at(item)
            elif tag in ("60F", "60M") and opening is None:
                opening, opening_date, currency = self._balance(item)
            elif tag in ("62F", "62M"):
                closing, closing_date, closing_currency = self._balance(item)
                currency = currency or closing_currency
            elif tag == "61":
                lines.append((item, None))
            elif tag == "86" and last_was_line:
                lines[-1] = (lines[-1][0], item)
            last_was_line = tag == "61"
        first = statement.fields[0]
        if not statement_id:
            raise self._at(first).error(_("The statement has no reference in :20:."))
        if not account:
            raise self._at(first).error(_("The statement has no account (:25:)."))
        if closing is None:
            raise self._at(statement.fields[-1]).error(
                _("The statement has no closing balance (:62F:); the file may be truncated.")
            )
        if currency and account.endswith(currency) and len(account) > len(currency) + 4:
            account = account[: -len(currency)]  # ING writes the currency after the IBAN

        result = BankStatement(
            account_iban=account,
            statement_id=statement_id,
            created_at=created_at,
            currency=currency,
            opening_balance=opening,
            closing_balance=closing,
            format="mt940",
            sequence_number=sequence,
            opening_date=opening_date,
            closing_date=closing_date,
        )
        draft = StatementDraft(statement=result)
        for statement_line, information in lines:
            draft.drafts.append(self._transaction(statement_line, information, currency))
        return draft

    def _created_at(self, item: _Field) -> datetime.datetime:
        where = self._at(item)
        match = _DATE_TIME.match(item.joined)
        if not match:
            raise where.error(_("%(value)r is not a date and time (YYMMDDHHMM±hhmm).") % {"value": item.joined[:40]})
        date, time, offset = match.groups()
        day = _yymmdd(date, where)
        try:
            tz = datetime.UTC
            if offset:
                minutes = int(offset[1:3]) * 60 + int(offset[3:5])
                tz = datetime.timezone(datetime.timedelta(minutes=minutes if offset[0] == "+" else -minutes))
            return datetime.datetime(day.year, day.month, day.day, int(time[:2]), int(time[2:]), tzinfo=tz)
        except ValueError as exc:
            raise where.error(
                _("%(value)r is not a date and time (YYMMDDHHMM±hhmm).") % {"value": item.joined[:40]}
            ) from exc

    def _transaction(self, line: _Field, information: _Field | None, currency: str) -> TransactionDraft:
        where = self._at(line)
        match = _STATEMENT_LINE.match(line.first_line)
        if not match:
            raise where.error(_("%(value)r is not a statement line.") % {"value": line.first_line[:80]})
        value_date = _yymmdd(match.group("value_date"), where)
        booking_date = value_date
        if match.group("entry_date"):
            entry = match.group("entry_date")
            year = value_date.year
            month = int(entry[:2])
            if month - value_date.month > 6:
                year -= 1
            elif value_date.month - month > 6:
                year += 1
            try:
                booking_date = datetime.date(year, month, int(entry[2:]))
            except ValueError as exc:
                raise where.error(_("%(value)r is not a booking date (MMDD).") % {"value": entry}) from exc
        mark = match.group("mark")
        amount = _amount(match.group("amount"), where)
        is_credit = mark in ("C", "RD")
        signed = amount if is_credit else -amount
        customer_reference, _separator, bank_reference = match.group("rest").partition("//")
        customer_reference = customer_reference.strip()
        bank_reference = bank_reference.strip()

        supplementary = "".join(part.strip() for part in line.lines[1:])
        info = _information(information.joined if information else "", is_credit)
        counterparty_iban = info.counterparty_iban
        transaction_code = info.transaction_code
        if supplementary.startswith("/"):
            extra = _information(supplementary, is_credit)
            transaction_code = transaction_code or extra.transaction_code
        elif supplementary and not counterparty_iban and _ACCOUNT_LINE.match(compact_account(supplementary)):
            counterparty_iban = compact_account(supplementary)
        end_to_end = info.end_to_end_id
        if not end_to_end and customer_reference.upper() not in _NO_REFERENCE:
            end_to_end = customer_reference

        raw = ":61:" + "\n".join(line.lines)
        if information:
            raw += "\n:86:" + "\n".join(information.lines)
        transaction = BankTransaction(
            dedupe_key="",
            booking_date=booking_date,
            value_date=value_date,
            amount=signed,
            currency=currency,
            counterparty_name=info.counterparty_name,
            counterparty_iban=counterparty_iban,
            counterparty_bic=info.counterparty_bic,
            structured_reference=info.structured_reference,
            end_to_end_id=end_to_end,
            remittance_text=info.remittance_text,
            bank_reference=bank_reference if bank_reference.upper() not in _NO_REFERENCE else "",
            is_reversal=mark in ("RC", "RD"),
            raw_excerpt=excerpt(raw),
            additional_info=info.additional_info,
            mandate_id=info.mandate_id,
            transaction_code=transaction_code or match.group("type"),
            return_reason=info.return_reason,
        )
        if transaction.bank_reference:
            basis = reference_basis("bank", transaction.bank_reference, transaction, 0)
        else:
            basis = content_basis(transaction, 0)
        return TransactionDraft(transaction=transaction, key_basis=basis)


def parse_mt940(data: bytes, filename: str | None = None) -> list[StatementDraft]:
    return Mt940Parser(data, filename).parse()
