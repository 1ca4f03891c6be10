"""URLs for the payments tests: the simulator's pages where the project will include
them, and a small webhook receiver that does what the real endpoint does: take the id
from the body and ask the provider."""

import threading

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from payments.providers.registry import get_provider

RECEIVED: list[dict] = []
FAILURES_TO_GIVE = {"count": 0}
_lock = threading.Lock()


@csrf_exempt
def receive_webhook(request):
    with _lock:
        if FAILURES_TO_GIVE["count"] > 0:
            FAILURES_TO_GIVE["count"] -= 1
            return HttpResponse(status=503)
    provider = get_provider("simulator")
    provider_id = provider.parse_webhook(request.body, request.META.get("CONTENT_TYPE"))
    if provider_id is None:
        return HttpResponse(status=400)
    payment = provider.get_payment(provider_id)
    with _lock:
        RECEIVED.append(
            {
                "id": provider_id,
                "status": payment.status,
                "charged_back": payment.amount_charged_back,
                "body": request.body,
            }
        )
    return HttpResponse("ok")


urlpatterns = [
    path("simulator/psp/", include("payments.simulator_urls")),
    path("hooks/psp/", receive_webhook),
]
