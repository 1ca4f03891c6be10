"""CAMT.053 (Bank-to-Customer Statement), versions camt.053.001.02 and later.

Parsed with defusedxml (no DTDs, no entities, no external references): a statement file
is untrusted input. Both the structured creditor reference (`RmtInf/Strd/CdtrRefInf`)
and the free text (`RmtInf/Ustrd`) are read, each into its own field.
"""

import re
from dataclasses import dataclass
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from django.utils.translation import gettext as _

from payments.exceptions import StatementParseError
from payments.statements.common import (
    StatementDraft,
    TransactionDraft,
    Where,
    clean_text,
    compact_account,
    content_basis,
    local_date,
    parse_amount,
    parse_iso_date,
    parse_iso_datetime,
    reference_basis,
)
from payments.statements.types import BankStatement, BankTransaction, StructuredReference, excerpt

NAMESPACE = re.compile(r"^\{(urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.([0-9]{2}))\}Document$")
OPENING_CODES = ("OPBD", "PRCD")
CLOSING_CODES = ("CLBD",)


class _Xml:
    """Namespace-aware lookups with plain paths (`Acct/Id/IBAN`)."""

    def __init__(self, namespace: str):
        self.namespace = namespace
        self._paths: dict[str, str] = {}

    def _path(self, path: str) -> str:
        if path not in self._paths:
            self._paths[path] = "/".join(f"{{{self.namespace}}}{part}" for part in path.split("/"))
        return self._paths[path]

    def find(self, element: Element | None, path: str) -> Element | None:
        if element is None:
            return None
        return element.find(self._path(path))

    def findall(self, element: Element | None, path: str) -> list[Element]:
        if element is None:
            return []
        return element.findall(self._path(path))

    def text(self, element: Element | None, *paths: str) -> str:
        """The stripped text of the first of `paths` that has text."""
        for path in paths:
            found = self.find(element, path)
            if found is not None and found.text and found.text.strip():
                return found.text.strip()
        return ""


def _local_name(tag: object) -> str:
    tag = str(tag)
    return tag.rsplit("}", 1)[-1]


def _serialise(element: Element, limit: int = 4000) -> str:
    """A compact XML excerpt without namespace prefixes, built without recursion."""
    out: list[str] = []
    size = 0
    stack: list[tuple[Element, bool]] = [(element, False)]
    while stack and size < limit:
        node, closing = stack.pop()
        name = _local_name(node.tag)
        if closing:
            piece = f"</{name}>"
        else:
            attributes = "".join(f' {_local_name(k)}="{v}"' for k, v in node.attrib.items())
            text = (node.text or "").strip()
            piece = f"<{name}{attributes}>{text}"
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(list(node)))
        out.append(piece)
        size += len(piece)
    return excerpt("".join(out))


@dataclass
class _Party:
    name: str = ""
    account: str = ""
    bic: str = ""


@dataclass
class _Details:
    """What one TxDtls says."""

    element: Element | None = None
    amount: Decimal | None = None
    is_credit: bool | None = None
    account_servicer_reference: str = ""
    transaction_id: str = ""
    end_to_end_id: str = ""
    instruction_id: str = ""
    mandate_id: str = ""
    debtor: _Party | None = None
    creditor: _Party | None = None
    structured_reference: StructuredReference | None = None
    referred_documents: tuple[str, ...] = ()
    remittance_text: str = ""
    additional_info: str = ""
    return_reason: str = ""
    transaction_code: str = ""


class Camt053Parser:
    def __init__(self, data: bytes, filename: str | None):
        self.data = data
        self.where = Where(filename)
        self.x: _Xml
        self.version = ""

    # --- document -------------------------------------------------------------------

    def parse(self) -> list[StatementDraft]:
        root = self._root()
        group_header = self.x.find(root, "BkToCstmrStmt/GrpHdr")
        message_created = self.x.text(group_header, "CreDtTm")
        statements = self.x.findall(root, "BkToCstmrStmt/Stmt")
        if self.x.find(root, "BkToCstmrStmt") is None:
            raise self.where.error(_("The document has no BkToCstmrStmt element."))
        if not statements:
            raise self.where.error(_("The document contains no statement (Stmt)."))
        return [
            self._statement(element, self.where.at(f"Stmt {index}"), message_created)
            for index, element in enumerate(statements, 1)
        ]

    def _root(self) -> Element:
        try:
            root = SafeElementTree.fromstring(self.data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except ParseError as exc:
            line, column = getattr(exc, "position", (None, None))
            where = self.where.at(_("line %(line)s, column %(column)s") % {"line": line, "column": column})
            raise where.error(_("The XML is not well-formed (broken or truncated file).")) from exc
        except DefusedXmlException as exc:
            raise self.where.error(
                _("The XML contains a DTD, entities or external references, which a statement never needs.")
            ) from exc
        except (ValueError, LookupError) as exc:
            raise self.where.error(_("The XML cannot be read: %(error)s") % {"error": str(exc)[:200]}) from exc
        match = NAMESPACE.match(str(root.tag))
        if not match:
            raise self.where.error(
                _("This is not a CAMT.053 statement (the document is %(tag)s).") % {"tag": str(root.tag)[:120]}
            )
        self.x = _Xml(match.group(1))
        self.version = f"camt.053.001.{match.group(2)}"
        return root

    # --- statement ------------------------------------------------------------------

    def _statement(self, stmt: Element, where: Where, message_created: str) -> StatementDraft:
        x = self.x
        statement_id = x.text(stmt, "Id")
        if not statement_id:
            raise where.error(_("The statement has no Id."))
        account = compact_account(x.text(stmt, "Acct/Id/IBAN", "Acct/Id/Othr/Id"))
        if not account:
            raise where.error(_("The statement names no account (Acct/Id)."))
        created_text = x.text(stmt, "CreDtTm") or message_created
        created_at = parse_iso_datetime(created_text, where.at(f"{where.location}, CreDtTm")) if created_text else None

        opening = closing = None
        opening_date = closing_date = None
        balance_currency = ""
        for number, balance in enumerate(x.findall(stmt, "Bal"), 1):
            balance_where = where.at(f"{where.location}, Bal {number}")
            code = x.text(balance, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry")
            amount = self._signed_amount(balance, balance_where)
            amount_element = x.find(balance, "Amt")
            balance_currency = balance_currency or (amount_element.get("Ccy", "") if amount_element is not None else "")
            date = self._date(balance, "Dt", balance_where)
            if code in OPENING_CODES and (opening is None or code == "OPBD"):
                opening, opening_date = amount, date
            elif code in CLOSING_CODES and closing is None:
                closing, closing_date = amount, date

        entries = x.findall(stmt, "Ntry")
        currency = x.text(stmt, "Acct/Ccy") or balance_currency
        if not currency and entries:
            first_amount = x.find(entries[0], "Amt")
            currency = first_amount.get("Ccy", "") if first_amount is not None else ""

        statement = BankStatement(
            account_iban=account,
            statement_id=statement_id,
            created_at=created_at,
            currency=currency.upper(),
            opening_balance=opening,
            closing_balance=closing,
            format=self.version,
            sequence_number=x.text(stmt, "LglSeqNb", "ElctrncSeqNb"),
            opening_date=opening_date,
            closing_date=closing_date,
        )
        draft = StatementDraft(statement=statement)
        for number, entry in enumerate(entries, 1):
            draft.drafts.extend(self._entry(entry, where.at(f"{where.location}, Ntry {number}"), statement))
        return draft

    # --- helpers --------------------------------------------------------------------

    def _signed_amount(self, element: Element, where: Where) -> Decimal:
        amount = parse_amount(self.x.text(element, "Amt"), where)
        indicator = self.x.text(element, "CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            raise where.error(_("Credit/debit indicator is %(value)r, not CRDT or DBIT.") % {"value": indicator[:20]})
        return amount if indicator == "CRDT" else -amount

    def _date(self, element: Element | None, path: str, where: Where):
        day = self.x.text(element, f"{path}/Dt")
        if day:
            return parse_iso_date(day, where)
        moment = self.x.text(element, f"{path}/DtTm")
        if moment:
            return local_date(parse_iso_datetime(moment, where))
        return None

    def _party(self, details: Element, role: str) -> _Party | None:
        x = self.x
        name = x.text(details, f"RltdPties/{role}/Nm", f"RltdPties/{role}/Pty/Nm")
        if not name:
            name = x.text(details, f"RltdPties/Ultmt{role}/Nm", f"RltdPties/Ultmt{role}/Pty/Nm")
        account = compact_account(x.text(details, f"RltdPties/{role}Acct/Id/IBAN", f"RltdPties/{role}Acct/Id/Othr/Id"))
        bic = x.text(
            details,
            f"RltdAgts/{role}Agt/FinInstnId/BIC",
            f"RltdAgts/{role}Agt/FinInstnId/BICFI",
        ).upper()
        if not (name or account or bic):
            return None
        return _Party(name=clean_text(name), account=account, bic=bic)

    def _transaction_code(self, element: Element | None) -> str:
        x = self.x
        domain = x.text(element, "BkTxCd/Domn/Cd")
        if domain:
            family = x.text(element, "BkTxCd/Domn/Fmly/Cd")
            sub_family = x.text(element, "BkTxCd/Domn/Fmly/SubFmlyCd")
            return "/".join(part for part in (domain, family, sub_family) if part)
        return x.text(element, "BkTxCd/Prtry/Cd")

    def _details(self, tx: Element, entry_currency: str, where: Where) -> _Details:
        x = self.x
        details = _Details(element=tx)
        for path in ("AmtDtls/TxAmt/Amt", "Amt", "AmtDtls/InstdAmt/Amt"):
            amount_element = x.find(tx, path)
            if amount_element is None or not (amount_element.text or "").strip():
                continue
            if amount_element.get("Ccy", entry_currency).upper() != entry_currency:
                continue
            try:
                details.amount = parse_amount(amount_element.text, where)
            except StatementParseError:
                details.amount = None  # unusable for splitting; the entry's amount still counts
            break
        indicator = x.text(tx, "CdtDbtInd")
        if indicator in ("CRDT", "DBIT"):
            details.is_credit = indicator == "CRDT"
        details.account_servicer_reference = x.text(tx, "Refs/AcctSvcrRef")
        details.transaction_id = x.text(tx, "Refs/TxId")
        end_to_end = x.text(tx, "Refs/EndToEndId")
        details.end_to_end_id = "" if end_to_end.upper() == "NOTPROVIDED" else end_to_end
        details.instruction_id = x.text(tx, "Refs/InstrId")
        details.mandate_id = x.text(tx, "Refs/MndtId")
        details.debtor = self._party(tx, "Dbtr")
        details.creditor = self._party(tx, "Cdtr")

        references: list[StructuredReference] = []
        documents: list[str] = []
        for structured in x.findall(tx, "RmtInf/Strd"):
            for creditor_reference in x.findall(structured, "CdtrRefInf"):
                reference = x.text(creditor_reference, "Ref")
                if reference:
                    references.append(
                        StructuredReference(
                            reference=reference,
                            issuer=x.text(creditor_reference, "Tp/Issr"),
                            type_code=x.text(creditor_reference, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry"),
                        )
                    )
            for document in x.findall(structured, "RfrdDocInf"):
                number = x.text(document, "Nb")
                if number:
                    documents.append(number)
        details.structured_reference = references[0] if references else None
        details.referred_documents = tuple(documents)
        texts = [clean_text(element.text) for element in x.findall(tx, "RmtInf/Ustrd") if element.text]
        details.remittance_text = " ".join(text for text in texts if text)
        details.additional_info = clean_text(x.text(tx, "AddtlTxInf"))
        details.return_reason = x.text(tx, "RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry")
        details.transaction_code = self._transaction_code(tx)
        return details

    # --- entry ----------------------------------------------------------------------

    def _entry(self, entry: Element, where: Where, statement: BankStatement) -> list[TransactionDraft]:
        x = self.x
        status = x.text(entry, "Sts", "Sts/Cd")
        if status and status.upper() != "BOOK":
            return []  # pending or information only: it comes again once booked
        amount_element = x.find(entry, "Amt")
        if amount_element is None:
            raise where.error(_("The entry has no amount (Amt)."))
        currency = (amount_element.get("Ccy") or statement.currency or "").upper()
        amount = self._signed_amount(entry, where)
        is_reversal = x.text(entry, "RvslInd").lower() in ("true", "1")
        booking_date = self._date(entry, "BookgDt", where)
        value_date = self._date(entry, "ValDt", where)
        if booking_date is None:
            booking_date = value_date
        if booking_date is None:
            raise where.error(_("The entry has no booking date (BookgDt) and no value date (ValDt)."))
        entry_reference = x.text(entry, "AcctSvcrRef")
        entry_reference_kind = "AcctSvcrRef"
        if not entry_reference:
            entry_reference = x.text(entry, "NtryRef")
            entry_reference_kind = "NtryRef"
        entry_code = self._transaction_code(entry)
        entry_info = clean_text(x.text(entry, "AddtlNtryInf"))
        batch_reference = x.text(entry, "NtryDtls/Btch/PmtInfId", "NtryDtls/Btch/MsgId")

        tx_elements = [tx for details in x.findall(entry, "NtryDtls") for tx in x.findall(details, "TxDtls")]
        details = [
            self._details(tx, currency, where.at(f"{where.location}, TxDtls {number}"))
            for number, tx in enumerate(tx_elements, 1)
        ]
        entry_is_credit = amount > 0 or (amount == 0 and x.text(entry, "CdtDbtInd") == "CRDT")

        parts: list[tuple[Decimal, _Details | None]]
        if len(details) > 1 and self._splits(details, amount, entry_is_credit):
            parts = [
                (d.amount if (d.is_credit if d.is_credit is not None else entry_is_credit) else -d.amount, d)
                for d in details
            ]
        elif len(details) == 1:
            parts = [(amount, details[0])]
        elif details:
            parts = [(amount, self._merged(details))]
        else:
            parts = [(amount, None)]

        drafts = []
        for position, (part_amount, part) in enumerate(parts):
            # The other party: the debtor of money received, the creditor of money paid;
            # for a reversal the original direction counts.
            originally_credit = entry_is_credit != is_reversal
            counterparty = None
            if part is not None:
                preferred, other = (part.debtor, part.creditor) if originally_credit else (part.creditor, part.debtor)
                counterparty = preferred or other
            bank_reference = entry_reference or (part.account_servicer_reference if part else "")
            transaction = BankTransaction(
                dedupe_key="",
                booking_date=booking_date,
                value_date=value_date,
                amount=part_amount,
                currency=currency,
                counterparty_name=counterparty.name if counterparty else "",
                counterparty_iban=counterparty.account if counterparty else "",
                counterparty_bic=counterparty.bic if counterparty else "",
                structured_reference=part.structured_reference if part else None,
                end_to_end_id=part.end_to_end_id if part else "",
                remittance_text=part.remittance_text if part else "",
                bank_reference=bank_reference or (part.transaction_id if part else ""),
                is_reversal=is_reversal,
                raw_excerpt=_serialise(entry if len(parts) == 1 or part is None else part.element),
                additional_info=" ".join(text for text in ((part.additional_info if part else ""), entry_info) if text),
                mandate_id=part.mandate_id if part else "",
                instruction_id=part.instruction_id if part else "",
                transaction_code=(part.transaction_code if part and part.transaction_code else entry_code),
                return_reason=part.return_reason if part else "",
                batch_reference=batch_reference,
                referred_documents=part.referred_documents if part else (),
            )
            if entry_reference:
                basis = reference_basis(entry_reference_kind, entry_reference, transaction, position)
            elif part is not None and (part.account_servicer_reference or part.transaction_id):
                kind, reference = (
                    ("TxAcctSvcrRef", part.account_servicer_reference)
                    if part.account_servicer_reference
                    else ("TxId", part.transaction_id)
                )
                basis = reference_basis(kind, reference, transaction, position)
            else:
                basis = content_basis(transaction, position)
            drafts.append(TransactionDraft(transaction=transaction, key_basis=basis))
        return drafts

    @staticmethod
    def _splits(details: list[_Details], amount: Decimal, entry_is_credit: bool) -> bool:
        """A batch is split when every TxDtls has its own amount in the entry's currency
        and together they make the entry's amount."""
        if any(d.amount is None for d in details):
            return False
        total = sum(
            (d.amount if (d.is_credit if d.is_credit is not None else entry_is_credit) else -d.amount) for d in details
        )
        return total == amount

    @staticmethod
    def _merged(details: list[_Details]) -> _Details:
        """Several TxDtls that cannot be split: keep what they agree on, and all texts."""

        def agreed(values):
            """The value every part has; "" when they differ (or some have none)."""
            distinct = set(values)
            return distinct.pop() if len(distinct) == 1 else ""

        references = {d.structured_reference for d in details}
        parties = [d.debtor for d in details]
        creditors = [d.creditor for d in details]
        return _Details(
            end_to_end_id=agreed(d.end_to_end_id for d in details),
            instruction_id=agreed(d.instruction_id for d in details),
            mandate_id=agreed(d.mandate_id for d in details),
            debtor=parties[0] if all(p == parties[0] for p in parties) else None,
            creditor=creditors[0] if all(c == creditors[0] for c in creditors) else None,
            structured_reference=references.pop() if len(references) == 1 else None,  # all parts, one reference
            referred_documents=tuple(doc for d in details for doc in d.referred_documents),
            remittance_text=" ".join(d.remittance_text for d in details if d.remittance_text),
            additional_info=" ".join(d.additional_info for d in details if d.additional_info),
            return_reason=agreed(d.return_reason for d in details),
            transaction_code=agreed(d.transaction_code for d in details),
        )


def parse_camt053(data: bytes, filename: str | None = None) -> list[StatementDraft]:
    return Camt053Parser(data, filename).parse()
