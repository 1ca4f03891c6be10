import datetime
from decimal import Decimal

import pytest
import xmlschema
from defusedxml import ElementTree
from django.test import override_settings
from django.utils import timezone
from sepaxml import validation

from payments.exceptions import InvalidIban, SepaFileError
from payments.sepa import SepaTransfer, refund_transfer_file, sepa_text

NS = {
    "pain.001.001.03": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03",
    "pain.001.001.09": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09",
}


def _tomorrow():
    return timezone.localdate() + datetime.timedelta(days=1)


def _transfers():
    return [
        SepaTransfer(
            name="Jöhn Dœ & Zoon",
            iban="NL02 ABNA 0123 4567 89",
            amount=Decimal("42.85"),
            end_to_end_id="REFUND-2026-000001",
            remittance="Terugbetaling bestelling WEB-2026-000123 creditnota 2026-000007",
        ),
        SepaTransfer(
            name="Erika Mustermann",
            iban="DE89370400440532013000",
            bic="COBADEFFXXX",
            amount=Decimal("3"),
            end_to_end_id="REFUND-2026-000002",
            remittance="",
        ),
    ]


def _schema(name):
    from pathlib import Path

    return xmlschema.XMLSchema(str(Path(validation.__file__).parent / "schemas" / f"{name}.xsd"))


@pytest.mark.parametrize("schema", ["pain.001.001.03", "pain.001.001.09"])
def test_refund_file_validates_and_reads_back(schema):
    # when
    data = refund_transfer_file(
        transfers=_transfers(), execution_date=_tomorrow(), message_id="REFUNDS-20261123-01", schema=schema
    )
    # then it is valid against the schema sepaxml ships
    _schema(schema).validate(data.decode())
    # and says what we asked
    ns = {"p": NS[schema]}
    root = ElementTree.fromstring(data)
    assert root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", ns).text == "REFUNDS-20261123-01"
    assert root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", ns).text == "2"
    assert root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", ns).text == "45.85"
    info = root.find("p:CstmrCdtTrfInitn/p:PmtInf", ns)
    assert info.find("p:Dbtr/p:Nm", ns).text == "Backoffice Demo B.V."
    assert info.find("p:DbtrAcct/p:Id/p:IBAN", ns).text == "NL91ABNA0417164300"
    transactions = info.findall("p:CdtTrfTxInf", ns)
    assert [t.find("p:PmtId/p:EndToEndId", ns).text for t in transactions] == [
        "REFUND-2026-000001",
        "REFUND-2026-000002",
    ]
    assert [t.find("p:Amt/p:InstdAmt", ns).text for t in transactions] == ["42.85", "3.00"]
    assert [t.find("p:CdtrAcct/p:Id/p:IBAN", ns).text for t in transactions] == [
        "NL02ABNA0123456789",
        "DE89370400440532013000",
    ]
    assert transactions[0].find("p:Cdtr/p:Nm", ns).text == "John Doe Zoon"  # SEPA characters only
    assert transactions[0].find("p:RmtInf/p:Ustrd", ns).text.startswith("Terugbetaling bestelling WEB-2026-000123")
    assert transactions[1].find("p:RmtInf/p:Ustrd", ns).text == "REFUND-2026-000002"  # no text: the id


def test_names_and_texts_are_cut_to_sepa_lengths():
    transfer = SepaTransfer(
        name="Ä" * 100, iban="NL02ABNA0123456789", amount=Decimal("1.00"), end_to_end_id="E1", remittance="x" * 300
    )
    data = refund_transfer_file(transfers=[transfer], execution_date=_tomorrow(), message_id="M1")
    root = ElementTree.fromstring(data)
    ns = {"p": NS["pain.001.001.03"]}
    assert root.find(".//p:Cdtr/p:Nm", ns).text == "A" * 70
    assert root.find(".//p:Ustrd", ns).text == "x" * 140
    assert sepa_text("Café «Zoë» & Co; 100%", 70) == "Cafe Zoe Co 100"


def _refused(error_type=SepaFileError, **changes):
    transfers = _transfers()
    if "transfer" in changes:
        transfers[0] = changes.pop("transfer")
    arguments = {"transfers": transfers, "execution_date": _tomorrow(), "message_id": "M1", **changes}
    with pytest.raises(error_type) as error:
        refund_transfer_file(**arguments)
    return error.value


def test_bad_iban_is_a_typed_error_naming_the_transfer():
    error = _refused(
        InvalidIban,
        transfer=SepaTransfer(name="A", iban="NL02ABNA0123456788", amount=Decimal("1.00"), end_to_end_id="E1"),
    )
    assert error.code == "invalid_iban"
    assert error.attr == "transfers.0.iban"


@pytest.mark.parametrize(
    ("transfer", "attr"),
    [
        (
            SepaTransfer(name="A", iban="NL02ABNA0123456789", amount=Decimal("0.00"), end_to_end_id="E1"),
            "transfers.0.amount",
        ),
        (
            SepaTransfer(name="A", iban="NL02ABNA0123456789", amount=Decimal("-5.00"), end_to_end_id="E1"),
            "transfers.0.amount",
        ),
        (
            SepaTransfer(name="A", iban="NL02ABNA0123456789", amount=Decimal("1.005"), end_to_end_id="E1"),
            "transfers.0.amount",
        ),
        (SepaTransfer(name="A", iban="NL02ABNA0123456789", amount=1.5, end_to_end_id="E1"), "transfers.0.amount"),
        (
            SepaTransfer(name="  \t ", iban="NL02ABNA0123456789", amount=Decimal("1.00"), end_to_end_id="E1"),
            "transfers.0.name",
        ),
        (
            SepaTransfer(name="A", iban="NL02ABNA0123456789", amount=Decimal("1.00"), end_to_end_id=""),
            "transfers.0.end_to_end_id",
        ),
        (
            SepaTransfer(name="A", iban="NL02ABNA0123456789", amount=Decimal("1.00"), end_to_end_id="a//b"),
            "transfers.0.end_to_end_id",
        ),
        (
            SepaTransfer(name="A", iban="NL02ABNA0123456789", amount=Decimal("1.00"), end_to_end_id="x" * 36),
            "transfers.0.end_to_end_id",
        ),
        (
            SepaTransfer(
                name="A", iban="NL02ABNA0123456789", amount=Decimal("1.00"), end_to_end_id="REFUND-2026-000002"
            ),
            "transfers.1.end_to_end_id",
        ),
        (
            SepaTransfer(
                name="A", iban="NL02ABNA0123456789", amount=Decimal("1.00"), end_to_end_id="E1", bic="NOTABIC"
            ),
            "transfers.0.bic",
        ),
    ],
)
def test_what_a_bank_would_refuse_is_refused(transfer, attr):
    assert _refused(transfer=transfer).attr == attr


def test_empty_list_past_date_and_bad_message_id_are_refused():
    assert _refused(transfers=[]).code == "sepa_empty"
    assert _refused(execution_date=timezone.localdate() - datetime.timedelta(days=1)).code == "invalid_date"
    assert _refused(message_id="").attr == "message_id"
    assert _refused(schema="pain.001.001.02").code == "invalid_schema"


@override_settings(SELLER={"name": "Shop B.V.", "iban": "NL91ABNA0417164301", "bic": "ABNANL2A"})
def test_a_bad_seller_iban_is_refused():
    assert _refused(InvalidIban).attr == "seller.iban"


@override_settings(SELLER={"name": "Shop B.V.", "iban": "NL91ABNA0417164300", "bic": ""})
def test_seller_bic_comes_from_the_iban_when_not_set():
    data = refund_transfer_file(transfers=_transfers(), execution_date=_tomorrow(), message_id="M2")
    assert b"<BIC>ABNANL2A</BIC>" in data
