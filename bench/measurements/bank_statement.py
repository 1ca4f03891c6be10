"""Background work: a bank statement (CAMT.053) of `statement_entries` credit transfers
imported and matched (payments.services.statements.bank_statement_import, which
`manage.py import_bank_statement` calls), in a fresh process for its time and peak memory.

Each entry pays an unpaid bank-transfer order of the data set with its structured payment
reference and its exact amount, as a customer's bank would report it. An import changes
the data (the orders are paid): a second run finds fewer unpaid orders (`entries` says how
many were used; `--regenerate` for a fresh data set)."""

import datetime
import hashlib
import random
from xml.sax.saxutils import escape

from django.utils import timezone

from bench.measurements.background import find_callable, profile_background, run_isolated
from bench.registry import Skip, Target, measurement

SERVICE = ("payments.services.statements:bank_statement_import",)
ACCOUNT = "NL91ABNA0417164300"


def nl_iban(bank: str, account: int) -> str:
    """A valid Dutch IBAN (ISO 7064 mod 97-10 check digits)."""
    bban = f"{bank}{account:010d}"
    digits = "".join(str(int(c, 36)) for c in bban + "NL00")
    return f"NL{98 - int(digits) % 97:02d}{bban}"


def camt053(entries: list[dict], *, statement_id: str, day: datetime.date) -> bytes:
    """A camt.053.001.02 statement with one booked credit entry per payment:
    {"amount": "42.85", "reference": 16 digits, "name": …, "iban": …}."""
    total = sum(int(e["amount"].replace(".", "")) for e in entries)
    now = timezone.now().replace(microsecond=0).isoformat()
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>',
        f"<GrpHdr><MsgId>{statement_id}</MsgId><CreDtTm>{now}</CreDtTm></GrpHdr>",
        f"<Stmt><Id>{statement_id}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>{now}</CreDtTm>",
        f"<Acct><Id><IBAN>{ACCOUNT}</IBAN></Id><Ccy>EUR</Ccy></Acct>",
        '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"<Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>",
        f'<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{total // 100}.{total % 100:02d}</Amt>'
        f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>",
    ]
    for i, e in enumerate(entries):
        ref = hashlib.blake2b(f"{statement_id}:{i}".encode(), digest_size=8).hexdigest().upper()
        parts.append(
            f'<Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="EUR">{e["amount"]}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            f"<Sts>BOOK</Sts><BookgDt><Dt>{day.isoformat()}</Dt></BookgDt><ValDt><Dt>{day.isoformat()}</Dt></ValDt>"
            f"<AcctSvcrRef>{ref}</AcctSvcrRef>"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
            f'<AmtDtls><TxAmt><Amt Ccy="EUR">{e["amount"]}</Amt></TxAmt></AmtDtls>'
            f"<RltdPties><Dbtr><Nm>{escape(e['name'])}</Nm></Dbtr><DbtrAcct><Id><IBAN>{e['iban']}</IBAN></Id>"
            "</DbtrAcct></RltdPties>"
            "<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>CUR</Issr></Tp>"
            f"<Ref>{e['reference']}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>"
        )
    parts.append("</Stmt></BkToCstmrStmt></Document>")
    return "".join(parts).encode()


def unpaid_bank_transfers(limit: int) -> list[dict]:
    from orders.models import Order

    rows = (
        Order.objects.filter(payment_method="bank_transfer", cleared_at__isnull=True, cancelled_at__isnull=True)
        .order_by("-placed_at")
        .values_list("payment_reference", "total_amount", "first_name", "last_name")[:limit]
    )
    rng = random.Random(9)
    banks = ("INGB", "RABO", "ABNA", "SNSB", "TRIO", "BUNQ", "KNAB", "ASNB")
    return [
        {
            "reference": ref,
            "amount": f"{total:.2f}",
            "name": f"{first} {last}".strip() or "Onbekend",
            "iban": nl_iban(rng.choice(banks), rng.randrange(10**9, 10**10)),
        }
        for ref, total, first, last in rows
    ]


@measurement(
    "bank_statement",
    title="a bank statement (CAMT.053) imported and matched",
    order=50,
    targets=[
        Target("bank_statement.seconds", "<", 30, "10,000 entries matched < 30 s", full_scale_only=True),
        Target("bank_statement.peak_rss_mb", "<", 500, "peak memory < 500 MB", full_scale_only=True),
    ],
)
def bank_statement(ctx) -> dict:
    found = find_callable(SERVICE)
    if found is None:
        raise Skip(
            "the bank statement import (payments.services.statements.bank_statement_import) is not in the project yet"
        )
    entries = unpaid_bank_transfers(ctx.profile.statement_entries)
    if not entries:
        raise Skip("the data set has no unpaid bank-transfer orders left (run with --regenerate)")
    day = timezone.localdate()
    path = ctx.path("statements", f"camt053-{ctx.run_id}.xml")
    path.write_bytes(camt053(entries, statement_id=f"BENCH-{ctx.run_id}", day=day))
    run = run_isolated("bench.measurements.bank_statement:import_file", {"path": str(path)})
    profile = None
    if ctx.profile_misses:
        more = unpaid_bank_transfers(min(200, ctx.profile.statement_entries))
        if more:
            second = ctx.path("statements", f"camt053-{ctx.run_id}-profile.xml")
            second.write_bytes(camt053(more, statement_id=f"BENCH-{ctx.run_id}-P", day=day))
            profile = profile_background(
                ctx, "bench.measurements.bank_statement:import_file", "bank_statement", {"path": str(second)}
            )
    return {
        **({"profile": profile} if profile else {}),
        "service": found[0],
        "entries": len(entries),
        "wanted": ctx.profile.statement_entries,
        "file_mb": round(path.stat().st_size / 1e6, 2),
        "seconds": run["seconds"],
        "peak_rss_mb": run["peak_rss_mb"],
        "baseline_rss_mb": run["baseline_rss_mb"],
        **run["result"],
    }


def import_file(path: str) -> dict:
    """In the child process: import and match the statement as the command does."""
    from pathlib import Path

    from core.audit import acting_as
    from payments.services.statements import bank_statement_import

    data = Path(path).read_bytes()
    with acting_as(label="command:import_bank_statement"):
        result = bank_statement_import(data=data, filename=Path(path).name)
    return {
        "new_lines": result.new_lines,
        "matched": len(result.matched),
        "left_for_finance": len(result.left),
        "other": len(result.other),
    }
