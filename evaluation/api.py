"""Arena API: thin views over the arena selectors (the attack × defense matrix, the
identifiability report)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from competitions import access
from competitions import selectors as competition_selectors
from config.api_errors import ApiError
from submissions.models import Score
from submissions.services import submission_hidden_detail_read

from . import identifiability, selectors


class SubmissionReportView(APIView):
    """GET /api/v1/submissions/{id}/report/: a finished defense's identifiability report.

    In a published competition everyone may read the public split of every finished defense.
    ``split=private`` is for the defense's team once the phase's private leaderboard is visible
    (organizers: always; baselines: everyone, after the reveal).
    """

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("split", str, enum=["public", "private"])],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, submission_id: int):
        defense, reader = identifiability.report_defense_get(submission_id=submission_id, user=request.user)
        split = request.query_params.get("split", Score.PUBLIC)
        if split not in (Score.PUBLIC, Score.PRIVATE):
            raise ApiError(f"split: expected public or private, got {split!r}.")
        identifiability.report_split_allowed(defense=defense, split=split, reader=reader)
        report = identifiability.identifiability_report(defense=defense, split=split, organizer=reader == "organizer")
        if reader == "organizer":  # the organizers' view quotes what the release's scoring found in hidden data
            submission_hidden_detail_read(submission=defense, actor=request.user, via="report api")
        return Response(report)


class ArenaMatrixView(APIView):
    """GET /api/v1/competitions/{slug}/arena/matrix/: the phase's attack × defense matrix.

    Everyone who may see the competition may read the public split; ``split=private`` once the
    phase's private leaderboard is visible (organizers: always), as for the leaderboards.
    """

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("phase", str, description="Phase name (default: the open phase)"),
            OpenApiParameter("split", str, enum=["public", "private"]),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, slug: str):
        competition = competition_selectors.competition_get(slug=slug, user=request.user)
        if not competition.is_arena:
            raise Http404(f"Competition '{slug}' is not an arena: it pairs no attack tasks with its defenses.")
        phase = competition_selectors.phase_choose(competition=competition, name=request.query_params.get("phase"))
        split = request.query_params.get("split", Score.PUBLIC)
        if split not in (Score.PUBLIC, Score.PRIVATE):
            raise ApiError(f"split: expected public or private, got {split!r}.")
        if split == Score.PRIVATE and not access.may_see_private(phase=phase, user=request.user):
            raise ApiError(f"The private split of phase {phase.name!r} is hidden until the organizers reveal it"
                           + (f" or the phase ends ({phase.end.isoformat()})." if phase.end else "."), status_code=403)
        return Response(selectors.arena_matrix_shared(phase=phase, split=split))
