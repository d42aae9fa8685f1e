"""Arena API: a thin view over the identifiability report selector."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_errors import ApiError
from submissions.models import Score

from . import selectors


class SubmissionReportView(APIView):
    """GET /api/v1/submissions/{id}/report/: a finished defense's identifiability report.

    Readable by the defense's team and the competition's organizers, and by everyone for the
    organizer baselines of a published competition. ``split=private`` is shown once the
    phase's private leaderboard is visible (organizers: always).
    """

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("split", str, enum=["public", "private"])],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, submission_id: int):
        defense, organizer = selectors.report_defense_get(submission_id=submission_id, user=request.user)
        split = request.query_params.get("split", Score.PUBLIC)
        if split not in (Score.PUBLIC, Score.PRIVATE):
            raise ApiError(f"split: expected public or private, got {split!r}.")
        selectors.report_split_allowed(defense=defense, split=split, organizer=organizer)
        return Response(selectors.identifiability_report(defense=defense, split=split))
