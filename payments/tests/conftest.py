from pathlib import Path

import pytest
from django.utils import translation

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the msgids); test_i18n checks the Dutch."""
    with translation.override("en"):
        yield


@pytest.fixture
def utr(db):
    from payments.tests.factories import warehouse

    return warehouse("UTR")


@pytest.fixture
def shirt(utr):
    from payments.tests.factories import product

    return product("SHIRT-RED-M", location=utr)


@pytest.fixture
def book(utr):
    from payments.tests.factories import product

    return product("BOOK-NL-1", vat_class="reduced", location=utr)


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what is handed over after commit (outbox → Celery, eager in tests) at the end
    of the block, as a real commit would."""

    def runner():
        return django_capture_on_commit_callbacks(execute=True)

    return runner
