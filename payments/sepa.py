"""SEPA credit transfer files (pain.001) for refunds of bank-transfer payments.

The seller (settings.SELLER: name, iban, bic) is the debtor; each refund is one credit
transfer to the customer's IBAN with its own end-to-end id, so the debit shows up on the
bank statement with that id. Built with `sepaxml` and checked against the XML schema it
ships; texts are transliterated to the SEPA character set and cut to the SEPA lengths.
"""

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaTransfer as _SepaXmlTransfer
from sepaxml.validation import ValidationError as SepaXmlValidationError
from text_unidecode import unidecode

from core.money import from_cents, to_cents
from payments.exceptions import InvalidIban, SepaFileError

SCHEMAS = ("pain.001.001.03", "pain.001.001.09")
NAME_LENGTH = 70
REMITTANCE_LENGTH = 140
ID_LENGTH = 35
MAX_AMOUNT = Decimal("999999999.99")
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


@dataclass(frozen=True)
class SepaTransfer:
    """One refund: who gets how much, with which end-to-end id and remittance text."""

    name: str
    iban: str
    amount: Decimal
    end_to_end_id: str
    remittance: str = ""
    bic: str = ""


def sepa_text(text: str, length: int) -> str:
    """`text` in the SEPA character set (accents transliterated, other characters
    dropped), whitespace collapsed, cut to `length`."""
    cleaned = _NOT_SEPA.sub("", unidecode(str(text or "")))
    return " ".join(cleaned.split())[:length].strip()


def _iban(value: str, *, attr: str) -> IBAN:
    try:
        return IBAN(value)
    except (SchwiftyException, ValueError, TypeError) as exc:
        raise InvalidIban(_("%(iban)r is not a valid IBAN.") % {"iban": str(value)[:40]}, attr=attr) from exc


def _bic(value: str, *, attr: str) -> str:
    try:
        return str(BIC(value))
    except (SchwiftyException, ValueError, TypeError) as exc:
        raise SepaFileError(
            _("%(bic)r is not a valid BIC.") % {"bic": str(value)[:20]}, code="invalid_bic", attr=attr
        ) from exc


def _identifier(value: str, *, attr: str, what: str) -> str:
    value = str(value or "").strip()
    if (
        not value
        or len(value) > ID_LENGTH
        or _NOT_SEPA.search(value)
        or value.startswith("/")
        or value.endswith("/")
        or "//" in value
    ):
        raise SepaFileError(
            _("%(what)s %(value)r must be 1 to 35 SEPA characters, without leading, trailing or double slashes.")
            % {"what": what, "value": value[:40]},
            code="invalid_identifier",
            attr=attr,
        )
    return value


def _cents(amount: object, *, attr: str) -> int:
    if isinstance(amount, (bool, float)) or not isinstance(amount, Decimal):
        raise SepaFileError(_("An amount must be a Decimal."), code="invalid_amount", attr=attr)
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise SepaFileError(
            _("An amount must be more than zero and at most %(max)s.") % {"max": MAX_AMOUNT},
            code="invalid_amount",
            attr=attr,
        )
    cents = to_cents(amount)
    if from_cents(cents) != amount:
        raise SepaFileError(_("An amount has at most two decimals."), code="invalid_amount", attr=attr)
    return cents


class _Transfer(_SepaXmlTransfer):
    """sepaxml's transfer file with the message id we choose (it makes a random one)."""

    def __init__(self, config: dict, schema: str, message_id: str):
        self._wanted_message_id = message_id
        super().__init__(config, schema=schema, clean=False)

    def _create_header(self):
        self.msg_id = self._wanted_message_id
        super()._create_header()


def refund_transfer_file(
    *,
    transfers: list[SepaTransfer],
    execution_date: datetime.date,
    message_id: str,
    schema: str = "pain.001.001.03",
) -> bytes:
    """A pain.001 credit transfer file paying each refund from the seller's account.

    Raises InvalidIban for a bad IBAN and SepaFileError for anything else that a bank
    would refuse (empty list, amounts, identifiers, a date in the past, duplicate
    end-to-end ids); the file is checked against the pain.001 XML schema."""
    if schema not in SCHEMAS:
        raise SepaFileError(_("Unsupported SEPA schema %(schema)r.") % {"schema": schema}, code="invalid_schema")
    if not transfers:
        raise SepaFileError(_("A transfer file needs at least one transfer."), code="sepa_empty", attr="transfers")
    if not isinstance(execution_date, datetime.date) or isinstance(execution_date, datetime.datetime):
        raise SepaFileError(_("The execution date must be a date."), code="invalid_date", attr="execution_date")
    if execution_date < timezone.localdate():
        raise SepaFileError(
            _("The execution date %(date)s lies in the past.") % {"date": execution_date.isoformat()},
            code="invalid_date",
            attr="execution_date",
        )
    message_id = _identifier(message_id, attr="message_id", what=_("Message id"))

    seller = getattr(settings, "SELLER", {}) or {}
    seller_name = sepa_text(seller.get("name", ""), NAME_LENGTH)
    if not seller_name:
        raise SepaFileError(_("The seller has no name (settings.SELLER)."), code="seller_incomplete")
    seller_iban = _iban(seller.get("iban", ""), attr="seller.iban")
    seller_bic = seller.get("bic") or (str(seller_iban.bic) if seller_iban.bic else "")
    if not seller_bic:
        raise SepaFileError(_("The seller has no BIC (settings.SELLER)."), code="seller_incomplete")

    document = _Transfer(
        {
            "name": seller_name,
            "IBAN": seller_iban.compact,
            "BIC": _bic(seller_bic, attr="seller.bic"),
            "batch": True,
            "currency": "EUR",
        },
        schema=schema,
        message_id=message_id,
    )
    seen: set[str] = set()
    for index, transfer in enumerate(transfers):
        prefix = f"transfers.{index}."
        iban = _iban(transfer.iban, attr=f"{prefix}iban")
        name = sepa_text(transfer.name, NAME_LENGTH)
        if not name:
            raise SepaFileError(_("Every transfer needs the payee's name."), code="required", attr=f"{prefix}name")
        end_to_end_id = _identifier(transfer.end_to_end_id, attr=f"{prefix}end_to_end_id", what=_("End-to-end id"))
        if end_to_end_id in seen:
            raise SepaFileError(
                _("End-to-end id %(id)s occurs twice.") % {"id": end_to_end_id},
                code="duplicate_end_to_end_id",
                attr=f"{prefix}end_to_end_id",
            )
        seen.add(end_to_end_id)
        payment = {
            "name": name,
            "IBAN": iban.compact,
            "amount": _cents(transfer.amount, attr=f"{prefix}amount"),
            "execution_date": execution_date,
            "description": sepa_text(transfer.remittance, REMITTANCE_LENGTH) or end_to_end_id,
            "endtoend_id": end_to_end_id,
        }
        if transfer.bic:
            payment["BIC"] = _bic(transfer.bic, attr=f"{prefix}bic")
        document.add_payment(payment)
    try:
        return document.export(validate=True)
    except SepaXmlValidationError as exc:
        raise SepaFileError(
            _("The transfer file does not match the %(schema)s schema: %(error)s")
            % {"schema": schema, "error": str(exc.__cause__ or exc)[:300]},
            code="sepa_schema_invalid",
        ) from exc
