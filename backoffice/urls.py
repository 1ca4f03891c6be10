from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import views as core_views

# One entry per app that has API operations (each app's api/urls.py).
api_v1 = [
    path("", include("core.api.urls")),
    path("", include("customers.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("payments.api.urls")),
]

# Staff login, second step: enter a code, or set up an authenticator first (core.twofactor).
two_factor = [
    path("verify/", core_views.two_factor_verify, name="verify"),
    path("set-up/", core_views.two_factor_enrol, name="enrol"),
]

urlpatterns = [
    path("admin/two-factor/", include((two_factor, "two_factor"))),  # before the admin's catch-all
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", core_views.healthz, name="healthz"),
    # the payment provider simulator's checkout page (404 unless PAYMENT_PROVIDER_BACKEND=simulator)
    path("simulator/psp/", include("payments.simulator_urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]), name="schema"),
    path(
        "api/docs/",
        # the split view serves its start-up script as a file, so the CSP needs no inline script
        SpectacularSwaggerSplitView.as_view(url_name="schema", permission_classes=[], authentication_classes=[]),
        name="api-docs",
    ),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
