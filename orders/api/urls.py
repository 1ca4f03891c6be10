from django.urls import path

from orders.api import views

urlpatterns = [
    path("orders/", views.OrderListCreateApi.as_view(), name="order-list"),
    path("orders/<str:number>/", views.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:number>/cancel/", views.OrderCancelApi.as_view(), name="order-cancel"),
    path("fulfilments/", views.FulfilmentListApi.as_view(), name="fulfilment-list"),
    path("fulfilments/<str:fulfilment_id>/", views.FulfilmentDetailApi.as_view(), name="fulfilment-detail"),
    path(
        "fulfilments/<str:fulfilment_id>/shipments/",
        views.FulfilmentShipmentCreateApi.as_view(),
        name="fulfilment-shipments",
    ),
    path("fulfilments/<str:fulfilment_id>/picked/", views.FulfilmentPickedApi.as_view(), name="fulfilment-picked"),
    path("fulfilments/<str:fulfilment_id>/packed/", views.FulfilmentPackedApi.as_view(), name="fulfilment-packed"),
    path(
        "fulfilments/<str:fulfilment_id>/<str:document>.pdf",
        views.FulfilmentDocumentApi.as_view(),
        name="fulfilment-document",
    ),
]
