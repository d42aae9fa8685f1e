"""The arena's derived metrics: their keys, their rows for a competition, and the common
scale (normalised success) on which attacks of different tasks are compared.

See :mod:`evaluation.arena` for what each derived score means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from competitions.models import Competition, Metric
from evaluation.task_types import get_task

ARENA_PRIVACY = "arena_privacy"
SUCCESS_TEAMS = "arena_success_teams"
SUCCESS_MAX = "arena_success_max"

# What guessing achieves on an attack metric: normalised success is measured from here.
CHANCE_LEVEL = {"tpr_at_fpr_0_1": 0.1, "tpr_at_fpr_0_01": 0.01, "tpr_at_fpr_0_001": 0.001, "auc": 0.5}


def worst_key(attack_task: str) -> str:
    """The defense's metric key for its strongest attack of ``attack_task``."""
    return "worst_" + attack_task.replace("-", "_")


def normalised_success(metric: str, value: float | None, direction: str = Metric.HIGHER) -> float | None:
    """An attack metric on a common scale: 0 = no better than guessing, 1 = complete success.

    * TPR at a fixed FPR and ROC AUC: ``(value − chance) / (1 − chance)``, chance being the
      FPR (TPR of a random guess) or 0.5 (AUC);
    * the empirical ε lower bound: ``tanh(ε / 2) = (e^ε − 1) / (e^ε + 1)``, the largest
      membership advantage (TPR − FPR) an ε-differentially-private release allows;
    * rates, precisions, membership advantage and the anonymeter-style inference risk are
      already 0 at chance and 1 at full success.

    Values are clipped to [0, 1] (an attack worse than guessing is simply unsuccessful).
    A metric where lower means a stronger attack is turned around first.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    value = float(value)
    if metric == "epsilon_lower_bound":
        success = math.tanh(max(0.0, value) / 2)
    else:
        chance = CHANCE_LEVEL.get(metric, 0.0)
        success = (value - chance) / (1 - chance)
    if direction == Metric.LOWER:
        success = 1 - success
    return min(1.0, max(0.0, success))


@dataclass(frozen=True)
class DerivedMetric:
    """A metric row the arena adds to a competition (derived from pairs, not computed by a task type)."""

    task: str
    key: str
    label: str
    direction: str
    precision: int
    description: str



def arena_metric_specs(*, defense_task: str, attack_primaries: dict[str, tuple[str, str]]) -> list[DerivedMetric]:
    """The derived metrics an arena competition ranks by, for :class:`competitions.models.Metric`.

    ``attack_primaries`` maps each attack task to its primary metric's (key, label) as the
    competition defines it. None of these is primary: each board keeps ranking by its task's
    own primary metric (utility for defenses, mean success for attacks) and shows these next to it.
    """
    specs = []
    for task, (key, label) in attack_primaries.items():
        specs.append(DerivedMetric(
            defense_task, worst_key(task), f"Strongest {task} attack ({label})", Metric.LOWER, 4,
            f"The highest {label} any finished {task} attack reached against this defense; "
            "a defense is only as private as its strongest attack.",
        ))
    if attack_primaries:
        specs.append(DerivedMetric(
            defense_task, ARENA_PRIVACY, "Arena privacy", Metric.HIGHER, 4,
            "1 − the normalised success of the strongest attack of any type (0 = an attack fully succeeded, "
            "1 = no attack did better than guessing).",
        ))
    for task, (key, label) in attack_primaries.items():
        specs.append(DerivedMetric(
            task, SUCCESS_TEAMS, f"{label}, teams' defenses", Metric.HIGHER, 4,
            f"Mean {label} over the teams' defenses only (organizer baselines left out).",
        ))
        specs.append(DerivedMetric(
            task, SUCCESS_MAX, f"{label}, best single defense", Metric.HIGHER, 4,
            f"The highest {label} this attack reached against any one defense.",
        ))
    return specs


def primary_metric(*, competition: Competition, task: str) -> tuple[str, str, str]:
    """(key, label, direction) of ``task``'s primary metric in ``competition``."""
    metric = Metric.objects.filter(competition=competition, task=task, primary=True).first()
    if metric is not None:
        return metric.key, metric.label, metric.direction
    spec = get_task(task).primary_metric
    return spec.key, spec.label, spec.direction

