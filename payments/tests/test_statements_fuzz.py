"""Whatever a statement file holds, reading it ends in statements or StatementParseError."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.statements import BankStatement, StatementParseError, parse_statement_file

BANK = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "bank"
SAMPLES = [path.read_bytes() for path in sorted(BANK.iterdir())]
TOKENS = [
    b"<",
    b">",
    b"</Ntry>",
    b"<Ntry>",
    b"</Stmt>",
    b'<Amt Ccy="EUR">',
    b"&amp;",
    b"&#0;",
    b"<![CDATA[x]]>",
    b":20:",
    b":25:",
    b":61:",
    b":86:",
    b":62F:",
    b":60F:",
    b"{4:",
    b"-}",
    b"\r\n",
    b"\n",
    b"/REMI/",
    b"/EREF/",
    b"/CNTP/",
    b"//",
    b",",
    b"9" * 40,
    b"RC",
    b"RD",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"<!DOCTYPE x []>",
]


@st.composite
def mutated_statement(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        if not data:
            break
        position = draw(st.integers(min_value=0, max_value=len(data) - 1))
        operation = draw(st.sampled_from(["flip", "delete", "insert", "token", "truncate", "duplicate"]))
        if operation == "flip":
            data[position] = draw(st.integers(min_value=0, max_value=255))
        elif operation == "delete":
            del data[position : position + draw(st.integers(min_value=1, max_value=300))]
        elif operation == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=20))
        elif operation == "token":
            data[position:position] = draw(st.sampled_from(TOKENS))
        elif operation == "truncate":
            data = data[:position]
        else:
            length = draw(st.integers(min_value=1, max_value=400))
            data[position:position] = data[position : position + length]
    return bytes(data)


def _check(data: bytes) -> None:
    try:
        statements = parse_statement_file(data, "fuzz")
    except StatementParseError as error:
        assert error.code.startswith("statement_")
        assert str(error)
        return
    assert all(isinstance(statement, BankStatement) for statement in statements)
    for statement in statements:
        keys = [entry.dedupe_key for entry in statement.entries]
        assert len(set(keys)) == len(keys)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_statement())
def test_mutated_samples_only_ever_raise_statement_parse_error(data):
    _check(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_only_ever_raise_statement_parse_error(data):
    _check(data)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(":0123456789CDRNTFEUR,/\n-{}4ABZ ")), max_size=600))
def test_mt940_shaped_text_only_ever_raises_statement_parse_error(text):
    _check((":20:X\n:25:NL91ABNA0417164300\n" + text).encode())
