"""The reliability and security suite (docs/reliability.md says what each test proves).

Every test under tests/reliability/ is marked `reliability` (run just these with
`pytest -m reliability`); the fault tests that start processes are also `slow`.
"""

from pathlib import Path

import pytest

from tests.reliability.support.world import build_world

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture
def world(channel, other_channel, utr, tshirt):
    """Channel A (`webshop-nl`), channel B (`other-shop`), location UTR with 1000
    T-shirts, and a staff user per role; every one of them with an API key."""
    return build_world(channel_a=channel, channel_b=other_channel, location=utr, product=tshirt)
