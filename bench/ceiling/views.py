from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.ceiling.models import CeilingHit
from core.api.permissions import ClientKindPermission


class CeilingApi(APIView):
    """POST: insert one row, answer 201 with its id. Same authentication (API key),
    permission (channel keys), throttling, parser and renderer as the order intake."""

    permission_classes = [ClientKindPermission]
    api_clients = {"channel"}

    def post(self, request):
        hit = CeilingHit.objects.create(client=str(request.user))
        return Response({"id": hit.pk}, status=status.HTTP_201_CREATED)
