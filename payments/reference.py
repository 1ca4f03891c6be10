"""The Dutch structured payment reference (betalingskenmerk) and the search for
references in the free text of a bank transfer.

Betaalvereniging rules (NL-RULES §5):
- 16 digits: a check digit followed by 15 digits (what this shop issues);
- 7 digits: no check digit at all;
- 9 to 14 digits: a check digit, a length code (the number of digits that follow, mod 10)
  and 7 to 12 digits; the length code counts in the check digit.
The check digit is a weighted modulus 11: weights 2, 4, 8, 5, 10, 9, 7, 3, 6, 1 from the
right, repeating; C = 11 − (sum mod 11), where 10 becomes 1 and 11 becomes 0.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum import iso11649

from payments.exceptions import InvalidPaymentReference

WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6, 1)
REFERENCE_LENGTH = 16
MAX_REFERENCE_NUMBER = 10**15 - 1

_SEPARATORS = re.compile(r"[\s.\-]+")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def payment_reference_check_digit(digits: str) -> int:
    """The check digit over `digits` (the digits after the check digit itself)."""
    if not digits or not _ASCII_DIGITS.fullmatch(digits):
        raise InvalidPaymentReference(_("A payment reference consists of digits only."))
    total = sum(int(digit) * WEIGHTS[position % len(WEIGHTS)] for position, digit in enumerate(reversed(digits)))
    check = 11 - total % 11
    if check == 10:
        return 1
    if check == 11:
        return 0
    return check


def payment_reference_for(number: int) -> str:
    """The 16-digit betalingskenmerk for a positive number below 10^15: the check digit
    followed by the number zero-padded to 15 digits."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidPaymentReference(_("A payment reference is made from a whole number."))
    if not 1 <= number <= MAX_REFERENCE_NUMBER:
        raise InvalidPaymentReference(
            _("A payment reference is made from a number from 1 to %(max)s.") % {"max": MAX_REFERENCE_NUMBER}
        )
    body = f"{number:015d}"
    return f"{payment_reference_check_digit(body)}{body}"


def payment_reference_normalise(text: str) -> str:
    """The reference as people write it ("5000 0567 8901 2345", "5000.0567.8901.2345")
    without the spaces, dots and dashes."""
    return _SEPARATORS.sub("", str(text or ""))


def payment_reference_is_valid(value: object) -> bool:
    """Whether `value` is a betalingskenmerk of an allowed length with a correct check digit
    (spaces, dots and dashes are ignored)."""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return False
    digits = payment_reference_normalise(str(value))
    if not _ASCII_DIGITS.fullmatch(digits):
        return False
    length = len(digits)
    if length == REFERENCE_LENGTH:
        return int(digits[0]) == payment_reference_check_digit(digits[1:])
    if length == 7:
        return True
    if 9 <= length <= 14:
        length_code, rest = digits[1], digits[2:]
        if int(length_code) != len(rest) % 10:
            return False
        return int(digits[0]) == payment_reference_check_digit(digits[1:])
    return False


# --- finding references in free text ---------------------------------------------------


@dataclass(frozen=True)
class ReferenceCandidates:
    """What the free text of a transfer may refer to, in order of appearance, without
    duplicates. Candidates only: whoever matches checks that they exist."""

    payment_references: tuple[str, ...] = ()
    order_numbers: tuple[str, ...] = ()
    invoice_numbers: tuple[str, ...] = ()
    provider_payment_ids: tuple[str, ...] = ()
    rf_references: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (
            self.payment_references
            or self.order_numbers
            or self.invoice_numbers
            or self.provider_payment_ids
            or self.rf_references
        )


_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]+(?:[ .\-][0-9]+)*(?![0-9])")
_CANONICAL_ORDER = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2,8})-(20[0-9]{2})-([0-9]{6,10})(?![0-9])")
_INVOICE = re.compile(r"(?<![0-9A-Za-z\-])(20[0-9]{2})[\-/. ]?([0-9]{6})(?![0-9])")
_PROVIDER_ID = re.compile(r"(?<![A-Za-z0-9_])((?:sim_)?(?:tr|pl)_[A-Za-z0-9]{5,40})(?![A-Za-z0-9_])")
_RF = re.compile(r"(?<![A-Za-z0-9])(RF[0-9]{2}(?: ?[A-Za-z0-9]){1,21})(?![A-Za-z0-9])", re.IGNORECASE)


def _order_pattern(prefixes: Iterable[str]) -> re.Pattern:
    alternatives = "|".join(sorted({re.escape(p.strip()) for p in prefixes if p and p.strip()}, key=len, reverse=True))
    return re.compile(
        rf"(?<![A-Za-z0-9])({alternatives})[\s\-_/.]*(20[0-9]{{2}})[\s\-_/.]*([0-9]{{1,10}})(?![0-9])",
        re.IGNORECASE,
    )


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _payment_references_in(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for run in _DIGIT_RUN.finditer(text):
        groups = [(m.start() + run.start(), m.end() + run.start()) for m in re.finditer(r"[0-9]+", run.group())]
        start = 0
        while start < len(groups):
            digits = ""
            matched = False
            for end in range(start, len(groups)):
                digits += text[groups[end][0] : groups[end][1]]
                if len(digits) > REFERENCE_LENGTH:
                    break
                if len(digits) == REFERENCE_LENGTH and payment_reference_is_valid(digits):
                    found.append(digits)
                    spans.append((groups[start][0], groups[end][1]))
                    start = end + 1
                    matched = True
                    break
            if not matched:
                start += 1
    return found, spans


def find_reference_candidates(text: str, *, order_prefixes: Iterable[str] | None = None) -> ReferenceCandidates:
    """Candidate 16-digit payment references (check digit verified), order numbers
    (`WEB-2026-000123`), invoice numbers (`2026-000045`), provider payment ids (`tr_…`)
    and RF creditor references in a transfer's free text.

    With `order_prefixes` (the channels' order number prefixes) order numbers are also
    recognised when the payer wrote them loosely (`web 2026 123`, `WEB2026000123`);
    without, only the exact form `ABC-2026-000123` counts. Order numbers come back in
    that form, the number padded to six digits."""
    text = str(text or "")
    payment_references, taken = _payment_references_in(text)

    orders: list[str] = []
    prefixes = [p for p in (order_prefixes or []) if p and p.strip()]
    pattern = _order_pattern(prefixes) if prefixes else _CANONICAL_ORDER
    for match in pattern.finditer(text):
        if _overlaps(match.span(), taken):
            continue
        prefix, year, number = match.groups()
        orders.append(f"{prefix.upper()}-{year}-{number.zfill(6)}")
        taken.append(match.span())

    invoices: list[str] = []
    for match in _INVOICE.finditer(text):
        if _overlaps(match.span(), taken):
            continue
        invoices.append(f"{match.group(1)}-{match.group(2)}")

    provider_ids = [match.group(1) for match in _PROVIDER_ID.finditer(text)]

    rf_references: list[str] = []
    for match in _RF.finditer(text):
        compact = re.sub(r"\s", "", match.group(1)).upper()
        if iso11649.is_valid(compact):
            rf_references.append(compact)

    return ReferenceCandidates(
        payment_references=_unique(payment_references),
        order_numbers=_unique(orders),
        invoice_numbers=_unique(invoices),
        provider_payment_ids=_unique(provider_ids),
        rf_references=_unique(rf_references),
    )
