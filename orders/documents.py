"""Pick list and packing slip as PDF (WeasyPrint)."""

from django.template.loader import render_to_string
from django.utils import timezone, translation

from orders.models import Fulfilment


def _render_pdf(template: str, context: dict) -> bytes:
    from weasyprint import HTML

    html = render_to_string(template, context)
    return HTML(string=html).write_pdf()


def _fulfilment(fulfilment_id: int) -> Fulfilment:
    return (
        Fulfilment.objects.select_related("location", "order", "order__channel")
        .prefetch_related("lines__order_line", "order__addresses", "order__fulfilments")
        .get(pk=fulfilment_id)
    )


def pick_list_pdf(*, fulfilment_id: int, language: str = "nl") -> bytes:
    fulfilment = _fulfilment(fulfilment_id)
    lines = [
        {
            "sku": fl.order_line.sku,
            "ean": fl.order_line.ean,
            "name": fl.order_line.name,
            "storage": fl.order_line.storage_kind,
            "quantity": fl.quantity - fl.quantity_shipped,
        }
        for fl in sorted(fulfilment.lines.all(), key=lambda fl: fl.order_line.sku)
        if fl.quantity > fl.quantity_shipped
    ]
    with translation.override(language):
        return _render_pdf(
            "orders/documents/pick_list.html",
            {
                "fulfilment": fulfilment,
                "order": fulfilment.order,
                "lines": lines,
                "units": sum(line["quantity"] for line in lines),
                "printed_at": timezone.localtime(),
            },
        )


def packing_slip_pdf(*, fulfilment_id: int) -> bytes:
    fulfilment = _fulfilment(fulfilment_id)
    order = fulfilment.order
    lines = [
        {"sku": fl.order_line.sku, "name": fl.order_line.name, "quantity": fl.quantity} for fl in fulfilment.lines.all()
    ]
    language = order.customer.language if order.customer_id else "nl"
    with translation.override(language):
        return _render_pdf(
            "orders/documents/packing_slip.html",
            {
                "fulfilment": fulfilment,
                "order": order,
                "address": order.shipping_address,
                "lines": lines,
                "other_parts": len(order.fulfilments.all()) > 1,
                "number": order.number,
            },
        )
