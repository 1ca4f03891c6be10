"""Fraud controls at intake. Thresholds are staff-editable business rules.

An order waits for a person (hold `fraud_review`, or `customer_blocked`) when:
- the customer is blocked;
- its e-mail or an address is on the block list;
- the shipping address differs from the billing address and is new for the customer;
- its value is above a limit;
- many orders went to its shipping address under different names in a short time;
- it is pay-later while the customer has dunning open (the payments app registers that
  check in PAYMENT_RISK_CHECKS).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from core.rules import define_rule, rule_values
from orders.models import FraudBlock, Order, OrderAddress
from orders.states import HoldReason

ORDER_VALUE_ABOVE = define_rule(
    "orders.fraud.order_value_above", Decimal("1000.00"), label="Orders above this value wait for review", unit="EUR"
)
ADDRESS_WINDOW_HOURS = define_rule(
    "orders.fraud.address_window_hours", 24, label="Window for 'many orders to one address' (hours)", unit="h"
)
ADDRESS_DISTINCT_NAMES = define_rule(
    "orders.fraud.address_distinct_names",
    3,
    label="Orders to one address under this many different names within the window wait for review",
)
HOLD_RELEASE_APPROVAL_ABOVE = define_rule(
    "orders.fraud.hold_release_approval_above",
    Decimal("2500.00"),
    label="Releasing a fraud hold on an order above this value needs a second person",
    unit="EUR",
)

# Checks other apps add: callables (customer, payment_method) -> list[str] of signals.
PAYMENT_RISK_CHECKS: list = []


@dataclass
class FraudAssessment:
    holds: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)

    def flag(self, signal: str, hold: str = HoldReason.FRAUD_REVIEW) -> None:
        self.signals.append(signal)
        if hold not in self.holds:
            self.holds.append(hold)


def address_key(
    *, country: str, postal_code: str, house_number: str, house_number_addition: str = "", **_ignored
) -> str:
    return "|".join(
        [
            country.upper(),
            postal_code.replace(" ", "").upper(),
            house_number.strip(),
            house_number_addition.replace(" ", "").upper(),
        ]
    )


def fraud_assess(
    *,
    customer,
    email: str,
    last_name: str,
    billing: dict,
    shipping: dict,
    total: Decimal,
    payment_method: str,
) -> FraudAssessment:
    assessment = FraudAssessment()
    rules = rule_values([ORDER_VALUE_ABOVE, ADDRESS_WINDOW_HOURS, ADDRESS_DISTINCT_NAMES])
    billing_key, shipping_key = address_key(**billing), address_key(**shipping)

    if customer.is_blocked:
        assessment.flag("customer_blocked", HoldReason.CUSTOMER_BLOCKED)

    # by when the orders reached us (the index has it), not by the shop's placed_at
    since = timezone.now() - datetime.timedelta(hours=int(rules[ADDRESS_WINDOW_HOURS]))
    blocked, names = _blocked_and_names_at_address(
        values=[email.lower(), billing_key, shipping_key], shipping=shipping, since=since
    )
    if (FraudBlock.Kind.EMAIL, email.lower()) in blocked:
        assessment.flag("blocked_email")
    if (FraudBlock.Kind.ADDRESS, shipping_key) in blocked or (FraudBlock.Kind.ADDRESS, billing_key) in blocked:
        assessment.flag("blocked_address")

    if total > rules[ORDER_VALUE_ABOVE]:
        assessment.flag("order_value_above_limit")

    if shipping_key != billing_key and customer.pk:
        known = OrderAddress.objects.filter(
            order__customer_id=customer.pk,
            kind=OrderAddress.Kind.SHIPPING,
            country=shipping["country"],
            postal_code=shipping["postal_code"],
            house_number=shipping["house_number"],
            house_number_addition=shipping["house_number_addition"],
        ).exists()
        if not known:
            assessment.flag("new_shipping_address")

    names.add(last_name.lower())
    if len(names) >= int(rules[ADDRESS_DISTINCT_NAMES]):
        assessment.flag("many_names_one_address")

    for check in PAYMENT_RISK_CHECKS:
        for signal in check(customer=customer, payment_method=payment_method):
            assessment.flag(signal)
    return assessment


# Two questions in one round trip, asked at every order intake: which of the values are on
# the block list (e-mail address or address key), and under which last names (lower case,
# at most 50) orders went to the shipping address since a moment. Plain SQL that PostgreSQL
# and SQLite both run: as two ORM querysets it costs a second round trip, and building the
# querysets costs more than the database's work.
_BLOCKED_AND_NAMES_SQL = """
SELECT b.kind, b.value FROM {block} b WHERE b.kind IN (%s, %s) AND b.value IN (%s, %s, %s)
UNION ALL
SELECT '', n.name_lower FROM (
    SELECT DISTINCT LOWER(o.last_name) AS name_lower
    FROM {address} a INNER JOIN {order} o ON o.id = a.order_id
    WHERE a.kind = %s AND a.country = %s AND a.postal_code = %s AND a.house_number = %s AND a.created_at >= %s
    LIMIT 50
) n
"""


def _blocked_and_names_at_address(*, values: list[str], shipping: dict, since) -> tuple[set, set]:
    """({(kind, value)} on the block list, {last name}) — see _BLOCKED_AND_NAMES_SQL."""
    quote = connection.ops.quote_name
    sql = _BLOCKED_AND_NAMES_SQL.format(
        block=quote(FraudBlock._meta.db_table),
        address=quote(OrderAddress._meta.db_table),
        order=quote(Order._meta.db_table),
    )
    params = [
        FraudBlock.Kind.EMAIL.value,
        FraudBlock.Kind.ADDRESS.value,
        *values,
        OrderAddress.Kind.SHIPPING.value,
        shipping["country"],
        shipping["postal_code"],
        shipping["house_number"],
        connection.ops.adapt_datetimefield_value(since),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    blocked = {(kind, value) for kind, value in rows if kind}
    names = {name for kind, name in rows if not kind and name is not None}
    return blocked, names
