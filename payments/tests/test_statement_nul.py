"""An MT940 file with a NUL byte is refused where it is (no MT940 character, and no text
column could store it: it used to fail in the database after parsing)."""

import pytest

from payments.exceptions import StatementParseError
from payments.statements import parse_statement_file
from payments.tests.test_statements import MT940_STRUCTURED


@pytest.mark.parametrize(("needle", "line"), [(b"Jan Jansen", 9), (b"storno", 12)])
def test_a_nul_byte_in_mt940_is_refused_with_its_line(needle, line):
    data = MT940_STRUCTURED.replace(needle, needle[:3] + b"\x00" + needle[3:])
    with pytest.raises(StatementParseError) as error:
        parse_statement_file(data, "x.sta")
    assert error.value.location == f"line {line}"
    assert "NUL" in error.value.problem
