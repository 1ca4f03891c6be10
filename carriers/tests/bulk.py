"""Many open parcels at once, for the polling benchmark and the cycle test.

Written with bulk inserts straight into orders' tables (an order of one line, its shipped
fulfilment, the parcel with a simulated tracking code, its tracking state): creating
20,000 parcels through the services would take longer than polling them. Only for
measuring; every behaviour test makes its parcels through orders' services.

    parcels = bulk_open_shipments(count=20_000, carriers=SIMULATED_CARRIERS,
                                  announced_from=now - timedelta(days=1), every_seconds=4.32)
    cycle = tracking_poll_cycle(now=now, adapters=simulator_adapters(now, SIMULATED_CARRIERS))
    cycle.totals()  # {"due": …, "polled": …, "calls": …, "events_stored": …, "skipped_quota": …}
"""

import dataclasses
import datetime
import secrets
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction

from carriers.adapters.simulator import SEED_LIMIT, SimulatorAdapter, simulated_tracking_code
from carriers.models import ShipmentTracking
from carriers.statuses import ShipmentStatus
from catalog.gtin import gtin_with_check_digit
from catalog.tests.factories import ProductFactory
from core.tests.factories import SalesChannelFactory
from customers.models import Customer
from inventory.tests.factories import LocationFactory
from orders.models import Fulfilment, Order, OrderLine, Shipment
from orders.states import FulfilmentStatus, OrderStatus, PaymentMethod

SIMULATED_CARRIERS = ("postnl", "dhl", "dhl_ecommerce_nl", "dpd", "gls")


@dataclasses.dataclass
class BulkParcels:
    shipment_ids: list[int]
    tracking_codes: list[str]


def simulator_adapters(at: datetime.datetime, carriers: Sequence[str] = SIMULATED_CARRIERS) -> dict:
    """The simulated carriers seeing the moment `at` (pass to tracking_poll_cycle)."""
    return {carrier: SimulatorAdapter(carrier, clock=lambda: at) for carrier in carriers}


def bulk_open_shipments(
    *,
    count: int,
    carriers: Sequence[str] = SIMULATED_CARRIERS,
    announced_from: datetime.datetime,
    every_seconds: float = 60.0,
    first_poll_after: datetime.timedelta = datetime.timedelta(minutes=30),
    batch_size: int = 2000,
) -> BulkParcels:
    """`count` shipped, open parcels, the i-th announced `i * every_seconds` after
    `announced_from`, round-robin over `carriers`, each first due `first_poll_after`
    after it shipped."""
    run = secrets.token_hex(3).upper()
    seed_offset = secrets.randbelow(SEED_LIMIT)  # another run's parcels keep their codes
    channel = SalesChannelFactory(code=f"bench-{run.lower()}", name="Bench shop", order_number_prefix="BEN")
    location = LocationFactory(code=f"BEN{run}")
    product = ProductFactory(sku=f"BENCH-{run}", ean=gtin_with_check_digit(f"872{secrets.randbelow(10**9):09d}"))
    customer = Customer.objects.create(channel=channel, email=f"bench-{run.lower()}@example.nl", first_name="Bench")
    shipment_ids: list[int] = []
    codes: list[str] = []
    for start in range(0, count, batch_size):
        stop = min(start + batch_size, count)
        moments = [announced_from + datetime.timedelta(seconds=every_seconds * i) for i in range(start, stop)]
        with transaction.atomic():
            orders = Order.objects.bulk_create(
                [
                    Order(
                        channel=channel,
                        number=f"BEN-{run}-{i:07d}",
                        external_reference=f"bench-{run}-{i}",
                        request_fingerprint="bench",
                        customer=customer,
                        email=customer.email,
                        first_name="Bench",
                        placed_at=moment,
                        status=OrderStatus.SHIPPED,
                        payment_method=PaymentMethod.POS,
                        payment_reference=f"9{run}{i:09d}"[:16],
                        cleared_at=moment,
                        goods_amount=Decimal("19.95"),
                        total_amount=Decimal("19.95"),
                    )
                    for i, moment in zip(range(start, stop), moments, strict=True)
                ]
            )
            OrderLine.objects.bulk_create(
                [
                    OrderLine(
                        order=order,
                        line_number=1,
                        product=product,
                        sku=product.sku,
                        name="Bench t-shirt",
                        storage_kind=product.storage_kind,
                        vat_rate=Decimal("21.00"),
                        quantity=1,
                        unit_price=Decimal("19.95"),
                        total_amount=Decimal("19.95"),
                        quantity_shipped=1,
                    )
                    for order in orders
                ]
            )
            fulfilments = Fulfilment.objects.bulk_create(
                [
                    Fulfilment(
                        order=order,
                        code=f"{order.number}-1",
                        location=location,
                        status=FulfilmentStatus.SHIPPED,
                        released_at=order.placed_at,
                        shipped_at=order.placed_at,
                    )
                    for order in orders
                ]
            )
            batch_codes = [
                simulated_tracking_code(moment, seed=(seed_offset + i) % SEED_LIMIT)
                for i, moment in zip(range(start, stop), moments, strict=True)
            ]
            shipments = Shipment.objects.bulk_create(
                [
                    Shipment(
                        fulfilment=fulfilment,
                        carrier=carriers[i % len(carriers)],
                        tracking_code=code,
                        status=ShipmentStatus.PRE_TRANSIT,
                        shipped_at=fulfilment.shipped_at,
                        postal_code="3511 AB",
                        country="NL",
                    )
                    for i, fulfilment, code in zip(range(start, stop), fulfilments, batch_codes, strict=True)
                ]
            )
            ShipmentTracking.objects.bulk_create(
                [
                    ShipmentTracking(
                        shipment=shipment,
                        carrier=shipment.carrier,
                        started_at=shipment.shipped_at,
                        next_poll_at=shipment.shipped_at + first_poll_after,
                    )
                    for shipment in shipments
                ]
            )
        shipment_ids += [s.pk for s in shipments]
        codes += batch_codes
    return BulkParcels(shipment_ids=shipment_ids, tracking_codes=codes)
