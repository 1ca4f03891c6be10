import django_filters
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import errors_of
from core.api.filters import UpdatedSinceFilterSet
from core.api.permissions import ClientKindPermission
from core.api.schema import CONFLICT_RESPONSE, ErrorResponseSerializer
from core.api.scoping import api_actor, channel_scope, location_scope
from core.exceptions import ApplicationError
from orders.api.representation import fulfilment_representation, order_representation
from orders.api.serializers import (
    CancelInputSerializer,
    FulfilmentOutputSerializer,
    OrderInputSerializer,
    OrderOutputSerializer,
    ShipmentCreatedSerializer,
    ShipmentInputSerializer,
)
from orders.models import Fulfilment, Order, OrderInbox
from orders.selectors import access_fulfilment, access_order, fulfilment_worklist, order_list, order_prefetch
from orders.services.cancellation import order_cancel
from orders.services.fulfilment import fulfilment_advance, shipment_create
from orders.services.intake import order_inbox_receive, order_inbox_record, order_intake
from orders.states import OPEN_FULFILMENT_STATUSES, FulfilmentStatus, OrderStatus


class OrderFilter(UpdatedSinceFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    external_reference = django_filters.CharFilter()

    class Meta:
        model = Order
        fields = ["status", "external_reference"]


class OrderListCreateApi(ListAPIView):
    """`GET`: the channel's orders, oldest change first (`updated_since` to sync).
    `POST`: a new order from the webshop, idempotent on `external_reference`."""

    permission_classes = [ClientKindPermission]
    api_clients = {"channel", "staff"}
    staff_permission = {"GET": "orders.view_order"}  # staff keys read; only channels post orders
    serializer_class = OrderOutputSerializer
    filterset_class = OrderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return order_list(channel_id=channel_scope(self.request)).prefetch_related(*order_prefetch())

    @extend_schema(operation_id="orders_list", tags=["orders"])
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([order_representation(order, request) for order in page])

    @extend_schema(
        operation_id="orders_create",
        tags=["orders"],
        request=OrderInputSerializer,
        responses={
            201: OrderOutputSerializer,
            200: OpenApiResponse(OrderOutputSerializer, description="Repeat of an order received before."),
            409: CONFLICT_RESPONSE,
        },
    )
    def post(self, request, *args, **kwargs):
        channel = request.user.channel  # only channel keys pass the permission for POST
        inbox = order_inbox_receive(
            channel=channel,
            body=request.body.decode("utf-8", errors="replace"),
            request_id=getattr(request._request, "request_id", ""),
        )
        actor, acting = api_actor(request)
        try:
            serializer = OrderInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            with acting:
                result = order_intake(channel=channel, payload=serializer.validated_data, actor=actor, inbox=inbox)
        except (APIException, ApplicationError) as exc:
            conflict = getattr(exc, "http_status", 400) == status.HTTP_409_CONFLICT
            order_inbox_record(
                inbox=inbox,
                result=OrderInbox.Result.CONFLICT if conflict else OrderInbox.Result.REJECTED,
                errors=errors_of(exc),
            )
            raise
        except Exception as exc:
            order_inbox_record(inbox=inbox, result=OrderInbox.Result.FAILED, errors=errors_of(exc))
            raise
        order = result.order  # order_intake recorded it on the inbox entry
        if not result.created:
            order = access_order(number=order.number, channel_id=channel.pk)
        data = order_representation(order, request)
        if result.created:
            location = reverse("api:order-detail", args=[order.number])
            return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})
        return Response(data, status=status.HTTP_200_OK)


class OrderDetailApi(APIView):
    permission_classes = [ClientKindPermission]
    api_clients = {"channel", "staff"}
    staff_permission = "orders.view_order"

    @extend_schema(operation_id="orders_retrieve", responses=OrderOutputSerializer, tags=["orders"])
    def get(self, request, number: str):
        order = access_order(number=number, channel_id=channel_scope(request))
        return Response(order_representation(order, request))


class OrderCancelApi(APIView):
    """Cancel an order before anything shipped; its stock is released."""

    permission_classes = [ClientKindPermission]
    api_clients = {"channel", "staff"}
    staff_permission = "orders.cancel_order"

    @extend_schema(
        operation_id="orders_cancel",
        request=CancelInputSerializer,
        responses={200: OrderOutputSerializer, 409: CONFLICT_RESPONSE},
        tags=["orders"],
    )
    def post(self, request, number: str):
        serializer = CancelInputSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        order = access_order(number=number, channel_id=channel_scope(request))
        actor, acting = api_actor(request)
        with acting:
            order_cancel(order_id=order.pk, actor=actor, reason=serializer.validated_data.get("reason", ""))
        order = access_order(number=number, channel_id=channel_scope(request))
        return Response(order_representation(order, request))


# --- fulfilment (location keys) --------------------------------------------------------


class WorklistPagination(CursorPagination):
    ordering = ("promised_ship_date", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class FulfilmentFilter(UpdatedSinceFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=FulfilmentStatus.choices)

    class Meta:
        model = Fulfilment
        fields = ["status"]


class FulfilmentListApi(ListAPIView):
    """The location's work list, oldest promise first. Without `status`: everything
    still open (waiting, released, picked, packed)."""

    permission_classes = [ClientKindPermission]
    api_clients = {"location"}
    serializer_class = FulfilmentOutputSerializer
    filterset_class = FulfilmentFilter
    pagination_class = WorklistPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Fulfilment.objects.none()
        qs = fulfilment_worklist(location_id=location_scope(self.request), status=None)
        if "status" not in self.request.query_params:
            qs = qs.filter(status__in=OPEN_FULFILMENT_STATUSES)
        return qs

    @extend_schema(operation_id="fulfilments_list", tags=["fulfilment"])
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([fulfilment_representation(f) for f in page])


class FulfilmentDetailApi(APIView):
    permission_classes = [ClientKindPermission]
    api_clients = {"location"}

    @extend_schema(operation_id="fulfilments_retrieve", responses=FulfilmentOutputSerializer, tags=["fulfilment"])
    def get(self, request, fulfilment_id: str):
        fulfilment = access_fulfilment(code=fulfilment_id, location_id=location_scope(request))
        return Response(fulfilment_representation(fulfilment))


class FulfilmentShipmentCreateApi(APIView):
    """A parcel left the location: carrier, tracking code and what is in it. Shipping
    more than was allocated is a 400; the shipped quantities are invoiced."""

    permission_classes = [ClientKindPermission]
    api_clients = {"location"}

    @extend_schema(
        operation_id="fulfilments_shipments_create",
        request=ShipmentInputSerializer,
        responses={
            201: ShipmentCreatedSerializer,
            200: OpenApiResponse(ShipmentCreatedSerializer, description="This parcel was recorded before."),
            409: CONFLICT_RESPONSE,
        },
        tags=["fulfilment"],
    )
    def post(self, request, fulfilment_id: str):
        serializer = ShipmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        location_id = location_scope(request)
        fulfilment = access_fulfilment(code=fulfilment_id, location_id=location_id)
        actor, acting = api_actor(request)
        data = serializer.validated_data
        with acting:
            shipment, created = shipment_create(
                fulfilment_id=fulfilment.pk,
                carrier=data["carrier"],
                tracking_code=data["tracking_code"],
                lines=data["lines"],
                weight_grams=data.get("weight_grams"),
                actor=actor,
                location_id=location_id,
            )
        body = ShipmentCreatedSerializer(shipment).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class _FulfilmentProgressApi(APIView):
    permission_classes = [ClientKindPermission]
    api_clients = {"location"}
    target_status = ""

    def post(self, request, fulfilment_id: str):
        location_id = location_scope(request)
        fulfilment = access_fulfilment(code=fulfilment_id, location_id=location_id)
        actor, acting = api_actor(request)
        with acting:
            fulfilment_advance(
                fulfilment_id=fulfilment.pk, status=self.target_status, actor=actor, location_id=location_id
            )
        fulfilment = access_fulfilment(code=fulfilment_id, location_id=location_id)
        return Response(fulfilment_representation(fulfilment))


class FulfilmentPickedApi(_FulfilmentProgressApi):
    """The location picked the goods."""

    target_status = FulfilmentStatus.PICKED

    @extend_schema(
        operation_id="fulfilments_picked",
        request=None,
        responses={200: FulfilmentOutputSerializer, 409: CONFLICT_RESPONSE},
        tags=["fulfilment"],
    )
    def post(self, request, fulfilment_id: str):
        return super().post(request, fulfilment_id)


class FulfilmentPackedApi(_FulfilmentProgressApi):
    """The location packed the goods."""

    target_status = FulfilmentStatus.PACKED

    @extend_schema(
        operation_id="fulfilments_packed",
        request=None,
        responses={200: FulfilmentOutputSerializer, 409: CONFLICT_RESPONSE},
        tags=["fulfilment"],
    )
    def post(self, request, fulfilment_id: str):
        return super().post(request, fulfilment_id)


class FulfilmentDocumentApi(APIView):
    """Pick list or packing slip as PDF."""

    permission_classes = [ClientKindPermission]
    api_clients = {"location"}
    document = "pick_list"

    @extend_schema(
        operation_id="fulfilments_document",
        parameters=[OpenApiParameter("document", str, OpenApiParameter.PATH, enum=["pick-list", "packing-slip"])],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF"),
            404: OpenApiResponse(ErrorResponseSerializer),
        },
        tags=["fulfilment"],
    )
    def get(self, request, fulfilment_id: str, document: str):
        from orders.documents import packing_slip_pdf, pick_list_pdf

        fulfilment = access_fulfilment(code=fulfilment_id, location_id=location_scope(request))
        if document == "pick-list":
            pdf = pick_list_pdf(fulfilment_id=fulfilment.pk)
        elif document == "packing-slip":
            pdf = packing_slip_pdf(fulfilment_id=fulfilment.pk)
        else:
            raise ValidationError({"document": ["Use pick-list or packing-slip."]})
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{fulfilment.code}-{document}.pdf"'
        return response
