from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import ClientKindPermission


class ApiClientMeApi(APIView):
    """Who am I: the API client behind the key, so an integrator can check a key."""

    permission_classes = [ClientKindPermission]
    api_clients = {"channel", "location", "staff"}
    staff_permission = True

    class OutputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=["channel", "location", "staff"])
        name = serializers.CharField()
        prefix = serializers.CharField()
        channel = serializers.CharField(allow_null=True)
        location = serializers.CharField(allow_null=True)
        user = serializers.CharField(allow_null=True)

    @extend_schema(operation_id="me_retrieve", responses=OutputSerializer, tags=["auth"])
    def get(self, request):
        key = request.auth
        data = {
            "kind": key.kind,
            "name": key.name,
            "prefix": key.prefix,
            "channel": key.channel.code if key.channel_id else None,
            "location": key.location.code if key.location_id else None,
            "user": key.user.username if key.user_id else None,
        }
        return Response(self.OutputSerializer(data).data)
