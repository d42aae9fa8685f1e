"""ROC curves for the pages: an attack's curves on its own page, the membership attacks' curves
in a defense's identifiability report.

Fixed competitions store an attack's ROC curve with its ROC AUC score (``Score.detail["roc"]``);
an arena stores one per (attack, defense) pair with the pair's scores (``ArenaResult.scores``).
Curves are thinned to about 64 points, enough for a chart. Callers decide whether the viewer
may read ``split``.
"""

from __future__ import annotations

from competitions.leaderboards.selectors import curve_thin
from submissions.models import Score, Submission

from .models import ArenaResult

ROC_METRIC = "auc"


def _pair_curve(result: ArenaResult, split: str) -> list | None:
    curve = (((result.scores or {}).get(split) or {}).get(ROC_METRIC) or {}).get("roc")
    return curve_thin(curve) if curve else None


def attack_roc_curves(*, attack: Submission, split: str = Score.PUBLIC) -> list[dict]:
    """``[{"name", "points": [[fpr, tpr], …], "baseline"}]``: the attack's own curve, and in an
    arena one per defense it ran against (named after the defense)."""
    curves = []
    score = Score.objects.filter(submission=attack, split=split, metric=ROC_METRIC).only("detail").first()
    if score is not None and (score.detail or {}).get("roc"):
        curves.append({"name": attack.display_name, "points": curve_thin(score.detail["roc"]), "baseline": attack.is_baseline})
    results = (ArenaResult.objects.filter(attack=attack, status=ArenaResult.FINISHED)
               .select_related("defense__team").order_by("-defense__is_baseline", "defense__created", "defense_id"))
    for result in results:
        points = _pair_curve(result, split)
        if points:
            curves.append({"name": f"against {result.defense.display_name} #{result.defense_id}", "points": points,
                           "baseline": result.defense.is_baseline})
    return curves


def defense_roc_curves(*, defense: Submission, split: str = Score.PUBLIC) -> list[dict]:
    """The ROC curve of every finished membership attack run against a defense's release."""
    curves = []
    results = (ArenaResult.objects.filter(defense=defense, status=ArenaResult.FINISHED)
               .select_related("attack__team").order_by("-attack__is_baseline", "attack__created", "attack_id"))
    for result in results:
        points = _pair_curve(result, split)
        if points:
            curves.append({"name": f"{result.attack.display_name} #{result.attack_id}", "points": points,
                           "baseline": result.attack.is_baseline})
    return curves


def release_unlinkable(*, defense: Submission, split: str = Score.PUBLIC) -> bool:
    """Whether re-identification attacks finished against the release but could check no link
    (the metric is undefined: the release's rows carry no record id of a real patient)."""
    results = ArenaResult.objects.filter(defense=defense, status=ArenaResult.FINISHED, attack_task="reidentification")
    return results.exists() and not any(
        value is not None for value in (
            ((r.scores or {}).get(split) or {}).get("reidentification_rate", {}).get("value") for r in results)
    )
