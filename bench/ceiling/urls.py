"""The project's URLs plus the ceiling endpoint (only under backoffice.settings_bench)."""

from django.urls import path

from backoffice.urls import handler400, handler403, handler404, handler500
from backoffice.urls import urlpatterns as project_urlpatterns
from bench.ceiling.views import CeilingApi

urlpatterns = [
    path("api/v1/bench/ceiling/", CeilingApi.as_view(), name="bench-ceiling"),
    *project_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
