"""Submission API: thin views over the submission services and selectors."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from competitions import selectors as competition_selectors
from config.api_errors import ApiError
from submissions import selectors, services

from .serializers import SubmissionIn, SubmissionOut


class SubmissionListCreateView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=SubmissionOut(many=True))
    def get(self, request, slug: str):
        competition = competition_selectors.competition_get(slug=slug, user=request.user)
        submissions = selectors.submissions_of_team(competition=competition, user=request.user)
        organizer = competition_selectors.is_organizer(competition=competition, user=request.user)
        return Response(SubmissionOut(submissions, many=True, context={"organizer": organizer}).data)

    @extend_schema(request=SubmissionIn, responses={201: SubmissionOut})
    def post(self, request, slug: str):
        # Refuse an oversized upload from its declared length, before the body is read or stored.
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.ARENA_MAX_UPLOAD_BYTES + 64 * 1024:
            raise ApiError(f"file: the upload is {declared:,} bytes; the limit is {settings.ARENA_MAX_UPLOAD_BYTES:,} bytes.",
                           status_code=413)
        competition = competition_selectors.competition_get(slug=slug, user=request.user)
        team = competition_selectors.team_of(competition=competition, user=request.user)
        if team is None:
            raise ApiError(f"Join or create a team in '{slug}' before submitting.", status_code=403)
        data = SubmissionIn(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        phase = None
        if data.validated_data.get("phase"):
            phase = competition_selectors.phase_choose(competition=competition, name=data.validated_data["phase"])
        submission = services.submission_create(
            competition=competition, team=team, user=request.user, upload=upload, filename=upload.name, size=upload.size,
            role=data.validated_data.get("role"), task=data.validated_data.get("task"),
            description=data.validated_data.get("description", ""), phase=phase,
        )
        return Response(SubmissionOut(submission, context={"organizer": False}).data, status=status.HTTP_201_CREATED)


class SubmissionDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=SubmissionOut)
    def get(self, request, submission_id: int):
        submission, organizer = selectors.submission_get(submission_id=submission_id, user=request.user)
        return Response(SubmissionOut(submission, context={"organizer": organizer}).data)


class SubmissionSelectView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=SubmissionOut)
    def post(self, request, submission_id: int):
        submission, organizer = selectors.submission_get(submission_id=submission_id, user=request.user)
        if submission.team_id is None or not submission.team.memberships.filter(user=request.user).exists():
            raise ApiError("Only the team's members can choose its final submissions.", status_code=403)
        selected = str(request.data.get("selected", "true")).lower() not in ("false", "0", "no")
        submission = services.submission_select(submission=submission, selected=selected)
        return Response(SubmissionOut(submission, context={"organizer": organizer}).data)


class SubmissionCancelView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=SubmissionOut)
    def post(self, request, submission_id: int):
        submission, organizer = selectors.submission_get(submission_id=submission_id, user=request.user)
        submission = services.submission_cancel(submission=submission)
        return Response(SubmissionOut(submission, context={"organizer": organizer}).data)
