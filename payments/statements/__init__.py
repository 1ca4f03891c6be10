"""Bank statements: CAMT.053 and MT940 files read into one normalised structure.

    statements = parse_statement_file(data, filename="2026-11-22.xml")

Every problem with the file (broken, truncated, not a statement) raises
`StatementParseError` with a message that says where.
"""

import re

from django.utils.translation import gettext as _

from payments import conf
from payments.exceptions import StatementParseError
from payments.statements.camt import parse_camt053
from payments.statements.common import finish
from payments.statements.mt940 import parse_mt940
from payments.statements.types import BankStatement, BankTransaction, StructuredReference

__all__ = [
    "BankStatement",
    "BankTransaction",
    "StatementParseError",
    "StructuredReference",
    "detect_statement_format",
    "parse_statement_file",
]

CAMT053 = "camt.053"
MT940 = "mt940"

_MT940_FIELD = re.compile(rb"(?m)^\s*(?:\{4:)?:20:")


def detect_statement_format(data: bytes, filename: str | None = None) -> str | None:
    """ "camt.053", "mt940" or None, from the content (the file name only breaks a tie)."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return CAMT053
    if _MT940_FIELD.search(data) and (b":61:" in data or b":25:" in data or b":62F:" in data):
        return MT940
    name = (filename or "").lower()
    if name.endswith(".xml"):
        return CAMT053
    if name.endswith((".sta", ".940", ".mt940", ".swi")):
        return MT940
    return None


def parse_statement_file(data: bytes, filename: str | None = None) -> list[BankStatement]:
    """Read a CAMT.053 or MT940 file: one BankStatement per statement in it."""
    if not isinstance(data, (bytes, bytearray)):
        raise StatementParseError(_("A statement file is read as bytes."), filename=filename)
    data = bytes(data)
    if not data.strip():
        raise StatementParseError(_("The file is empty."), filename=filename, code="statement_empty")
    if len(data) > conf.statement_max_bytes():
        raise StatementParseError(
            _("The file is larger than %(size)s bytes.") % {"size": conf.statement_max_bytes()},
            filename=filename,
            code="statement_too_large",
        )
    kind = detect_statement_format(data, filename)
    if kind == CAMT053:
        drafts = parse_camt053(data, filename)
    elif kind == MT940:
        drafts = parse_mt940(data, filename)
    else:
        raise StatementParseError(
            _("This is not a bank statement this system reads (CAMT.053 or MT940)."),
            filename=filename,
            code="statement_format_unknown",
        )
    return finish(drafts)
