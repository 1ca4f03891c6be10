from django.urls import path

from payments.api import views

urlpatterns = [
    path("payments/webhooks/<str:provider>/", views.PaymentWebhookApi.as_view(), name="payment-webhook"),
    path("invoices/<str:number>.pdf", views.InvoicePdfApi.as_view(), name="invoice-pdf"),
    path("credit-notes/<str:number>.pdf", views.CreditNotePdfApi.as_view(), name="credit-note-pdf"),
]
