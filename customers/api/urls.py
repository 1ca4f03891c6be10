from django.urls import path

from customers.api import views

urlpatterns = [
    path("customers/", views.CustomerListApi.as_view(), name="customer-list"),
    path("customers/<int:customer_id>/", views.CustomerDetailApi.as_view(), name="customer-detail"),
]
