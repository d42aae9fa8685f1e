"""The arena's derived scores: a defense's worst case over the attacks it met, and an
attack's success over the defenses it ran against (see :mod:`evaluation.arena`).
"""

from __future__ import annotations

from competitions.models import Competition, Metric
from evaluation import pipeline
from evaluation.task_types import get_task
from evaluation.task_types.base import ScoreValue
from submissions.models import Score, Submission

from ..models import ArenaResult
from .metric_rows import ARENA_PRIVACY, SUCCESS_MAX, SUCCESS_TEAMS, normalised_success, primary_metric, worst_key

SPLITS = (Score.PUBLIC, Score.PRIVATE)


def _who(submission: Submission) -> dict:
    return {
        "submission": submission.pk,
        "team": submission.display_name,
        "baseline": submission.is_baseline,
    }


def defense_privacy_scores(defense: Submission) -> dict[str, dict[str, ScoreValue]]:
    """The defense's worst case over the finished attacks, per split (see :mod:`evaluation.arena`)."""
    competition = defense.competition
    results = list(
        ArenaResult.objects.filter(defense=defense, status=ArenaResult.FINISHED).select_related("attack__team").order_by("finished", "id")
    )
    primaries = {task: primary_metric(competition=competition, task=task) for task in competition.attack_tasks}
    out: dict[str, dict[str, ScoreValue]] = {}
    for split in SPLITS:
        scores: dict[str, ScoreValue] = {}
        strongest: tuple[float, str, ArenaResult, float | None, float | None] | None = None
        for task, (key, label, direction) in primaries.items():
            best: ArenaResult | None = None
            ran = 0
            for result in results:
                if result.attack_task != task or result.value(split, key) is None:
                    continue
                ran += 1
                value = result.value(split, key)
                if best is None or (value > best.value(split, key) if direction == Metric.HIGHER else value < best.value(split, key)):
                    best = result
            if best is None:
                scores[worst_key(task)] = ScoreValue(None, detail={"reason": f"no {task} attack has finished against this defense yet"})
                continue
            cell = best.scores[split][key]
            success = normalised_success(key, cell["value"], direction)
            scores[worst_key(task)] = ScoreValue(cell["value"], cell.get("ci_low"), cell.get("ci_high"), detail={
                "attack": _who(best.attack), "task": task, "metric": key, "metric_label": label,
                "normalised_success": success, "attacks_finished": ran,
            })
            if success is not None and (strongest is None or success > strongest[0]):
                low = normalised_success(key, cell.get("ci_low"), direction)
                high = normalised_success(key, cell.get("ci_high"), direction)
                strongest = (success, task, best, low, high)
        if strongest is None:
            scores[ARENA_PRIVACY] = ScoreValue(None, detail={"reason": "no attack has finished against this defense yet"})
        else:
            success, task, best, low, high = strongest
            scores[ARENA_PRIVACY] = ScoreValue(
                1 - success, None if high is None else 1 - high, None if low is None else 1 - low,
                detail={"strongest_task": task, "attack": _who(best.attack), "normalised_success": success},
            )
        out[split] = scores
    return out


def _derived_defense_keys(competition: Competition) -> set[str]:
    return {worst_key(task) for task in competition.attack_tasks} | {ARENA_PRIVACY}


def defense_scores_update(defense: Submission) -> None:
    if defense.status != Submission.FINISHED:
        return
    pipeline.scores_write(submission=defense, scores=defense_privacy_scores(defense), keys=_derived_defense_keys(defense.competition))


def attack_success_scores(attack: Submission) -> dict[str, dict[str, ScoreValue]]:
    """The attack's success across the defenses it ran against, per split (see :mod:`evaluation.arena`)."""
    task = get_task(attack.task)
    key, label, direction = primary_metric(competition=attack.competition, task=attack.task)
    results = list(
        ArenaResult.objects.filter(attack=attack, status=ArenaResult.FINISHED).select_related("defense__team").order_by("defense__created", "defense_id")
    )
    out: dict[str, dict[str, ScoreValue]] = {}
    for split in SPLITS:
        scores: dict[str, ScoreValue] = {}
        for spec in task.metrics:
            values = [r.value(split, spec.key) for r in results if r.value(split, spec.key) is not None]
            if values:
                scores[spec.key] = ScoreValue(sum(values) / len(values), detail={
                    "aggregate": "mean over defenses", "defenses": len(values), "min": min(values), "max": max(values)})
            else:
                scores[spec.key] = ScoreValue(None, detail={"reason": "no finished run against a defense yet"})
        teams = [r.value(split, key) for r in results if not r.defense.is_baseline and r.value(split, key) is not None]
        scores[SUCCESS_TEAMS] = (
            ScoreValue(sum(teams) / len(teams), detail={"metric": key, "defenses": len(teams)}) if teams
            else ScoreValue(None, detail={"reason": "no finished run against a team's defense yet"})
        )
        best = None
        for result in results:
            value = result.value(split, key)
            if value is not None and (best is None or (value > best[0] if direction == Metric.HIGHER else value < best[0])):
                best = (value, result)
        scores[SUCCESS_MAX] = (
            ScoreValue(best[0], best[1].scores[split][key].get("ci_low"), best[1].scores[split][key].get("ci_high"),
                       detail={"metric": key, "defense": _who(best[1].defense)}) if best
            else ScoreValue(None, detail={"reason": "no finished run against a defense yet"})
        )
        out[split] = scores
    return out


def attack_scores_update(attack: Submission) -> None:
    """A finished attack's scores follow its row: all its Score rows are arena aggregates."""
    pipeline.scores_write(submission=attack, scores=attack_success_scores(attack))

