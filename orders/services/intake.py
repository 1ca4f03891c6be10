"""Order intake from a sales channel, idempotent on (channel, external reference).

`order_inbox_receive` writes the raw post first, outside any transaction, so nothing a
shop sends is lost. `order_intake` then creates the order in one transaction: customer
matched by e-mail within the channel, addresses validated and kept as snapshots, lines
with the product data, price, discount and VAT as charged, totals to the cent, fraud
checks, allocation over the locations with stock reserved, and the release of what may
ship. The number of queries does not depend on the number of lines.

A repeat of the same post returns the existing order; a different body under the same
external reference is a conflict. The unique constraint on (channel, external reference)
recognises a repeat: a new order, by far the usual case, costs no look-up first, and two
identical posts at the same moment make one order (the loser returns the winner's).
"""

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product
from catalog.selectors import vat_rates_at
from core.audit import history_rows_write
from core.db import asynchronous_commit, next_id
from core.exceptions import ApplicationError
from core.models import SalesChannel
from core.services import outbox_batch
from customers.addresses import address_normalise
from customers.models import Customer
from inventory.services.ledger import stock_lock_for_products, stock_reserve
from orders.events import OrderEventKind, order_event_build, order_events_create
from orders.exceptions import IdempotencyConflict, OrderInvalid, UnknownSku
from orders.models import Fulfilment, FulfilmentLine, Order, OrderAddress, OrderInbox, OrderLine
from orders.services.allocation import LineNeed, StockOption, plan_allocation
from orders.services.fraud import fraud_assess
from orders.services.sla import promised_ship_date
from orders.services.status import order_status_derive
from orders.services.totals import LineAmounts, order_amounts
from orders.services.webhooks import webhook_enqueue
from orders.states import BLOCKING_HOLDS, FulfilmentStatus, HoldReason, PaymentMethod
from payments.reference import payment_reference_for

_REFERENCE_IN_BODY = re.compile(r'"external_reference"\s*:\s*"([^"\\]{1,64})"')
# The largest amount an order's money columns hold (DecimalField max_digits=12, decimal_places=2).
MAX_AMOUNT = Decimal("9999999999.99")

# Clearing at intake, until the payments app decides (it registers CLEARING_POLICY):
# point-of-sale payments are cleared at once, everything else awaits payment.
CLEARING_POLICY: list = []
# Work other apps do for a new order inside its transaction (e.g. the payment record).
ORDER_CREATED_HOOKS: list = []


@dataclass
class IntakeResult:
    order: Order
    created: bool


def order_fingerprint(payload: dict) -> str:
    canonical = json.dumps(payload, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- inbox ----------------------------------------------------------------------------


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value):
    """PostgreSQL text and jsonb hold no NUL character and no lone surrogate (JSON may
    spell one as `\\ud800`): each is kept as U+FFFD, as an undecodable byte is, so such
    a post is still kept, and answered with a 400."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def order_inbox_receive(*, channel: SalesChannel, body: str, request_id: str = "") -> OrderInbox:
    """Keep the post as it arrived, before anything else (committed on its own, so it
    stays whatever happens to the order).

    The commit does not wait for the disk (core.db.asynchronous_commit): the row is
    there for everyone at once, and the order's own (durable) commit, later in the
    log, makes it durable too. Only a crash of the database server itself in the
    fraction of a second before could lose it, together with the order it would have
    made, and the shop, which got no answer, posts again."""
    body = _storable(body)
    # the reference only helps staff find the post; a cheap look, not a second parse
    match = _REFERENCE_IN_BODY.search(body[:4096])
    reference = match.group(1)[:64] if match else ""
    with asynchronous_commit():
        return OrderInbox.objects.create(
            channel=channel, body=body, external_reference=reference, request_id=request_id
        )


def order_inbox_record(
    *, inbox: OrderInbox, result: str, errors: list | None = None, order: Order | None = None
) -> OrderInbox:
    inbox.result = result
    inbox.errors = _storable(errors or [])
    inbox.order = order
    inbox.processed_at = timezone.now()
    inbox.save(update_fields=["result", "errors", "order", "processed_at"])
    return inbox


# --- intake ---------------------------------------------------------------------------


def order_intake(*, channel: SalesChannel, payload: dict, actor=None, inbox: OrderInbox | None = None) -> IntakeResult:
    """Create the order for a validated payload (see orders.api.serializers), or return
    the existing one for a repeat. Raises OrderInvalid (400) or IdempotencyConflict (409).

    With `inbox` (the post as received) the outcome is recorded on it: a new order in
    the order's own transaction, a repeat right after. An error is left to the caller,
    who answers it and records it."""
    fingerprint = order_fingerprint(payload)
    try:
        with transaction.atomic():
            order = _order_create(channel=channel, payload=payload, fingerprint=fingerprint, actor=actor)
            if inbox is not None:
                order_inbox_record(inbox=inbox, result=OrderInbox.Result.CREATED, order=order)
    except (IntegrityError, ApplicationError):
        # A repeat: the reference's unique constraint refused the second order (nothing of
        # it stays), or a rule refused it that the first post passed (a SKU withdrawn
        # since). Either way the answer is the order made before, if there is one.
        existing = _order_with_reference(channel, payload["external_reference"])
        if existing is None:
            raise
        return _repeat(existing, fingerprint, inbox)
    return IntakeResult(order=order, created=True)


def _order_with_reference(channel: SalesChannel, reference: str) -> Order | None:
    """The order a post with this reference made before, if any: just what a repeat
    needs (callers read the whole order by its number)."""
    found = Order.objects.filter(channel=channel, external_reference=reference).order_by()
    return next(iter(found.only("pk", "external_reference", "number", "request_fingerprint")[:1]), None)


def _repeat(existing: Order, fingerprint: str, inbox: OrderInbox | None) -> IntakeResult:
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(
            _("Order %(reference)s was already received with different contents (order %(number)s).")
            % {"reference": existing.external_reference, "number": existing.number},
            attr="external_reference",
        )
    if inbox is not None:
        with asynchronous_commit():  # the order is there already: a lost record only shows less
            order_inbox_record(inbox=inbox, result=OrderInbox.Result.DUPLICATE, order=existing)
    return IntakeResult(order=existing, created=False)


def _normalised_address(data: dict, prefix: str) -> dict:
    return address_normalise(
        street=data["street"],
        house_number=data["house_number"],
        house_number_addition=data.get("house_number_addition") or "",
        postal_code=data["postal_code"],
        city=data["city"],
        country=data["country"],
        prefix=prefix,
    ).__dict__


def _customer_for(channel: SalesChannel, data: dict) -> Customer:
    email = data["email"].strip().lower()
    defaults = {
        "first_name": data.get("first_name") or "",
        "last_name": data.get("last_name") or "",
        "phone": data.get("phone") or "",
        "type": data.get("type") or Customer.Type.CONSUMER,
        "company_name": data.get("company_name") or "",
        "vat_number": data.get("vat_number") or "",
    }
    customer = next(iter(Customer.objects.filter(channel=channel, email=email).order_by()[:1]), None)  # unique
    if customer is not None:
        return customer
    try:
        with transaction.atomic():
            # as the order below: one INSERT without the model signals, its history row
            # copied in the database
            customer = Customer.objects.bulk_create([Customer(channel=channel, email=email, **defaults)])[0]
            history_rows_write(Customer, pks=[customer.pk], history_type="+", when=customer.created_at)
            return customer
    except IntegrityError:  # created by a concurrent order of the same customer
        return Customer.objects.get(channel=channel, email=email)


def _order_create(*, channel: SalesChannel, payload: dict, fingerprint: str, actor) -> Order:
    now = timezone.now()
    placed_at = payload.get("placed_at") or now
    customer_data = payload["customer"]
    method = payload["payment"]["method"]

    # addresses (a shipping address that is absent means the billing address)
    billing = _normalised_address(payload["billing_address"], "billing_address.")
    shipping = (
        _normalised_address(payload["shipping_address"], "shipping_address.")
        if payload.get("shipping_address")
        else dict(billing)
    )

    # products and VAT as valid at the moment of placing
    lines_in = payload["lines"]
    skus = {line["sku"] for line in lines_in}
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus).order_by()}
    for index, line in enumerate(lines_in):
        product = products.get(line["sku"])
        if product is None:
            raise UnknownSku(_("Unknown SKU %(sku)s.") % {"sku": line["sku"]}, attr=f"lines.{index}.sku")
        if not product.is_active:
            raise OrderInvalid(
                _("SKU %(sku)s is not for sale.") % {"sku": line["sku"]}, attr=f"lines.{index}.sku", code="inactive_sku"
            )
    rates = vat_rates_at(placed_at)
    missing = {p.vat_class for p in products.values()} - set(rates)
    if missing:
        raise OrderInvalid(
            _("No VAT rate is known for %(classes)s on that date.") % {"classes": ", ".join(sorted(missing))},
            attr="placed_at",
            code="vat_rate_missing",
        )
    amounts_in = []
    for index, line in enumerate(lines_in):
        product = products[line["sku"]]
        discount = line.get("discount") or Decimal("0.00")
        gross = line["unit_price"] * line["quantity"]
        if discount > gross:
            raise OrderInvalid(
                _("The discount is more than the line's price."),
                attr=f"lines.{index}.discount",
                code="discount_too_high",
            )
        if gross > MAX_AMOUNT:
            raise OrderInvalid(
                _("The line's price times its quantity is more than %(max)s.") % {"max": MAX_AMOUNT},
                attr=f"lines.{index}",
                code="amount_too_large",
            )
        amounts_in.append(
            LineAmounts(
                unit_price=line["unit_price"],
                quantity=line["quantity"],
                discount=discount,
                vat_rate=rates[product.vat_class],
            )
        )
    amounts = order_amounts(amounts_in, payload.get("shipping_cost") or Decimal("0.00"))
    if max(amounts.goods, amounts.total) > MAX_AMOUNT:
        raise OrderInvalid(_("The order's total is more than %(max)s.") % {"max": MAX_AMOUNT}, code="amount_too_large")

    customer = _customer_for(channel, customer_data)
    fraud = fraud_assess(
        customer=customer,
        email=customer.email,
        last_name=customer_data.get("last_name") or "",
        billing=billing,
        shipping=shipping,
        total=amounts.total,
        payment_method=method,
    )

    # allocation over the locations, stock rows locked until commit
    stock_rows = stock_lock_for_products(p.pk for p in products.values())
    locked = {s.pk: s for s in stock_rows}
    needs = [
        LineNeed(
            key=i,
            product_id=products[line["sku"]].pk,
            storage_kind=products[line["sku"]].storage_kind,
            quantity=line["quantity"],
        )
        for i, line in enumerate(lines_in)
    ]
    options = [
        StockOption(
            stock_id=s.pk,
            product_id=s.product_id,
            location_id=s.location_id,
            available=s.available,
            storage_kinds=tuple(s.location.storage_kinds),
            priority=s.location.priority,
            cutoff=s.location.cutoff_time,
        )
        for s in stock_rows
    ]
    plan = plan_allocation(needs, options, now=timezone.localtime(now).time())
    locations = {s.location_id: s.location for s in stock_rows}

    holds = list(fraud.holds)
    if plan.has_backorder:
        holds.append(HoldReason.BACKORDER)
    cleared = any(policy(method=method, payment=payload["payment"]) for policy in CLEARING_POLICY) or (
        not CLEARING_POLICY and method == PaymentMethod.POS
    )
    releasable = cleared and not (set(holds) & BLOCKING_HOLDS) and (channel.partial_shipments or not plan.has_backorder)

    # the order
    order_id = next_id(Order)
    local_placed = timezone.localtime(placed_at)
    order = Order(
        id=order_id,
        channel=channel,
        number=f"{channel.order_number_prefix}-{local_placed.year}-{order_id:06d}",
        external_reference=payload["external_reference"],
        request_fingerprint=fingerprint,
        customer=customer,
        email=customer.email,
        first_name=customer_data.get("first_name") or "",
        last_name=customer_data.get("last_name") or "",
        phone=customer_data.get("phone") or "",
        customer_type=customer_data.get("type") or Customer.Type.CONSUMER,
        company_name=customer_data.get("company_name") or "",
        vat_number=customer_data.get("vat_number") or "",
        placed_at=placed_at,
        hold_reasons=holds,
        fraud_signals=fraud.signals,
        goods_amount=amounts.goods,
        discount_amount=amounts.discount,
        shipping_amount=amounts.shipping,
        vat_amount=amounts.vat,
        total_amount=amounts.total,
        payment_method=method,
        payment_provider=payload["payment"].get("provider") or "",
        payment_provider_reference=payload["payment"].get("provider_reference") or "",
        payment_reference=payment_reference_for(order_id),
        cleared_at=now if cleared else None,
    )
    name = f"{order.first_name} {order.last_name}".strip()
    addresses = [
        OrderAddress(
            order=order, kind=OrderAddress.Kind.BILLING, name=name, company_name=order.company_name, **billing
        ),
        OrderAddress(
            order=order, kind=OrderAddress.Kind.SHIPPING, name=name, company_name=order.company_name, **shipping
        ),
    ]
    lines = []
    for index, line in enumerate(lines_in):
        product = products[line["sku"]]
        amount = amounts_in[index]
        lines.append(
            OrderLine(
                order=order,
                line_number=index + 1,
                product=product,
                sku=product.sku,
                name=product.name_nl,
                ean=product.ean,
                storage_kind=product.storage_kind,
                weight_grams=product.weight_grams,
                vat_rate=amount.vat_rate,
                quantity=amount.quantity,
                unit_price=amount.unit_price,
                discount_amount=amount.discount,
                total_amount=amount.total,
                vat_amount=amount.vat,
                quantity_backordered=plan.backorders.get(index, 0),
            )
        )

    fulfilments: list[Fulfilment] = []
    by_location: dict[int, list] = defaultdict(list)
    for allocation in plan.allocations:
        by_location[allocation.location_id].append(allocation)
    for seq, location_id in enumerate(sorted(by_location, key=lambda loc: locations[loc].priority), start=1):
        location = locations[location_id]
        fulfilments.append(
            Fulfilment(
                order=order,
                code=f"{order.number}-{seq}",
                location=location,
                status=FulfilmentStatus.RELEASED if releasable else FulfilmentStatus.WAITING,
                released_at=now if releasable else None,
                promised_ship_date=promised_ship_date(
                    ready_at=max(placed_at, now) if cleared else placed_at,
                    channel_cutoff=channel.cutoff_time,
                    location_cutoff=location.cutoff_time,
                ),
            )
        )
    dates = [f.promised_ship_date for f in fulfilments]
    order.promised_ship_date = max(dates) if dates else None
    order.status = order_status_derive(order=order, fulfilments=fulfilments, lines=lines)

    # one INSERT without the model signals, and its history row copied in the database
    # (what simple-history's post_save would write, without building it in Python)
    Order.objects.bulk_create([order])
    history_rows_write(Order, pks=[order_id], history_type="+", when=order.created_at)
    OrderAddress.objects.bulk_create(addresses)
    OrderLine.objects.bulk_create(lines)
    Fulfilment.objects.bulk_create(fulfilments)
    fulfilment_by_location = {f.location_id: f for f in fulfilments}
    f_lines = [
        FulfilmentLine(
            fulfilment=fulfilment_by_location[a.location_id],
            order_line=lines[a.key],
            stock_id=a.stock_id,
            quantity=a.quantity,
        )
        for a in plan.allocations
    ]
    FulfilmentLine.objects.bulk_create(f_lines)
    stock_reserve(
        allocations=[(a.stock_id, a.quantity) for a in plan.allocations],
        reference=f"order:{order.number}",
        actor=actor,
        locked=locked,
    )

    events = [
        order_event_build(
            order=order,
            kind=OrderEventKind.CREATED,
            actor=actor,
            to_status=order.status,
            data={"external_reference": order.external_reference, "total": str(order.total_amount)},
        ),
        order_event_build(
            order=order,
            kind=OrderEventKind.ALLOCATED,
            actor=actor,
            data={
                "fulfilments": {f.code: f.location.code for f in fulfilments},
                "backorders": {lines[k].sku: q for k, q in plan.backorders.items()},
            },
        ),
    ]
    for hold in holds:
        events.append(
            order_event_build(
                order=order,
                kind=OrderEventKind.HOLD_ADDED,
                actor=actor,
                to_status=hold,
                data={"signals": fraud.signals},
            )
        )
    order_events_create(events)
    with outbox_batch():  # the payment's start and the webhook: one INSERT, one publish
        for hook in ORDER_CREATED_HOOKS:
            hook(order=order, payload=payload, actor=actor)
        webhook_enqueue(order=order, event="order.created", data={"status": order.status})

    # what the response needs, without reading it back
    order._prefetched_objects_cache = {
        "addresses": addresses,
        "lines": lines,
        "fulfilments": fulfilments,
    }
    for fulfilment in fulfilments:
        fulfilment._prefetched_objects_cache = {
            "lines": [fl for fl in f_lines if fl.fulfilment is fulfilment],
            "shipments": [],
        }
    return order
