"""Invoices per shipment and credit notes (NL-RULES §3).

- `invoice_for_shipment` (orders.SHIPMENT_HOOKS, inside the shipment's transaction):
  the shipped units, with each order line's discount and VAT shared out so that all
  invoices of a line add up to the line exactly (payments.allocation); the shipping
  cost on the order's first invoice. The number comes from a counter row locked in the
  same transaction, so numbers run without gaps per year; nothing ever updates an
  issued invoice (the model, its queryset and a database trigger refuse).
- `credit_note_for_returned_lines` (for the returns app), `credit_note_goodwill`:
  credit notes refer to one invoice (its number and date) with negative amounts and
  their own gap-free series. Invoices − credit notes of an order always equal what the
  customer owes for what was kept.
- The PDF is rendered and mailed after commit (documents queue).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.audit import audited
from core.exceptions import ApplicationError, Conflict, PermissionDenied
from core.money import ZERO, round_money, vat_of_gross
from core.rules import define_rule, rule_value
from core.services import outbox_enqueue
from orders.events import order_event_create
from orders.locks import order_qs_for_update
from orders.models import Order, OrderLine, Shipment, ShipmentLine
from orders.services.totals import split_over_rates
from payments.allocation import LineCharge, UnitRange, credit_take, shipping_parts, unit_price_excl
from payments.models import CreditNote, CreditNoteLine, DocumentCounter, Invoice, InvoiceLine
from payments.states import CreditNoteReason, DocumentLineKind

INVOICE_SERIES = "invoice"
CREDIT_NOTE_SERIES = "credit_note"
INVOICE_MAIL_TASK = "documents.invoice_send"
CREDIT_NOTE_MAIL_TASK = "documents.credit_note_send"

PAYMENT_TERM_DAYS = define_rule(
    "payments.invoice.payment_term_days", 14, label="Payment term of an invoice (days after the issue date)", unit="d"
)


class CreditExceedsInvoiced(ApplicationError):
    code = "credit_exceeds_invoiced"


# --- numbering ----------------------------------------------------------------------


def document_number_next(*, series: str, year: int) -> int:
    """The next number of a series, inside the caller's transaction: the counter row
    stays locked until it commits, and a rollback returns the number (no gap)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("document numbers are taken inside the transaction that issues the document")
    counters = DocumentCounter.objects.filter(series=series, year=year)
    if not counters.update(last_number=F("last_number") + 1):
        DocumentCounter.objects.bulk_create(
            [DocumentCounter(series=series, year=year, last_number=0)], ignore_conflicts=True
        )
        counters.update(last_number=F("last_number") + 1)
    return counters.values_list("last_number", flat=True).get()


def invoice_number_format(year: int, sequence: int) -> str:
    return f"{year}-{sequence:06d}"


def credit_note_number_format(year: int, sequence: int) -> str:
    return f"CN{year}-{sequence:06d}"


# --- parties ------------------------------------------------------------------------


EU_COUNTRIES = frozenset("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())


def seller_snapshot() -> dict:
    seller = dict(getattr(settings, "SELLER", {}) or {})
    return {
        key: str(seller.get(key, ""))
        for key in (
            "name",
            "street",
            "postal_code",
            "city",
            "country",
            "vat_number",
            "kvk_number",
            "iban",
            "bic",
            "email",
        )
    }


def is_reverse_charge(order: Order, country: str) -> bool:
    """Intra-EU B2B: a business customer with a VAT number in another EU country."""
    seller_country = (seller_snapshot()["country"] or "NL").upper()
    return (
        order.customer_type == "business"
        and bool(order.vat_number)
        and country.upper() in EU_COUNTRIES
        and country.upper() != seller_country
    )


@dataclass(frozen=True)
class Parties:
    name: str
    company: str
    address: str
    country: str
    vat_number: str
    email: str
    language: str
    reverse_charge: bool


def _parties(order: Order) -> Parties:
    billing = order.billing_address
    name = f"{order.first_name} {order.last_name}".strip() or order.email
    if billing is not None:
        number = billing.house_number + (f"-{billing.house_number_addition}" if billing.house_number_addition else "")
        address = f"{billing.street} {number}\n{billing.postal_code} {billing.city}\n{billing.country}"
        country = billing.country
    else:
        address, country = "", ""
    language = getattr(order.customer, "language", "") or settings.LANGUAGE_CODE
    return Parties(
        name=name,
        company=order.company_name,
        address=address,
        country=country,
        vat_number=order.vat_number,
        email=order.email,
        language=language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE,
        reverse_charge=is_reverse_charge(order, country),
    )


def _vat_breakdown(lines) -> list[dict]:
    rows: dict[Decimal, dict] = {}
    for line in lines:
        row = rows.setdefault(line.vat_rate, {"net": ZERO, "vat": ZERO, "total": ZERO})
        row["net"] += line.net_amount
        row["vat"] += line.vat_amount
        row["total"] += line.total_amount
    return [
        {"rate": str(rate), "net": str(row["net"]), "vat": str(row["vat"]), "total": str(row["total"])}
        for rate, row in sorted(rows.items(), key=lambda item: item[0], reverse=True)
    ]


def _charge(order_line: OrderLine, reverse_charge: bool) -> LineCharge:
    return LineCharge(
        quantity=order_line.quantity,
        total=order_line.total_amount,
        vat=ZERO if reverse_charge else order_line.vat_amount,
    )


# --- invoices -----------------------------------------------------------------------


def invoice_for_shipment(*, shipment: Shipment, order: Order, actor=None) -> Invoice | None:
    """orders.SHIPMENT_HOOKS: invoice what this parcel holds (inside the shipment's
    transaction, the order locked). One invoice per shipment."""
    with audited(actor):
        shipped: dict[int, int] = defaultdict(int)
        for order_line_id, quantity in ShipmentLine.objects.filter(shipment=shipment).values_list(
            "fulfilment_line__order_line_id", "quantity"
        ):
            shipped[order_line_id] += quantity
        if not shipped:
            return None
        invoice = invoice_issue(
            order=order,
            shipped=dict(shipped),
            supply_date=timezone.localdate(shipment.shipped_at),
            shipment=shipment,
            actor=actor,
        )
        from payments.services.payments import payment_capture_for_shipment

        payment_capture_for_shipment(order=order, invoice=invoice, actor=actor)
        return invoice


def invoice_issue(
    *,
    order: Order,
    shipped: dict[int, int],
    supply_date: datetime.date,
    shipment: Shipment | None = None,
    issue_date: datetime.date | None = None,
    actor=None,
) -> Invoice:
    """Issue the invoice for `shipped` units per order line id (the caller holds the
    order's lock and the transaction)."""
    order_lines = {line.pk: line for line in OrderLine.objects.filter(order_id=order.pk).order_by("line_number")}
    invoiced_units: dict[int, int] = defaultdict(int)
    shipping_invoiced = False
    for order_line_id, kind, quantity in InvoiceLine.objects.filter(invoice__order_id=order.pk).values_list(
        "order_line_id", "kind", "quantity"
    ):
        if kind == DocumentLineKind.SHIPPING:
            shipping_invoiced = True
        elif order_line_id is not None:
            invoiced_units[order_line_id] += quantity
    parties = _parties(order)
    issue_date = issue_date or timezone.localdate()

    lines: list[InvoiceLine] = []
    with translation.override(parties.language):
        for order_line in order_lines.values():
            quantity = shipped.get(order_line.pk, 0)
            if quantity <= 0:
                continue
            first = invoiced_units[order_line.pk]
            if first + quantity > order_line.quantity:
                raise Conflict(
                    _("More of %(sku)s would be invoiced than was ordered.") % {"sku": order_line.sku},
                    code="invoice_exceeds_order",
                )
            total, vat = _charge(order_line, parties.reverse_charge).portion(first, quantity)
            rate = ZERO if parties.reverse_charge else order_line.vat_rate
            lines.append(
                InvoiceLine(
                    kind=DocumentLineKind.GOODS,
                    order_line=order_line,
                    sku=order_line.sku,
                    description=order_line.name[:255],
                    quantity=quantity,
                    first_unit=first,
                    unit_price=order_line.unit_price,
                    unit_price_excl=order_line.unit_price
                    if parties.reverse_charge
                    else unit_price_excl(order_line.unit_price, rate),
                    vat_rate=rate,
                    net_amount=total - vat,
                    vat_amount=vat,
                    total_amount=total,
                )
            )
        if not shipping_invoiced and order.shipping_amount > 0:
            goods_per_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
            for order_line in order_lines.values():
                goods_per_rate[order_line.vat_rate] += order_line.total_amount
            for rate, total, vat in shipping_parts(order.shipping_amount, dict(goods_per_rate)):
                shown_rate = ZERO if parties.reverse_charge else rate
                vat = ZERO if parties.reverse_charge else vat
                lines.append(
                    InvoiceLine(
                        kind=DocumentLineKind.SHIPPING,
                        sku="",
                        description=_("Shipping") + (f" ({rate.normalize():f}%)" if len(goods_per_rate) > 1 else ""),
                        quantity=1,
                        unit_price=total,
                        unit_price_excl=total - vat,
                        vat_rate=shown_rate,
                        net_amount=total - vat,
                        vat_amount=vat,
                        total_amount=total,
                    )
                )
    if not lines:
        raise Conflict(_("Nothing to invoice."), code="nothing_to_invoice")

    year = issue_date.year
    sequence = document_number_next(series=INVOICE_SERIES, year=year)
    total = sum((line.total_amount for line in lines), ZERO)
    vat_total = sum((line.vat_amount for line in lines), ZERO)
    invoice = Invoice(
        number=invoice_number_format(year, sequence),
        year=year,
        sequence=sequence,
        order=order,
        customer_id=order.customer_id,
        channel_id=order.channel_id,
        shipment=shipment,
        issue_date=issue_date,
        supply_date=supply_date,
        due_date=issue_date + datetime.timedelta(days=int(rule_value(PAYMENT_TERM_DAYS))),
        language=parties.language,
        seller=seller_snapshot(),
        customer_name=parties.name,
        customer_company=parties.company,
        customer_address=parties.address,
        customer_country=parties.country,
        customer_vat_number=parties.vat_number,
        customer_email=parties.email,
        order_number=order.number,
        payment_reference=order.payment_reference,
        reverse_charge=parties.reverse_charge,
        net_amount=total - vat_total,
        vat_amount=vat_total,
        total_amount=total,
        vat_breakdown=_vat_breakdown(lines),
    )
    invoice.save()
    for position, line in enumerate(lines, start=1):
        line.invoice = invoice
        line.position = position
    InvoiceLine.objects.bulk_create(lines)
    order_event_create(
        order=order,
        kind="invoice_issued",
        data={"invoice": invoice.number, "total": str(invoice.total_amount)},
        actor=actor,
    )
    outbox_enqueue(INVOICE_MAIL_TASK, invoice_id=invoice.pk)
    return invoice


# --- credit notes -------------------------------------------------------------------


def _credited_per_invoice_line(invoice_line_ids) -> dict[int, int]:
    return dict(
        CreditNoteLine.objects.filter(invoice_line_id__in=list(invoice_line_ids))
        .values("invoice_line_id")
        .annotate(q=Sum("quantity"))
        .values_list("invoice_line_id", "q")
    )


def _credit_note_issue(
    *,
    invoice: Invoice,
    lines: list[CreditNoteLine],
    reason: str,
    note: str,
    source_reference: str,
    issue_date: datetime.date,
) -> CreditNote:
    already = -(CreditNote.objects.filter(invoice=invoice).aggregate(s=Sum("total_amount"))["s"] or ZERO)
    total = sum((line.total_amount for line in lines), ZERO)
    if already - total > invoice.total_amount:
        raise CreditExceedsInvoiced(
            _("Invoice %(number)s would be credited for more than it was (%(total)s).")
            % {"number": invoice.number, "total": invoice.total_amount}
        )
    year = issue_date.year
    sequence = document_number_next(series=CREDIT_NOTE_SERIES, year=year)
    vat_total = sum((line.vat_amount for line in lines), ZERO)
    credit_note = CreditNote(
        number=credit_note_number_format(year, sequence),
        year=year,
        sequence=sequence,
        invoice=invoice,
        invoice_number=invoice.number,
        invoice_date=invoice.issue_date,
        order_id=invoice.order_id,
        customer_id=invoice.customer_id,
        channel_id=invoice.channel_id,
        issue_date=issue_date,
        language=invoice.language,
        seller=seller_snapshot(),
        customer_name=invoice.customer_name,
        customer_company=invoice.customer_company,
        customer_address=invoice.customer_address,
        customer_country=invoice.customer_country,
        customer_vat_number=invoice.customer_vat_number,
        customer_email=invoice.customer_email,
        order_number=invoice.order_number,
        payment_reference=invoice.payment_reference,
        reverse_charge=invoice.reverse_charge,
        net_amount=total - vat_total,
        vat_amount=vat_total,
        total_amount=total,
        vat_breakdown=_vat_breakdown(lines),
        reason=reason,
        note=note[:255],
        source_reference=source_reference[:64],
    )
    credit_note.save()
    for position, line in enumerate(lines, start=1):
        line.credit_note = credit_note
        line.position = position
    CreditNoteLine.objects.bulk_create(lines)
    outbox_enqueue(CREDIT_NOTE_MAIL_TASK, credit_note_id=credit_note.pk)
    return credit_note


def _require_credit_permission(actor) -> None:
    if getattr(actor, "username", None) and not actor.has_perm("payments.issue_credit_note"):
        raise PermissionDenied(_("You may not issue credit notes."))


def credit_note_for_returned_lines(
    *,
    order_id: int,
    lines: list[dict] | list[tuple[int, int]],
    actor=None,
    refund_shipping: bool = False,
    reason: str = CreditNoteReason.RETURN,
    source_reference: str = "",
    note: str = "",
    issue_date: datetime.date | None = None,
) -> list[CreditNote]:
    """Credit returned (or otherwise taken back) units: `lines` are (order_line_id,
    quantity) pairs or {"order_line_id", "quantity"} dicts. The highest units not yet
    credited of the newest invoice go first; one credit note per invoice touched.
    `refund_shipping` credits the shipping cost too (when the whole order comes back,
    NL-RULES §2). What is too much then (paid − owed) becomes a refund proposal."""
    _require_credit_permission(actor)
    wanted: dict[int, int] = defaultdict(int)
    for item in lines:
        order_line_id, quantity = (
            (item["order_line_id"], item["quantity"]) if isinstance(item, dict) else (item[0], item[1])
        )
        if int(quantity) < 1:
            raise CreditExceedsInvoiced(_("Quantities to credit are at least 1."), attr="lines")
        wanted[int(order_line_id)] += int(quantity)
    if not wanted and not refund_shipping:
        raise CreditExceedsInvoiced(_("Nothing to credit."), attr="lines")
    issue_date = issue_date or timezone.localdate()
    with transaction.atomic(), audited(actor):
        order = order_qs_for_update().select_related("channel", "customer").get(pk=order_id)
        invoice_lines = list(
            InvoiceLine.objects.filter(invoice__order_id=order.pk).select_related("invoice", "order_line")
        )
        credited = _credited_per_invoice_line(line.pk for line in invoice_lines)
        per_invoice: dict[int, list[CreditNoteLine]] = defaultdict(list)
        invoices = {line.invoice_id: line.invoice for line in invoice_lines}
        for order_line_id, quantity in wanted.items():
            ranges = [
                UnitRange(
                    key=line, first_unit=line.first_unit, quantity=line.quantity, credited=credited.get(line.pk, 0)
                )
                for line in invoice_lines
                if line.order_line_id == order_line_id and line.kind == DocumentLineKind.GOODS
            ]
            try:
                taken = credit_take(ranges, quantity)
            except ValueError:
                sku = next((r.key.sku for r in ranges), str(order_line_id))
                raise CreditExceedsInvoiced(
                    _("More of %(sku)s would be credited than was invoiced and not yet credited.") % {"sku": sku},
                    attr="lines",
                ) from None
            for invoice_line, first_unit, count in taken:
                charge = _charge(invoice_line.order_line, invoice_line.invoice.reverse_charge)
                total, vat = charge.portion(first_unit, count)
                per_invoice[invoice_line.invoice_id].append(
                    CreditNoteLine(
                        kind=DocumentLineKind.GOODS,
                        invoice_line=invoice_line,
                        sku=invoice_line.sku,
                        description=invoice_line.description,
                        quantity=count,
                        unit_price_excl=invoice_line.unit_price_excl,
                        vat_rate=invoice_line.vat_rate,
                        net_amount=-(total - vat),
                        vat_amount=-vat,
                        total_amount=-total,
                    )
                )
        if refund_shipping:
            for line in invoice_lines:
                if line.kind == DocumentLineKind.SHIPPING and not credited.get(line.pk):
                    per_invoice[line.invoice_id].append(
                        CreditNoteLine(
                            kind=DocumentLineKind.SHIPPING,
                            invoice_line=line,
                            description=line.description,
                            quantity=1,
                            unit_price_excl=line.unit_price_excl,
                            vat_rate=line.vat_rate,
                            net_amount=-line.net_amount,
                            vat_amount=-line.vat_amount,
                            total_amount=-line.total_amount,
                        )
                    )
        notes = [
            _credit_note_issue(
                invoice=invoices[invoice_id],
                lines=credit_lines,
                reason=reason,
                note=note,
                source_reference=source_reference,
                issue_date=issue_date,
            )
            for invoice_id, credit_lines in sorted(per_invoice.items())
            if credit_lines
        ]
        if not notes:
            raise CreditExceedsInvoiced(_("Nothing to credit."), attr="lines")
        _after_credit(order=order, notes=notes, actor=actor)
        return notes


def credit_note_goodwill(
    *, invoice_id: int, amount: Decimal, note: str, actor=None, issue_date: datetime.date | None = None
) -> CreditNote:
    """Credit part of an invoice as goodwill (incl. VAT), shared over its VAT rates in
    proportion to what is still uncredited per rate."""
    _require_credit_permission(actor)
    amount = round_money(Decimal(amount))
    if amount <= 0:
        raise CreditExceedsInvoiced(_("The amount must be more than zero."), attr="amount")
    if not (note or "").strip():
        raise Conflict(_("Give a reason."), code="reason_required", attr="note")
    with transaction.atomic(), audited(actor):
        order_id = Invoice.objects.values_list("order_id", flat=True).get(pk=invoice_id)
        order = order_qs_for_update().select_related("channel", "customer").get(pk=order_id)
        invoice = Invoice.objects.get(pk=invoice_id)
        remaining: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
        for rate, total in invoice.lines.values_list("vat_rate", "total_amount"):
            remaining[rate] += total
        for rate, total in CreditNoteLine.objects.filter(credit_note__invoice=invoice).values_list(
            "vat_rate", "total_amount"
        ):
            remaining[rate] += total
        left = sum(remaining.values(), ZERO)
        if amount > left:
            raise CreditExceedsInvoiced(
                _("At most %(left)s of invoice %(number)s is left to credit.")
                % {"left": left, "number": invoice.number},
                attr="amount",
            )
        parts = split_over_rates(amount, {rate: value for rate, value in remaining.items() if value > 0})
        with translation.override(invoice.language):
            description = _("Goodwill: %(note)s") % {"note": note.strip()}
        lines = []
        for rate, part in sorted(parts.items(), reverse=True):
            if part <= 0:
                continue
            vat = ZERO if invoice.reverse_charge else vat_of_gross(part, rate)
            lines.append(
                CreditNoteLine(
                    kind=DocumentLineKind.GOODWILL,
                    description=description[:255],
                    quantity=1,
                    unit_price_excl=part - vat,
                    vat_rate=rate,
                    net_amount=-(part - vat),
                    vat_amount=-vat,
                    total_amount=-part,
                )
            )
        credit_note = _credit_note_issue(
            invoice=invoice,
            lines=lines,
            reason=CreditNoteReason.GOODWILL,
            note=note,
            source_reference="",
            issue_date=issue_date or timezone.localdate(),
        )
        _after_credit(order=order, notes=[credit_note], actor=actor)
        return credit_note


def _after_credit(*, order: Order, notes: list[CreditNote], actor) -> None:
    from payments.services.payments import order_payments_settle

    for credit_note in notes:
        order_event_create(
            order=order,
            kind="credit_note_issued",
            actor=actor,
            data={
                "credit_note": credit_note.number,
                "invoice": credit_note.invoice_number,
                "total": str(credit_note.total_amount),
            },
        )
    order_payments_settle(order=order, actor=actor, source="credit_note")
