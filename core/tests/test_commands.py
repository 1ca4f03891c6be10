import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.models import ApiKey, SalesChannel
from core.selectors import api_key_authenticate
from core.tests.factories import UserFactory
from inventory.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def test_create_channel_creates_then_updates():
    out = StringIO()
    call_command(
        "create_channel",
        "webshop-be",
        "--name",
        "Webshop BE",
        "--cutoff",
        "15:30",
        "--partial-shipments",
        "no",
        stdout=out,
    )
    channel = SalesChannel.objects.get(code="webshop-be")
    assert channel.cutoff_time == datetime.time(15, 30)
    assert channel.partial_shipments is False
    assert "created" in out.getvalue()
    # when: run again with a new name only
    call_command("create_channel", "webshop-be", "--name", "Webshop België", stdout=StringIO())
    channel.refresh_from_db()
    assert channel.name == "Webshop België"
    assert channel.cutoff_time == datetime.time(15, 30)  # unchanged
    assert SalesChannel.objects.count() == 1


@pytest.mark.parametrize("args", [["--cutoff", "25:00"], ["--cutoff", "4pm"], ["--partial-shipments", "maybe"]])
def test_create_channel_rejects_bad_values_and_stores_nothing(args):
    with pytest.raises(CommandError):
        call_command("create_channel", "x", "--name", "X", *args, stdout=StringIO())
    assert not SalesChannel.objects.exists()


@pytest.mark.parametrize("owner", ["channel", "location", "user"])
def test_create_api_token_prints_a_working_key_once(owner, channel):
    LocationFactory(code="UTR")
    UserFactory(username="ops")
    value = {"channel": "webshop-nl", "location": "UTR", "user": "ops"}[owner]
    out, err = StringIO(), StringIO()
    call_command("create_api_token", f"--{owner}", value, stdout=out, stderr=err)
    raw = out.getvalue().strip()
    key = api_key_authenticate(raw_key=raw)
    assert key is not None and key.kind == {"user": "staff"}.get(owner, owner)
    assert raw not in err.getvalue()
    assert ApiKey.objects.filter(key_hash=key.key_hash).count() == 1


def test_create_api_token_unknown_owner_fails():
    with pytest.raises(CommandError, match="No sales channel"):
        call_command("create_api_token", "--channel", "nope", stdout=StringIO())
    assert not ApiKey.objects.exists()


def test_create_api_token_bad_rate_limit_fails(channel):
    with pytest.raises(CommandError, match="rate limit"):
        call_command("create_api_token", "--channel", "webshop-nl", "--rate-limit", "lots", stdout=StringIO())
    assert not ApiKey.objects.exists()
