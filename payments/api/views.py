"""The payment providers' webhook, and invoices and credit notes as PDF."""

from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from core.api.permissions import ClientKindPermission
from core.api.schema import ErrorResponseSerializer
from core.api.scoping import channel_scope
from core.services import outbox_enqueue
from payments import conf
from payments.api.serializers import WebhookAcceptedSerializer, WebhookInputSerializer
from payments.exceptions import UnknownProvider
from payments.models import Payment
from payments.providers.registry import get_provider
from payments.selectors import access_credit_note, access_invoice
from payments.services.documents import credit_note_pdf, invoice_pdf
from payments.services.payments import SYNC_TASK


class PaymentWebhookThrottle(SimpleRateThrottle):
    """Webhooks come without a key: their budget is per IP address."""

    scope = "payment_webhook"

    def get_rate(self) -> str:
        return conf.webhook_throttle_rate()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PaymentWebhookApi(APIView):
    """A payment provider says something changed about a payment.

    The body is never trusted: only the payment id is read from it (Mollie and the
    simulator post `id=tr_…` form-encoded), and only for a payment the back-office
    knows; the status is then fetched from the provider by a task (through the outbox,
    after this answer), so the provider gets its 200 at once and a provider that is
    slow or down is retried without losing the call. An id we do not know changes
    nothing and is answered the same (no hint for someone probing); a replay syncs
    again and finds nothing new. No API key: throttled per IP address."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PaymentWebhookThrottle]
    parser_classes = [FormParser]

    @extend_schema(
        operation_id="payments_webhook",
        request={"application/x-www-form-urlencoded": WebhookInputSerializer},
        responses={
            200: WebhookAcceptedSerializer,
            400: OpenApiResponse(ErrorResponseSerializer, description="The body names no payment id."),
            404: OpenApiResponse(ErrorResponseSerializer, description="Unknown provider."),
        },
        auth=[],
        tags=["payments"],
    )
    def post(self, request, provider: str):
        provider = provider.strip().lower()
        try:
            adapter = get_provider(provider)
        except UnknownProvider as exc:
            raise NotFound(_("Unknown payment provider."), code="unknown_provider") from exc
        provider_id = adapter.parse_webhook(request.body, request.content_type)
        if provider_id is None:
            raise ValidationError({"id": [_("The webhook names no payment id this provider uses.")]}, code="invalid")
        if Payment.objects.filter(provider=provider, provider_id=provider_id).exists():
            with transaction.atomic():
                outbox_enqueue(SYNC_TASK, provider=provider, provider_id=provider_id, label=f"webhook:{provider}")
        return Response(WebhookAcceptedSerializer({"received": True}).data)


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


class InvoicePdfApi(APIView):
    """An invoice as PDF: for the channel that sold the order and for staff who may see
    invoices; another channel's invoice is a 404."""

    permission_classes = [ClientKindPermission]
    api_clients = {"channel", "staff"}
    staff_permission = "payments.view_invoice"

    @extend_schema(
        operation_id="invoices_pdf",
        parameters=[OpenApiParameter("number", str, OpenApiParameter.PATH, description="e.g. 2026-000045")],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF"),
            404: OpenApiResponse(ErrorResponseSerializer),
        },
        tags=["invoices"],
    )
    def get(self, request, number: str):
        invoice = access_invoice(number=number, channel_id=channel_scope(request))
        return _pdf_response(invoice_pdf(invoice), f"{invoice.number}.pdf")


class CreditNotePdfApi(APIView):
    """A credit note as PDF (same access as invoices)."""

    permission_classes = [ClientKindPermission]
    api_clients = {"channel", "staff"}
    staff_permission = "payments.view_creditnote"

    @extend_schema(
        operation_id="credit_notes_pdf",
        parameters=[OpenApiParameter("number", str, OpenApiParameter.PATH, description="e.g. CN2026-000012")],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF"),
            404: OpenApiResponse(ErrorResponseSerializer),
        },
        tags=["invoices"],
    )
    def get(self, request, number: str):
        credit_note = access_credit_note(number=number, channel_id=channel_scope(request))
        return _pdf_response(credit_note_pdf(credit_note), f"{credit_note.number}.pdf")
