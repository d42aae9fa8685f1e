"""Reads with rules: a team sees its own submissions, organizers see their competitions'."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from competitions import access
from competitions import selectors as competition_selectors
from competitions.models import Competition

from . import disclosure
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
    organizer = access.may_organize(competition=submission.competition, user=user)
    if access.may_see_submission(submission=submission, user=user, organizer=organizer):
        return submission, organizer
    raise Http404(f"No submission {submission_id}.")  # someone else's: indistinguishable from missing


def submissions_of_competition(*, competition: Competition) -> QuerySet[Submission]:
    """Every submission of a competition, newest first: the organizers' queue (callers check the role)."""
    return Submission.objects.filter(competition=competition).select_related("phase", "team").prefetch_related("runs")


def recent_finished(*, competitions, limit: int = 12) -> list[dict]:
    """The latest finished team submissions of these competitions with their public primary score.

    For the home page's activity feed: public split only, so it is safe for spectators.
    """
    from .models import Score

    recent = list(
        Submission.objects.filter(competition__in=competitions, status=Submission.FINISHED)
        .select_related("competition", "phase", "team")
        .order_by("-finished", "-id")[:limit]
    )
    if not recent:
        return []
    primary = {}
    from competitions.models import Metric

    for m in Metric.objects.filter(competition__in={s.competition_id for s in recent}, primary=True):
        primary[(m.competition_id, m.task)] = m
    values = {
        (s.submission_id, s.metric): s.value
        for s in Score.objects.filter(submission__in=recent, split=Score.PUBLIC)
        .only("submission_id", "metric", "value")
    }
    feed = []
    for sub in recent:
        metric = primary.get((sub.competition_id, sub.task))
        value = values.get((sub.pk, metric.key)) if metric else None
        precision = metric.precision if metric else None
        feed.append({
            "competition": sub.competition, "phase": sub.phase.name, "team": sub.display_name, "task": sub.task,
            "baseline": sub.is_baseline, "finished": disclosure.feed_time(sub.finished),
            "metric": metric.label if metric else None,
            "value": None if value is None else round(value, precision),
        })
    return feed
