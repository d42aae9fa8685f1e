"""Competitions, teams, submissions and scores written straight to the database.

Leaderboard and page tests need many submissions with chosen scores and timestamps;
evaluating real files for each would be slow and would hide what a test is about. These
builders write the rows the evaluation pipeline would have written. Tests that need a
push go through ``evaluation.services.scores_save`` instead, as the pipeline does.
"""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from competitions.models import Competition, Metric, Phase, Team, TeamMembership
from submissions.models import Score, Submission

_counter = itertools.count(1)

MIA_METRICS = [
    ("tpr_at_fpr_0_1", "TPR at FPR 0.1", "higher", 4, True),
    ("auc", "ROC AUC", "higher", 4, False),
    ("epsilon_lower_bound", "Empirical ε lower bound", "higher", 3, False),
]


def competition_make(*, slug: str | None = None, task: str = "membership-inference", metrics=None, published: bool = True,
                     phase_end: dt.datetime | None = None, max_final_selections: int = 2, attack_tasks=(),
                     options: dict | None = None, description: str = "# About\n\nFind the members.") -> Competition:
    n = next(_counter)
    competition = Competition.objects.create(
        slug=slug or f"board-{n}", title=f"Board test {n}", description=description, task=task,
        attack_tasks=list(attack_tasks), published=published, options=options or {},
        schema={"id_column": "record_id", "columns": [{"name": "age", "type": "numeric"}], "quasi_identifiers": ["age"]},
    )
    Phase.objects.create(
        competition=competition, name="development", order=0, start=timezone.now() - dt.timedelta(days=10),
        end=phase_end, max_final_selections=max_final_selections, max_submissions_per_day=100,
    )
    for order, (key, label, direction, precision, primary) in enumerate(metrics or MIA_METRICS):
        Metric.objects.create(competition=competition, task=task, key=key, label=label, direction=direction,
                              precision=precision, primary=primary, order=order)
    return competition


def team_make(competition: Competition, name: str, *members) -> Team:
    team = Team.objects.create(competition=competition, name=name)
    for user in members:
        TeamMembership.objects.create(team=team, user=user, competition=competition)
    return team


def submission_make(*, competition: Competition, team: Team | None = None, baseline: str | None = None,
                    public: dict | None = None, private: dict | None = None, status: str = Submission.FINISHED,
                    created: dt.datetime | None = None, selected: bool = False, task: str | None = None,
                    details: dict | None = None) -> Submission:
    """One submission with scores; a score is a value or a (value, ci_low, ci_high) tuple."""
    phase = competition.phases.first()
    assert phase is not None, "the competition has no phase"
    n = next(_counter)
    submission = Submission.objects.create(
        competition=competition, phase=phase, team=team, role="attack", task=task or competition.task, kind=Submission.FILE,
        storage_path=f"submissions/test/{n}", original_filename="predictions.csv", sha256=f"{n:064x}", size=10,
        status=status, selected=selected, is_baseline=baseline is not None, baseline_name=baseline or "",
        finished=timezone.now() if status == Submission.FINISHED else None,
    )
    if created is not None:
        Submission.objects.filter(pk=submission.pk).update(created=created)
        submission.created = created
    rows = []
    for split, scores in ((Score.PUBLIC, public or {}), (Score.PRIVATE, private or {})):
        for key, value in scores.items():
            low = high = None
            if isinstance(value, tuple):
                value, low, high = value
            rows.append(Score(submission=submission, split=split, metric=key, value=value, ci_low=low, ci_high=high,
                              detail=(details or {}).get(key, {})))
    Score.objects.bulk_create(rows)
    return submission


def minutes_ago(minutes: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes)
