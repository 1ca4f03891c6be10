"""A CSV line with a NUL byte is refused with its line number (no text column can store
NUL: it used to fail in the database, after the check said the file was fine)."""

import pytest

from catalog.tabular import ImportRejected, table_from_csv_bytes


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"code,name\nAMS,Am\x00s\n", 2),
        (b"co\x00de,name\nAMS,Ams\n", 1),
    ],
)
def test_a_line_with_a_nul_byte_is_refused_with_its_number(data, line):
    with pytest.raises(ImportRejected) as rejected:
        table_from_csv_bytes(data)
    assert [(e.line, e.column) for e in rejected.value.errors] == [(line, None)]
