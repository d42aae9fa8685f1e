"""Leaderboard reads: who ranks where on a phase's public or private split.

The ranking work happens in the database: a window function picks each team's best
submission, so the Python side only ever handles one row per team (plus baselines), however
many submissions the phase holds. Rows come out in rank order with ties broken by the
secondary metrics in their listed order, then by the earlier submission.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber

from competitions.models import Competition, Metric, Phase
from submissions.models import Score, Submission

CACHE_SECONDS = 300


@dataclass
class Row:
    rank: int
    submission: int
    team: str | None
    team_id: int | None
    baseline: bool
    created: str
    scores: dict[str, dict] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "rank": self.rank,
            "team": self.team,
            "team_id": self.team_id,
            "submission": self.submission,
            "baseline": self.baseline,
            "created": self.created,
            "scores": self.scores,
        }


def task_metrics(*, competition: Competition, task: str) -> list[Metric]:
    metrics = [m for m in competition.metrics.all() if m.task == task]
    metrics.sort(key=lambda m: (not m.primary, m.order))
    return metrics


def _order_value(value: float | None, direction: str) -> float:
    """Sort key where smaller is better; missing values rank last."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.inf
    return -value if direction == Metric.HIGHER else value


def _best_per_team(*, phase: Phase, task: str, split: str, primary: Metric, only_ids=None) -> list[int]:
    """Each team's best finished submission on ``split`` by the primary metric (ties: earlier first)."""
    ordering = F("value").desc(nulls_last=True) if primary.direction == Metric.HIGHER else F("value").asc(nulls_last=True)
    scores = Score.objects.filter(
        split=split, metric=primary.key, submission__phase=phase, submission__task=task,
        submission__status=Submission.FINISHED, submission__is_baseline=False,
    )
    if only_ids is not None:
        scores = scores.filter(submission_id__in=only_ids)
    ranked = scores.annotate(
        position=Window(RowNumber(), partition_by=[F("submission__team_id")],
                        order_by=[ordering, F("submission__created").asc(), F("submission_id").asc()])
    ).filter(position=1)
    return list(ranked.values_list("submission_id", flat=True))


def _private_candidates(*, phase: Phase, task: str, primary: Metric) -> list[int]:
    """Selected finals; a team that selected none is represented by its best public ones."""
    selected = list(
        Submission.objects.filter(phase=phase, task=task, selected=True, status=Submission.FINISHED, is_baseline=False)
        .values_list("id", "team_id")
    )
    teams_with_selection = {team for _, team in selected}
    ids = [pk for pk, _ in selected]
    ordering = F("value").desc(nulls_last=True) if primary.direction == Metric.HIGHER else F("value").asc(nulls_last=True)
    fallback = (
        Score.objects.filter(
            split=Score.PUBLIC, metric=primary.key, submission__phase=phase, submission__task=task,
            submission__status=Submission.FINISHED, submission__is_baseline=False,
        )
        .exclude(submission__team_id__in=teams_with_selection)
        .annotate(position=Window(RowNumber(), partition_by=[F("submission__team_id")],
                                  order_by=[ordering, F("submission__created").asc(), F("submission_id").asc()]))
        .filter(position__lte=phase.max_final_selections)
        .values_list("submission_id", flat=True)
    )
    return ids + list(fallback)


def leaderboard_rows(*, phase: Phase, split: str, task: str | None = None) -> list[Row]:
    competition = phase.competition
    task = task or competition.task
    metrics = task_metrics(competition=competition, task=task)
    if not metrics:
        return []
    primary = metrics[0]
    if split == Score.PUBLIC:
        team_best = _best_per_team(phase=phase, task=task, split=split, primary=primary)
    else:
        candidates = _private_candidates(phase=phase, task=task, primary=primary)
        team_best = _best_per_team(phase=phase, task=task, split=split, primary=primary, only_ids=candidates)

    baseline_ids = Submission.objects.filter(
        phase=phase, task=task, is_baseline=True, status=Submission.FINISHED
    ).values_list("id", flat=True)
    submissions = {
        s.pk: s
        for s in Submission.objects.filter(Q(pk__in=team_best) | Q(pk__in=baseline_ids)).select_related("team")
    }
    precision = {m.key: m.precision for m in metrics}
    scores: dict[int, dict[str, dict]] = {pk: {} for pk in submissions}
    for score in Score.objects.filter(submission_id__in=submissions.keys(), split=split, metric__in=precision.keys()):
        scores[score.submission_id][score.metric] = {
            "value": _rounded(score.value, precision[score.metric]),
            "ci_low": _rounded(score.ci_low, precision[score.metric]),
            "ci_high": _rounded(score.ci_high, precision[score.metric]),
        }

    def sort_key(sub: Submission):
        values = tuple(_order_value(scores[sub.pk].get(m.key, {}).get("value"), m.direction) for m in metrics)
        return values + (sub.created, sub.pk)

    ordered = sorted(submissions.values(), key=sort_key)
    rows: list[Row] = []
    rank = 0
    for sub in ordered:
        if not sub.is_baseline:
            rank += 1
        rows.append(
            Row(
                rank=rank if not sub.is_baseline else None,
                submission=sub.pk,
                team=sub.baseline_name if sub.is_baseline else sub.team.name,
                team_id=None if sub.is_baseline else sub.team_id,
                baseline=sub.is_baseline,
                created=sub.created.isoformat().replace("+00:00", "Z"),
                scores=scores[sub.pk],
            )
        )
    return rows


def _rounded(value, digits: int):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(value, digits)


def cache_key(*, phase: Phase, split: str, task: str) -> str:
    return f"leaderboard:{phase.pk}:{split}:{task}"


def leaderboard_snapshot(*, phase: Phase, split: str, task: str | None = None) -> dict:
    """The leaderboard as the API and the websocket send it; cached until the next change."""
    task = task or phase.competition.task
    key = cache_key(phase=phase, split=split, task=task)
    snapshot = cache.get(key)
    if snapshot is None:
        metrics = task_metrics(competition=phase.competition, task=task)
        snapshot = {
            "competition": phase.competition.slug,
            "phase": phase.name,
            "split": split,
            "task": task,
            "metrics": [
                {"key": m.key, "label": m.label, "direction": m.direction, "precision": m.precision, "primary": m.primary}
                for m in metrics
            ],
            "rows": [r.as_dict() for r in leaderboard_rows(phase=phase, split=split, task=task)],
        }
        cache.set(key, snapshot, CACHE_SECONDS)
    return snapshot
