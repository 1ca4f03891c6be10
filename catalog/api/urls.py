from django.urls import path

from catalog.api import views

urlpatterns = [
    path("products/", views.ProductListApi.as_view(), name="product-list"),
]
