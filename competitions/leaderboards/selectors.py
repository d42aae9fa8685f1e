"""Leaderboard reads: who ranks where on a phase's public or private split.

The ranking work happens in the database: a window function picks each team's best
submission, so the Python side only ever handles one row per team (plus baselines), however
many submissions the phase holds.

Ranking rules (DESIGN.md, "Leaderboards"):

* values are compared at the metric's declared precision, in the metric's direction, so two
  scores that the board shows as equal are equal for the ranking too;
* ties break by the secondary metrics in their listed order, then by the earlier submission
  (then the lower id, so the order is total);
* a missing value (a metric a split could not compute) ranks after every number;
* baselines are reference rows: sorted in among the teams but given no rank.

The private board ranks each team's selected final submissions; a team that selected none
is represented by its best public ones (as many as it could have selected). It is computed
here for everyone, but served only where :func:`private_visible_to` allows.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import F, Max, Min, Q, Window
from django.db.models.functions import Rank, Round

from competitions.models import Competition, Metric, Phase
from config.formats import iso
from submissions.models import Score, Submission

from .generations import cache_key, history_cache_key

CACHE_SECONDS = 300
ROC_POINTS = 64  # a ROC curve on the board is thinned to about this many points


@dataclass
class Row:
    rank: int | None
    submission: int
    team: str | None
    team_id: int | None
    baseline: bool
    created: str
    scores: dict[str, dict] = field(default_factory=dict)
    roc: list[list[float]] | None = None

    def as_dict(self) -> dict:
        data = {
            "rank": self.rank,
            "team": self.team,
            "team_id": self.team_id,
            "submission": self.submission,
            "baseline": self.baseline,
            "created": self.created,
            "scores": self.scores,
        }
        if self.roc is not None:
            data["roc"] = self.roc
        return data


def board_tasks(*, competition: Competition) -> list[str]:
    """Every task with a board: the main task first, then an arena's attack tasks."""
    return [competition.task, *[t for t in competition.attack_tasks if t != competition.task]]


def task_metrics(*, competition: Competition, task: str) -> list[Metric]:
    """The task's metrics, primary first, then in their listed order (the tie-break order)."""
    metrics = [m for m in competition.metrics.all() if m.task == task]
    metrics.sort(key=lambda m: (not m.primary, m.order, m.pk))
    return metrics


def private_visible_to(*, phase: Phase, organizer: bool) -> bool:
    """Private scores show to organizers always, to everyone else once revealed or ended."""
    return organizer or phase.private_visible()


def _rounded(value, digits: int):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(value, digits)


def _order_value(value: float | None, direction: str) -> float:
    """Sort key where smaller is better; missing values rank last."""
    if value is None:
        return math.inf
    return -value if direction == Metric.HIGHER else value


def _db_order(expression, metric: Metric):
    expression = Round(expression, metric.precision)
    return expression.desc(nulls_last=True) if metric.direction == Metric.HIGHER else expression.asc(nulls_last=True)


def _team_candidates(*, phase: Phase, task: str, split: str, metrics: list[Metric], within: int = 1, only_ids=None) -> list[tuple]:
    """Each team's submissions ranked within ``within`` on the rounded primary metric, ties included.

    One window query over the primary scores only; the tie-breaks on the secondary metrics
    are applied in Python to the few tied candidates (:func:`_best_of_each_team`), which keeps
    the query cheap however many submissions a phase holds.
    """
    primary = metrics[0]
    scores = Score.objects.filter(
        split=split, metric=primary.key, submission__phase=phase, submission__task=task,
        submission__status=Submission.FINISHED, submission__is_baseline=False,
    )
    if only_ids is not None:
        scores = scores.filter(submission_id__in=only_ids)
    team = [F("submission__team_id")]
    if within == 1:
        # Each team's best raw value, then its submissions less than one unit of the last shown
        # digit away from it: a superset of those the board shows as equal to the best, which
        # _best_of_each_team narrows down with the rounding the board shows. Cheaper than
        # ranking rounded values (no rounding of every row in the database).
        unit = 10.0 ** -primary.precision * (1 + 1e-9)
        if primary.direction == Metric.HIGHER:
            best, near = Window(Max("value"), partition_by=team), Q(value__gte=F("best") - unit)
        else:
            best, near = Window(Min("value"), partition_by=team), Q(value__lte=F("best") + unit)
        ranked = scores.annotate(best=best).filter(near | Q(best__isnull=True))  # a team with no values keeps them all
    else:
        ranked = scores.annotate(
            position=Window(Rank(), partition_by=team, order_by=[_db_order(F("value"), primary)])
        ).filter(position__lte=within)
    return list(ranked.values_list("submission_id", "submission__team_id", "submission__created", "value"))


def _best_of_each_team(*, candidates: list[tuple], split: str, metrics: list[Metric], keep: int = 1) -> list[int]:
    """The ``keep`` best candidates of each team under the board's full ordering."""
    by_team: dict[int, list[tuple]] = {}
    for candidate in candidates:
        by_team.setdefault(candidate[1], []).append(candidate)
    tied = [c[0] for group in by_team.values() if len(group) > keep for c in group]
    secondary: dict[tuple[int, str], float | None] = {}
    if tied and len(metrics) > 1:
        secondary = {
            (sid, key): value
            for sid, key, value in Score.objects.filter(
                submission_id__in=tied, split=split, metric__in=[m.key for m in metrics[1:]]
            ).values_list("submission_id", "metric", "value")
        }
    primary = metrics[0]

    def key(candidate):
        sid, _, created, value = candidate
        values = [_order_value(_rounded(value, primary.precision), primary.direction)]
        values += [_order_value(_rounded(secondary.get((sid, m.key)), m.precision), m.direction) for m in metrics[1:]]
        return (*values, created, sid)

    chosen = []
    for group in by_team.values():
        chosen += [c[0] for c in sorted(group, key=key)[:keep]]
    return chosen


def _best_per_team(*, phase: Phase, task: str, split: str, metrics: list[Metric], only_ids=None) -> list[int]:
    candidates = _team_candidates(phase=phase, task=task, split=split, metrics=metrics, only_ids=only_ids)
    return _best_of_each_team(candidates=candidates, split=split, metrics=metrics)


def _private_candidates(*, phase: Phase, task: str, metrics: list[Metric]) -> list[int]:
    """Selected finals; a team that selected none is represented by its best public ones."""
    selected = list(
        Submission.objects.filter(phase=phase, task=task, selected=True, status=Submission.FINISHED, is_baseline=False)
        .values_list("id", "team_id")
    )
    teams_with_selection = {team for _, team in selected}
    keep = max(1, phase.max_final_selections)
    candidates = [
        c for c in _team_candidates(phase=phase, task=task, split=Score.PUBLIC, metrics=metrics, within=keep)
        if c[1] not in teams_with_selection
    ]
    fallback = _best_of_each_team(candidates=candidates, split=Score.PUBLIC, metrics=metrics, keep=keep)
    return [pk for pk, _ in selected] + fallback


def _thin(curve: list, points: int = ROC_POINTS) -> list[list[float]]:
    """Keep about ``points`` points of a curve, always the first and the last."""
    if len(curve) <= points:
        return [[float(x), float(y)] for x, y in curve]
    step = (len(curve) - 1) / (points - 1)
    picked = [curve[round(i * step)] for i in range(points)]
    return [[float(x), float(y)] for x, y in picked]


def leaderboard_rows(*, phase: Phase, split: str, task: str | None = None, metrics: list[Metric] | None = None) -> list[Row]:
    competition = phase.competition
    task = task or competition.task
    metrics = task_metrics(competition=competition, task=task) if metrics is None else metrics
    if not metrics:
        return []
    if split == Score.PUBLIC:
        team_best = _best_per_team(phase=phase, task=task, split=split, metrics=metrics)
    else:
        candidates = _private_candidates(phase=phase, task=task, metrics=metrics)
        team_best = _best_per_team(phase=phase, task=task, split=split, metrics=metrics, only_ids=candidates)

    baselines = Q(phase=phase, task=task, is_baseline=True, status=Submission.FINISHED)
    submissions = {
        s.pk: s
        for s in Submission.objects.filter(Q(pk__in=team_best) | baselines)
        .select_related("team").only("id", "created", "is_baseline", "baseline_name", "team_id", "team__name")
    }
    by_key = {m.key: m for m in metrics}
    scores: dict[int, dict[str, dict]] = {pk: {} for pk in submissions}
    curves: dict[int, list] = {}
    for submission_id, metric, value, ci_low, ci_high, detail in Score.objects.filter(
        submission_id__in=list(submissions), split=split, metric__in=list(by_key)
    ).values_list("submission_id", "metric", "value", "ci_low", "ci_high", "detail"):
        digits = by_key[metric].precision
        scores[submission_id][metric] = {
            "value": _rounded(value, digits),
            "ci_low": _rounded(ci_low, digits),
            "ci_high": _rounded(ci_high, digits),
        }
        roc = (detail or {}).get("roc")
        if roc:
            curves[submission_id] = _thin(roc)

    def sort_key(sub: Submission):
        values = tuple(_order_value(scores[sub.pk].get(m.key, {}).get("value"), m.direction) for m in metrics)
        return values + (sub.created, sub.pk)

    rows: list[Row] = []
    rank = 0
    for sub in sorted(submissions.values(), key=sort_key):
        if not sub.is_baseline:
            rank += 1
        rows.append(
            Row(
                rank=None if sub.is_baseline else rank,
                submission=sub.pk,
                team=sub.baseline_name if sub.is_baseline else sub.team.name,
                team_id=None if sub.is_baseline else sub.team_id,
                baseline=sub.is_baseline,
                created=iso(sub.created),
                scores=scores[sub.pk],
                roc=curves.get(sub.pk),
            )
        )
    return rows


def _snapshot_build(*, phase: Phase, split: str, task: str) -> dict:
    metrics = task_metrics(competition=phase.competition, task=task)
    return {
        "competition": phase.competition.slug,
        "phase": phase.name,
        "split": split,
        "task": task,
        "metrics": [
            {"key": m.key, "label": m.label, "direction": m.direction, "precision": m.precision,
             "primary": m.primary, "description": m.description}
            for m in metrics
        ],
        "rows": [r.as_dict() for r in leaderboard_rows(phase=phase, split=split, task=task, metrics=metrics)],
    }


def leaderboard_json(*, phase: Phase, split: str, task: str | None = None, generation: int | None = None) -> bytes:
    """The leaderboard as UTF-8 JSON, exactly as the API sends it; cached until the next change.

    The cache holds the encoded bytes, so a read that hits it costs one cache lookup and no
    encoding: the API writes them out as they are, the websocket wraps them in its message.
    Callers decide whether ``split`` may be shown (:func:`private_visible_to`).
    """
    task = task or phase.competition.task
    key = cache_key(phase=phase, split=split, task=task, generation=generation)
    encoded = cache.get(key)
    if encoded is None:
        encoded = json.dumps(_snapshot_build(phase=phase, split=split, task=task),
                             ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        cache.set(key, encoded, CACHE_SECONDS)
    return encoded


def leaderboard_snapshot(*, phase: Phase, split: str, task: str | None = None) -> dict:
    """The leaderboard as a dict (for the pages and the CSV export); see :func:`leaderboard_json`."""
    return json.loads(leaderboard_json(phase=phase, split=split, task=task))


def score_history(*, phase: Phase, task: str | None = None) -> dict:
    """Each team's best public primary score over time: one point per improvement.

    Public split only: the history is shown to everyone, and private scores must not leak
    through it. Cached like the board and invalidated with it.
    """
    task = task or phase.competition.task
    key = history_cache_key(phase=phase, task=task)
    history = cache.get(key)
    if history is not None:
        return history
    metrics = task_metrics(competition=phase.competition, task=task)
    history = {"phase": phase.name, "task": task, "metric": None, "teams": []}
    if metrics:
        primary = metrics[0]
        history["metric"] = {"key": primary.key, "label": primary.label, "direction": primary.direction,
                             "precision": primary.precision}
        rows = (
            Score.objects.filter(
                split=Score.PUBLIC, metric=primary.key, submission__phase=phase, submission__task=task,
                submission__status=Submission.FINISHED, submission__is_baseline=False, value__isnull=False,
            )
            .order_by("submission__team_id", "submission__created", "submission_id")
            .values_list("submission__team_id", "submission__team__name", "submission__created", "submission_id", "value")
        )
        teams: dict[int, dict] = {}
        for team_id, team_name, created, submission_id, value in rows:
            entry = teams.setdefault(team_id, {"team_id": team_id, "team": team_name, "points": [], "best": None})
            value = _rounded(value, primary.precision)
            if entry["best"] is None or _order_value(value, primary.direction) < _order_value(entry["best"], primary.direction):
                entry["best"] = value
                entry["points"].append({"at": iso(created), "value": value, "submission": submission_id})
        history["teams"] = sorted(teams.values(), key=lambda t: t["team"].lower())
    cache.set(key, history, CACHE_SECONDS)
    return history


def team_history(*, phase: Phase, team_id: int, task: str | None = None, include_private: bool = False) -> list[dict]:
    """Every finished submission of one team with its primary score, oldest first (for the team's own pages)."""
    task = task or phase.competition.task
    metrics = task_metrics(competition=phase.competition, task=task)
    if not metrics:
        return []
    primary = metrics[0]
    splits = [Score.PUBLIC, Score.PRIVATE] if include_private else [Score.PUBLIC]
    points: dict[int, dict] = {}
    rows = (
        Score.objects.filter(
            metric=primary.key, split__in=splits, submission__phase=phase, submission__task=task,
            submission__team_id=team_id, submission__status=Submission.FINISHED,
        )
        .order_by("submission__created", "submission_id")
        .values_list("submission_id", "submission__created", "split", "value")
    )
    for submission_id, created, split, value in rows:
        point = points.setdefault(submission_id, {"submission": submission_id, "at": iso(created)})
        point[split] = _rounded(value, primary.precision)
    return list(points.values())


def leaderboard_csv(snapshot: dict) -> str:
    """The board as CSV: rank, team, baseline flag, submission, time, then value and interval per metric."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["rank", "team", "baseline", "submission", "submitted"]
    for m in snapshot["metrics"]:
        header += [m["key"], f"{m['key']}_ci_low", f"{m['key']}_ci_high"]
    writer.writerow(header)
    for row in snapshot["rows"]:
        line = ["" if row["rank"] is None else row["rank"], _csv_safe(row["team"] or ""),
                "yes" if row["baseline"] else "no", row["submission"], row["created"]]
        for m in snapshot["metrics"]:
            score = row["scores"].get(m["key"], {})
            line += [_csv_cell(score.get("value")), _csv_cell(score.get("ci_low")), _csv_cell(score.get("ci_high"))]
        writer.writerow(line)
    return out.getvalue()


def _csv_cell(value) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def _csv_safe(text: str) -> str:
    """Team names are user input: keep a spreadsheet from reading one as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def pareto_axes(*, competition: Competition, metrics: list[dict]) -> dict | None:
    """Which metrics a defense board plots as utility (x) against privacy (y).

    ``options.pareto: {utility: KEY, privacy: KEY}`` in the bundle chooses; otherwise utility
    is the primary metric and privacy the first risk-like metric the task reports.
    """
    keys = {m["key"] for m in metrics}
    chosen = (competition.options or {}).get("pareto") or {}
    utility = chosen.get("utility") if chosen.get("utility") in keys else next((m["key"] for m in metrics if m["primary"]), None)
    privacy = chosen.get("privacy") if chosen.get("privacy") in keys else None
    if privacy is None:
        for candidate in ("worst_attack_success", "records_at_risk", "prosecutor_risk", "linkability_risk",
                          "singling_out_risk", "inference_risk", "k_anonymity"):
            if candidate in keys:
                privacy = candidate
                break
    if not utility or not privacy or utility == privacy:
        return None
    return {"utility": utility, "privacy": privacy}
