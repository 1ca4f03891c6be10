"""Writing a CAMT.053 (camt.053.001.02) statement: for demo data, load tests and tests.
The back-office never sends statements anywhere; it only needs to make files a bank
would, to read them back."""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class StatementEntry:
    """One booked entry: amount positive = money in. `reference` is a betalingskenmerk
    (structured, SCOR/CUR); `text` the free text."""

    amount: Decimal
    reference: str = ""
    text: str = ""
    name: str = "A. Klant"
    iban: str = "NL02ABNA0123456789"
    end_to_end_id: str = "NOTPROVIDED"
    bank_reference: str = ""
    booking_date: datetime.date | None = None


def camt053_document(
    entries: list[StatementEntry],
    *,
    statement_id: str = "S1",
    account: str = "NL91ABNA0417164300",
    opening_balance: Decimal = Decimal("1000.00"),
    created_at: datetime.datetime | None = None,
    default_date: datetime.date | None = None,
) -> bytes:
    default_date = default_date or datetime.date(2026, 11, 20)
    created = created_at.isoformat(timespec="seconds") if created_at else f"{default_date.isoformat()}T08:00:00"
    parts = []
    total = Decimal("0.00")
    for index, entry in enumerate(entries, start=1):
        amount = Decimal(entry.amount)
        total += amount
        indicator = "CRDT" if amount > 0 else "DBIT"
        party = "Dbtr" if amount > 0 else "Cdtr"
        day = (entry.booking_date or default_date).isoformat()
        strd = (
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>CUR</Issr></Tp>"
            f"<Ref>{escape(entry.reference)}</Ref></CdtrRefInf></Strd>"
            if entry.reference
            else ""
        )
        ustrd = f"<Ustrd>{escape(entry.text)}</Ustrd>" if entry.text else ""
        bank_reference = entry.bank_reference or f"{statement_id}-{index}"
        parts.append(
            f'<Ntry><Amt Ccy="EUR">{abs(amount):.2f}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts>'
            f"<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
            f"<AcctSvcrRef>{escape(bank_reference)}</AcctSvcrRef>"
            "<NtryDtls><TxDtls><Refs>"
            f"<EndToEndId>{escape(entry.end_to_end_id)}</EndToEndId></Refs>"
            f"<RltdPties><{party}><Nm>{escape(entry.name)}</Nm></{party}>"
            f"<{party}Acct><Id><IBAN>{escape(entry.iban)}</IBAN></Id></{party}Acct></RltdPties>"
            f"<RmtInf>{ustrd}{strd}</RmtInf></TxDtls></NtryDtls></Ntry>"
        )
    closing = opening_balance + total
    first_day = min((e.booking_date or default_date for e in entries), default=default_date)
    last_day = max((e.booking_date or default_date for e in entries), default=default_date)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>{escape(statement_id)}</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{escape(statement_id)}</Id><Acct><Id><IBAN>{escape(account)}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">'
        f"{abs(opening_balance):.2f}</Amt><CdtDbtInd>{'CRDT' if opening_balance >= 0 else 'DBIT'}</CdtDbtInd>"
        f"<Dt><Dt>{(first_day - datetime.timedelta(days=1)).isoformat()}</Dt></Dt></Bal>"
        '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">'
        f"{abs(closing):.2f}</Amt><CdtDbtInd>{'CRDT' if closing >= 0 else 'DBIT'}</CdtDbtInd>"
        f"<Dt><Dt>{last_day.isoformat()}</Dt></Dt></Bal>"
        f"{''.join(parts)}</Stmt></BkToCstmrStmt></Document>"
    ).encode()
