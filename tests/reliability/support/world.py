"""A small shop to test against: two sales channels (A and B), a location, products with
stock, and one staff user per role, each with an API key.

`WHO` names every kind of API client the authorisation matrix and the schema fuzz run
as; `world.client(who)` gives an API client that sends that key (or none). Orders are
placed through the real API and shipped through the real service, so every row a test
looks at was made the way production makes it.
"""

import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from rest_framework.test import APIClient

from core import roles
from core.services import api_key_create
from orders.tests.fixtures import order_body, receive

# Every kind of API client: no key, a key of channel A, of channel B, of a location, and
# a staff key per role. A new role or client kind is one more entry here.
STAFF_ROLES = {
    "manager": roles.MANAGER,
    "finance": roles.FINANCE,
    "warehouse": roles.WAREHOUSE,
    "customer_service": roles.CUSTOMER_SERVICE,
}
WHO = ("anonymous", "channel_a", "channel_b", "location", *STAFF_ROLES)

ORDERS_URL = "/api/v1/orders/"
_references = itertools.count(1)
_tracking = itertools.count(1)


@dataclass
class World:
    channel_a: object
    channel_b: object
    location: object
    product: object
    staff: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)

    def client(self, who: str) -> APIClient:
        client = APIClient()
        if who != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.keys[who]}")
        return client

    def channel(self, which: str):
        return self.channel_a if which == "a" else self.channel_b

    # --- orders through the API -------------------------------------------------------

    def order(self, which: str = "a", *, method: str = "pos", quantity: int = 1, **overrides):
        """A new order of channel A or B, posted through the API. Point-of-sale orders
        are cleared at once, so they can ship."""
        from orders.models import Order

        reference = overrides.pop("reference", None) or f"REL-{which.upper()}-{next(_references)}"
        lines = [{"sku": self.product.sku, "quantity": quantity, "unit_price": "19.95"}]
        body = order_body(reference, lines=lines, method=method, **overrides)
        if "email" not in overrides:
            body["customer"]["email"] = f"klant-{which}-{reference.lower()}@example.nl"
        response = self.client(f"channel_{which}").post(ORDERS_URL, body, format="json")
        assert response.status_code == 201, response.content
        return Order.objects.get(number=response.json()["number"])

    def ship(self, order, *, quantity: int | None = None, tracking_code: str | None = None):
        """Ship (part of) the order's only fulfilment through the shipment service."""
        from orders.services.fulfilment import shipment_create

        fulfilment = order.fulfilments.get()
        line = fulfilment.lines.select_related("order_line").get()
        shipment, _ = shipment_create(
            fulfilment_id=fulfilment.pk,
            carrier="postnl",
            tracking_code=tracking_code or f"3SREL{next(_tracking):08d}",
            lines=[{"sku": line.order_line.sku, "quantity": quantity or line.quantity}],
        )
        return shipment

    def shipped_order(self, which: str = "a", **kwargs):
        """An order that shipped, so it has an invoice."""
        order = self.order(which, **kwargs)
        self.ship(order)
        return order

    def invoice_of(self, order):
        return order.invoices.get()

    def credit_note_for(self, order, amount: str = "1.00"):
        from payments.services.invoicing import credit_note_goodwill

        return credit_note_goodwill(
            invoice_id=self.invoice_of(order).pk, amount=Decimal(amount), note="goodwill", actor=self.staff["finance"]
        )


def build_world(*, channel_a, channel_b, location, product, stock: int = 1000) -> World:
    from core.tests.factories import UserFactory

    receive(product, location, stock)
    world = World(channel_a=channel_a, channel_b=channel_b, location=location, product=product)
    _, world.keys["channel_a"] = api_key_create(name="channel A", channel=channel_a)
    _, world.keys["channel_b"] = api_key_create(name="channel B", channel=channel_b)
    _, world.keys["location"] = api_key_create(name="location", location=location)
    for who, role in STAFF_ROLES.items():
        user = UserFactory(username=f"rel-{who.replace('_', '-')}", role=role)
        world.staff[who] = user
        _, world.keys[who] = api_key_create(name=f"staff {who}", user=user)
    return world
