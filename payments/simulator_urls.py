"""The payment simulator's pages; the project includes them at /simulator/psp/:

path("simulator/psp/", include("payments.simulator_urls")),
"""

from django.urls import path

from payments.simulator_views import simulator_checkout

app_name = "payments_simulator"

urlpatterns = [
    path("<str:provider_id>/", simulator_checkout, name="checkout"),
]
