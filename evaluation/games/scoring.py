"""What a membership game says about one target, and about a defense over all its targets.

Per target, from the attack's scores on R releases with and R without the target:

* ``advantage`` = TPR − FPR of the attack's own guesses (score ≥ 0.5 means "member"),
  the membership advantage of Yeom et al. 2018 at the threshold the attack chose — not
  the best threshold in hindsight, which would be above 0 for a coin flip. Its interval is
  Newcombe's hybrid score interval for a difference of two independent proportions
  (Newcombe 1998, Statistics in Medicine 17:873, method 10), built from Wilson intervals.
  0 is chance; 1 means the release always tells whether the patient was in.
* ``tpr_at_fpr_0_1``: the largest TPR over thresholds with FPR ≤ 0.1 (scores as a
  ranking), with the Clopper–Pearson interval of that TPR. The threshold is picked on the
  same releases, so the interval is optimistic for the attack by that choice.
* ``epsilon_lower_bound``: the ε an (ε, δ = 1e-5)-DP defense must at least have for this
  attack to do this well, with 95% confidence (Clopper–Pearson at every threshold;
  :func:`evaluation.metrics.membership.membership_inference_scores`). A defense claiming
  ε-DP on swap-one neighbours may not exceed it beyond noise.
* ``auc``: the area under the ROC curve of the scores.

Over the targets of a defense (:func:`game_summary`): the **worst target** (the highest
advantage), the **top decile** (mean advantage of the most exposed tenth of the targets, at
least one) and the **average** (mean over all targets), plus the same average over the
outliers and over the random controls separately. The worst of many targets is the maximum
of noisy estimates: with ten targets at chance it sits above 0 by noise alone. So the worst
target's interval is a simultaneous one (Bonferroni): at confidence 1 − 0.05/m for m
comparisons (targets, times attacks where the strongest attack per target is kept), so that
"its interval excludes 0" keeps a 5% error rate over the whole game.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.metrics.intervals import clopper_pearson_interval, wilson_interval
from evaluation.metrics.membership import membership_inference_scores

from .targets import GameTarget

GUESS_THRESHOLD = 0.5
DELTA = 1e-5
CONFIDENCE = 0.95


@dataclass(frozen=True)
class TargetResult:
    record_id: str
    reason: str
    isolation: float
    trait: str
    runs: int  # releases with the target (as many without)
    tpr: float
    fpr: float
    advantage: float
    advantage_ci: tuple[float, float]
    tpr_at_fpr_0_1: float
    tpr_at_fpr_0_1_ci: tuple[float, float]
    auc: float
    epsilon_lower_bound: float

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class GameSummary:
    targets: int
    worst: TargetResult
    worst_ci: tuple[float, float]  # simultaneous over the game's comparisons (Bonferroni)
    top_decile_advantage: float
    average_advantage: float
    outlier_average_advantage: float | None
    control_average_advantage: float | None
    max_epsilon_lower_bound: float

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        out["worst"] = self.worst.as_dict()
        out["worst_ci"] = list(self.worst_ci)
        return out


def advantage_interval(hits: int, members: int, false_alarms: int, non_members: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Newcombe's hybrid score interval for TPR − FPR."""
    tpr, fpr = hits / members, false_alarms / non_members
    l1, u1 = wilson_interval(hits, members, confidence)
    l2, u2 = wilson_interval(false_alarms, non_members, confidence)
    difference = tpr - fpr
    lower = difference - math.sqrt((tpr - l1) ** 2 + (u2 - fpr) ** 2)
    upper = difference + math.sqrt((u1 - tpr) ** 2 + (fpr - l2) ** 2)
    return (max(-1.0, lower), min(1.0, upper))


def target_result(*, target: GameTarget, is_member: np.ndarray, score: np.ndarray) -> TargetResult:
    is_member = np.asarray(is_member, dtype=bool)
    score = np.asarray(score, dtype=float)
    members, non_members = int(is_member.sum()), int((~is_member).sum())
    guess = score >= GUESS_THRESHOLD
    hits, false_alarms = int((guess & is_member).sum()), int((guess & ~is_member).sum())
    mia = membership_inference_scores(is_member, score, delta=DELTA, confidence=CONFIDENCE)
    tpr_low = mia.tpr_at_fpr_0_1
    return TargetResult(
        record_id=target.record_id,
        reason=target.reason,
        isolation=target.isolation,
        trait=target.trait,
        runs=members,
        tpr=hits / members,
        fpr=false_alarms / non_members,
        advantage=hits / members - false_alarms / non_members,
        advantage_ci=advantage_interval(hits, members, false_alarms, non_members),
        tpr_at_fpr_0_1=tpr_low,
        tpr_at_fpr_0_1_ci=clopper_pearson_interval(round(tpr_low * members), members, CONFIDENCE),
        auc=mia.auc,
        epsilon_lower_bound=mia.epsilon_lower_bound,
    )


def game_summary(results: Sequence[TargetResult], *, comparisons: int | None = None) -> GameSummary:
    """``comparisons``: how many (target, attack) results the worst was picked from (default:
    one per target)."""
    if not results:
        raise ValueError("a game summary needs at least one target")
    m = max(comparisons or len(results), 1)
    # Among equally exposed targets the most isolated one is named the worst.
    ranked = sorted(results, key=lambda r: (-r.advantage, -r.isolation, r.record_id))
    decile = ranked[: max(1, math.ceil(len(ranked) / 10))]

    def mean_of(reason: str) -> float | None:
        picked = [r.advantage for r in results if r.reason == reason]
        return float(np.mean(picked)) if picked else None

    worst = ranked[0]
    return GameSummary(
        targets=len(results),
        worst=worst,
        worst_ci=advantage_interval(round(worst.tpr * worst.runs), worst.runs, round(worst.fpr * worst.runs), worst.runs,
                                    confidence=1 - (1 - CONFIDENCE) / m),
        top_decile_advantage=float(np.mean([r.advantage for r in decile])),
        average_advantage=float(np.mean([r.advantage for r in results])),
        outlier_average_advantage=mean_of("outlier"),
        control_average_advantage=mean_of("control"),
        max_epsilon_lower_bound=max(r.epsilon_lower_bound for r in results),
    )
