"""Reads with rules: a team sees its own submissions, organizers see their competitions'."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from competitions import selectors as competition_selectors
from competitions.models import Competition

from .models import Submission


def _with_related(qs: QuerySet[Submission]) -> QuerySet[Submission]:
    return qs.select_related("competition", "phase", "team").prefetch_related("scores", "runs")


def submissions_of_team(*, competition: Competition, user) -> QuerySet[Submission]:
    team = competition_selectors.team_of(competition=competition, user=user)
    if team is None:
        return Submission.objects.none()
    return _with_related(Submission.objects.filter(team=team))


def submission_get(*, submission_id: int, user) -> tuple[Submission, bool]:
    """The submission and whether the caller organizes its competition; 404 for anyone else's."""
    submission = _with_related(Submission.objects.filter(pk=submission_id)).first()
    if submission is None or not user.is_authenticated:
        raise Http404(f"No submission {submission_id}.")
    organizer = competition_selectors.is_organizer(competition=submission.competition, user=user)
    if organizer:
        return submission, True
    if submission.team_id and submission.team.memberships.filter(user=user).exists():
        return submission, False
    raise Http404(f"No submission {submission_id}.")  # someone else's: indistinguishable from missing
