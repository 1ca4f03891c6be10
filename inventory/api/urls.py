from django.urls import path

from inventory.api import views

urlpatterns = [
    path("stock/", views.StockLevelListApi.as_view(), name="stock-list"),
]
