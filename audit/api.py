"""The audit log of one competition, for its organizers and staff."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from competitions import access, selectors
from config.api_errors import ApiError

from .selectors import audit_events_of_competition


class AuditEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    created = serializers.DateTimeField()
    action = serializers.CharField()
    actor = serializers.CharField(source="actor_username", help_text="Empty: the system (a command line, a job)")
    target = serializers.CharField()
    detail = serializers.JSONField()
    request_id = serializers.CharField()
    ip = serializers.IPAddressField(allow_null=True)


class CompetitionAuditView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=AuditEventOut(many=True))
    def get(self, request, slug: str):
        competition = selectors.competition_get(slug=slug, user=request.user)
        if not access.may_read_audit_log(competition=competition, user=request.user):
            raise ApiError("Only the competition's organizers can read its audit log.", status_code=403)
        return Response(AuditEventOut(audit_events_of_competition(slug=competition.slug), many=True).data)
