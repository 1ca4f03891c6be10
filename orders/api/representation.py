"""Parts of the order representation that other apps provide: the payment summary and
the invoices come from the payments app, which registers its providers here at start-up
(orders does not import payments)."""

from decimal import Decimal

from rest_framework import serializers

PAYMENT_SUMMARY_PROVIDERS: list = []
INVOICE_SUMMARY_PROVIDERS: list = []


def payment_summary(order) -> dict:
    for provider in PAYMENT_SUMMARY_PROVIDERS:
        return provider(order)
    cleared = order.cleared_at is not None
    return {
        "method": order.payment_method,
        "status": "paid" if cleared else "open",
        "reference": order.payment_reference,
        "amount_due": order.total_amount,
        "amount_paid": order.total_amount if cleared else Decimal("0.00"),
        "cleared": cleared,
    }


def invoice_summaries(order, request) -> list[dict]:
    for provider in INVOICE_SUMMARY_PROVIDERS:
        return provider(order, request)
    return []


# --- the order as every order endpoint returns it ---------------------------------------
# Built as plain dicts: DRF's nested serializers cost more per order than the order's own
# queries. OrderOutputSerializer (serializers.py) documents the same shape for the OpenAPI
# schema; orders/tests/test_representation.py keeps the two identical.

_datetime = serializers.DateTimeField()
_date = serializers.DateField()


def _amount(value) -> str:
    return f"{value:.2f}"


def _dt(value):
    return _datetime.to_representation(value) if value is not None else None


def _d(value):
    return _date.to_representation(value) if value is not None else None


def _address(address) -> dict | None:
    if address is None:
        return None
    return {
        "name": address.name,
        "company_name": address.company_name,
        "street": address.street,
        "house_number": address.house_number,
        "house_number_addition": address.house_number_addition,
        "postal_code": address.postal_code,
        "city": address.city,
        "country": address.country,
    }


def shipment_representation(shipment) -> dict:
    return {
        "carrier": shipment.carrier,
        "tracking_code": shipment.tracking_code,
        "tracking_url": shipment.tracking_url,
        "status": shipment.status,
        "shipped_at": _dt(shipment.shipped_at),
        "delivered_at": _dt(shipment.delivered_at),
        "weight_grams": shipment.weight_grams,
        "lines": [{"sku": sl.fulfilment_line.order_line.sku, "quantity": sl.quantity} for sl in shipment.lines.all()],
    }


def fulfilment_representation(fulfilment) -> dict:
    return {
        "id": fulfilment.code,
        "location": fulfilment.location.code,
        "status": fulfilment.status,
        "promised_ship_date": _d(fulfilment.promised_ship_date),
        "service_level": fulfilment.sla_status,
        "lines": [
            {"sku": fl.order_line.sku, "quantity": fl.quantity, "quantity_shipped": fl.quantity_shipped}
            for fl in fulfilment.lines.all()
        ],
        "shipments": [shipment_representation(s) for s in fulfilment.shipments.all()],
    }


def order_representation(order, request=None) -> dict:
    from orders.api.serializers import vat_rate_text

    payment = payment_summary(order)
    return {
        "number": order.number,
        "external_reference": order.external_reference,
        "channel": order.channel.code,
        "status": order.status,
        "hold_reasons": list(order.hold_reasons),
        "placed_at": _dt(order.placed_at),
        "promised_ship_date": _d(order.promised_ship_date),
        "updated_at": _dt(order.updated_at),
        "customer": {
            "email": order.email,
            "first_name": order.first_name,
            "last_name": order.last_name,
            "type": order.customer_type,
        },
        "billing_address": _address(order.billing_address),
        "shipping_address": _address(order.shipping_address),
        "totals": {
            "goods": _amount(order.goods_amount),
            "shipping": _amount(order.shipping_amount),
            "discount": _amount(order.discount_amount),
            "vat": _amount(order.vat_amount),
            "total": _amount(order.total_amount),
        },
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "ean": line.ean,
                "quantity": line.quantity,
                "unit_price": _amount(line.unit_price),
                "discount": _amount(line.discount_amount),
                "vat_rate": vat_rate_text(line.vat_rate),
                "vat": _amount(line.vat_amount),
                "total": _amount(line.total_amount),
                "quantity_shipped": line.quantity_shipped,
                "quantity_backordered": line.quantity_backordered,
                "quantity_cancelled": line.quantity_cancelled,
            }
            for line in order.lines.all()
        ],
        "payment": {
            "method": payment["method"],
            "status": payment["status"],
            "reference": payment["reference"],
            "amount_due": _amount(payment["amount_due"]),
            "amount_paid": _amount(payment["amount_paid"]),
            "cleared": payment["cleared"],
        },
        "fulfilments": [fulfilment_representation(f) for f in order.fulfilments.all()],
        "invoices": [
            {"number": i["number"], "total": _amount(i["total"]), "pdf_url": i["pdf_url"]}
            for i in invoice_summaries(order, request)
        ],
    }
