"""People read the errors and the simulator page in Dutch by default."""

import pytest
from django.utils import translation

from payments.statements import StatementParseError, parse_statement_file


def test_statement_errors_are_dutch_for_dutch_users(samples):
    raw = (samples / "bank" / "mt940_rabobank_structured.txt").read_bytes()
    with translation.override("nl"), pytest.raises(StatementParseError) as error:
        parse_statement_file(raw[: raw.rindex(b":62F:")], "rabo.txt")
    assert str(error.value).startswith("rabo.txt, regel ")
    assert "eindsaldo (:62F:)" in str(error.value)


@pytest.mark.django_db
@pytest.mark.urls("payments.tests.urls")
def test_simulator_page_speaks_dutch(client):
    from decimal import Decimal

    from payments.providers.simulator import SimulatorProvider

    payment = SimulatorProvider().create_payment(
        amount=Decimal("42.85"),
        description="Bestelling",
        reference="5000056789012345",
        redirect_url="",
        webhook_url="",
        idempotency_key="nl-page",
    )
    page = client.get(f"/simulator/psp/{payment.id}/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Betaalsimulator" in page
    assert ">Betaald</button>" in page and ">Geannuleerd</button>" in page
    page_en = client.get(f"/simulator/psp/{payment.id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Payment simulator" in page_en
