"""PostNL's change feed, served from the recorded sandbox answer: one call tells what changed
for all our parcels; a repeated answer adds nothing; an outage waits and loses nothing."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone

from carriers.models import CarrierFeedCursor, ShipmentEvent, ShipmentTracking
from carriers.quota import carrier_backoff_until, carrier_failures
from carriers.registry import get_adapter
from carriers.services.polling import carrier_poll
from carriers.statuses import ShipmentStatus as S
from carriers.tests.conftest import ship
from carriers.tests.transport import CarrierTransport, json_response, load_http, mount
from orders.events import OrderEventKind
from orders.models import OrderEvent
from orders.states import OrderStatus

NL = ZoneInfo("Europe/Amsterdam")
FEED = "postnl_shippingstatus_v2_updatedshipments_sandbox-recorded.http"
SECOND = datetime.timedelta(seconds=1)
MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)
FEED_PATH = r"/shipment/v2/status/11223344/updatedshipments$"

live_postnl = override_settings(
    CARRIER_BACKENDS={"postnl": "live"},
    POSTNL_API_KEY="test-key",
    POSTNL_CUSTOMER_NUMBER="11223344",
    POSTNL_BASE_URL="https://postnl.test",
)


@pytest.fixture
def postnl():
    """The live PostNL adapter (as the registry serves it) answering from recordings."""
    with live_postnl:
        adapter = get_adapter("postnl")
        yield adapter, mount(adapter, CarrierTransport())


@pytest.fixture
def parcels(make_order, postnl):
    """An order of two parcels whose barcodes are in the recorded feed, and a parcel of
    another order that the feed does not mention."""
    order = make_order(2)
    delivered = [ship(order, "3SABCD3563340"), ship(order, "3SABCD987578527")]
    other = ship(make_order(1), "3SABCD000000001")
    return order, delivered, other


@pytest.mark.django_db
def test_one_feed_call_delivers_the_parcels_it_mentions(parcels, postnl):
    # given
    order, delivered, other = parcels
    _adapter, transport = postnl
    transport.add("GET", FEED_PATH, load_http(FEED))
    now = timezone.now()
    assert all(
        ShipmentTracking.objects.get(shipment=s).next_poll_at > now + datetime.timedelta(hours=20) for s in delivered
    )

    # when
    stats = carrier_poll(carrier="postnl", now=now)

    # then one call for the last two hours, in Dutch time
    (request,) = transport.sent
    assert request.headers["apikey"] == "test-key"
    period = transport.query(request)["period"]
    assert period[1] == now.astimezone(NL).strftime("%Y-%m-%dT%H:%M:%S")
    assert (stats.calls, stats.feed_calls, stats.feed_parcels, stats.polled) == (1, 1, 2, 0)
    assert (stats.events_stored, stats.status_changes) == (2, 2)
    # the two parcels are delivered at the feed's moments; the order is delivered
    expected = {
        "3SABCD3563340": (datetime.datetime(2021, 2, 26, 12, 57, 15, tzinfo=NL), "11", "Zending afgeleverd"),
        "3SABCD987578527": (
            datetime.datetime(2021, 3, 1, 14, 31, 8, tzinfo=NL),
            "22",
            "Zending afgehaald van Postkantoor",
        ),
    }
    for shipment in delivered:
        shipment.refresh_from_db()
        moment, code, description = expected[shipment.tracking_code]
        assert (shipment.status, shipment.delivered_at) == (S.DELIVERED, moment)
        (event,) = ShipmentEvent.objects.filter(shipment=shipment)
        assert (event.status, event.carrier_status_code, event.description, event.occurred_at) == (
            S.DELIVERED,
            code,
            description,
            moment,
        )
        assert ShipmentTracking.objects.get(shipment=shipment).stop_reason == "final"
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    # the parcel the feed did not mention is untouched and not asked about by code
    other.refresh_from_db()
    assert other.status == S.PRE_TRANSIT
    assert not ShipmentEvent.objects.filter(shipment=other).exists()
    assert transport.calls(path="/barcode/") == []
    assert CarrierFeedCursor.objects.get(carrier="postnl").fetched_until == now


@pytest.mark.django_db
def test_the_same_feed_again_adds_nothing(parcels, postnl):
    # given the feed was read once
    order, _delivered, _other = parcels
    _adapter, transport = postnl
    transport.add("GET", FEED_PATH, load_http(FEED))
    now = timezone.now()
    carrier_poll(carrier="postnl", now=now)
    counts = (ShipmentEvent.objects.count(), OrderEvent.objects.count())

    # when it is read again a quarter later and PostNL repeats the same rows
    again = carrier_poll(carrier="postnl", now=now + datetime.timedelta(minutes=15))

    # then one more call, nothing new
    assert len(transport.sent) == 2
    assert (again.feed_calls, again.feed_parcels, again.events_stored, again.status_changes) == (1, 0, 0, 0)
    assert (ShipmentEvent.objects.count(), OrderEvent.objects.count()) == counts
    assert OrderEvent.objects.filter(order=order, kind=OrderEventKind.SHIPMENT_STATUS).count() == 2


@pytest.mark.django_db
def test_the_feed_is_not_read_more_often_than_the_rule_says(parcels, postnl):
    _adapter, transport = postnl
    transport.add("GET", FEED_PATH, load_http(FEED))
    now = timezone.now()
    carrier_poll(carrier="postnl", now=now)

    soon = carrier_poll(carrier="postnl", now=now + datetime.timedelta(minutes=5))

    assert (soon.calls, len(transport.sent)) == (0, 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("answer", "error", "least_wait"),
    [
        (json_response({"fault": "busy"}, status=429, headers={"Retry-After": "120"}), "carrier_rate_limited", 120),
        (json_response({"fault": "down"}, status=503), "carrier_server_error", 30),
    ],
)
def test_a_feed_outage_backs_off_and_the_next_read_catches_up(parcels, postnl, answer, error, least_wait):
    # given the feed was read (nothing had changed), then PostNL fails once, then answers
    order, _delivered, _other = parcels
    _adapter, transport = postnl
    transport.add("GET", FEED_PATH, json_response([]), answer, load_http(FEED))
    now = timezone.now()
    first = carrier_poll(carrier="postnl", now=now)
    assert (first.feed_calls, first.events_stored) == (1, 0)

    # when the next read fails
    moment = now + 15 * MINUTE
    failed = carrier_poll(carrier="postnl", now=moment)

    # then nothing is stored, the feed position stays, PostNL is left alone for a while
    assert (failed.failed_calls, failed.events_stored) == (1, 0)
    assert failed.error == error
    assert not ShipmentEvent.objects.exists()
    assert CarrierFeedCursor.objects.get(carrier="postnl").fetched_until == now
    until = carrier_backoff_until("postnl", now=moment)
    assert until is not None and until >= moment + datetime.timedelta(seconds=least_wait)
    during = carrier_poll(carrier="postnl", now=moment + 10 * SECOND)
    assert during.calls == 0 and len(transport.sent) == 2

    # when the wait is over
    later = now + 3 * HOUR
    recovered = carrier_poll(carrier="postnl", now=later)

    # then the three hours since the last read are asked for (two calls: at most 2 hours
    # each), the rows PostNL repeats in both are stored once, and the backoff is cleared
    fmt = "%Y-%m-%dT%H:%M:%S"
    assert (recovered.feed_calls, recovered.events_stored) == (2, 2)
    assert [transport.query(r)["period"] for r in transport.sent[2:]] == [
        [now.astimezone(NL).strftime(fmt), (now + 2 * HOUR).astimezone(NL).strftime(fmt)],
        [(now + 2 * HOUR).astimezone(NL).strftime(fmt), later.astimezone(NL).strftime(fmt)],
    ]
    assert ShipmentEvent.objects.count() == 2
    assert carrier_backoff_until("postnl", now=later) is None
    assert carrier_failures("postnl") == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
