"""Scores of a membership-inference attack.

The attack outputs a score per candidate record (higher: more likely a member of
the data behind the release); the scores below are threshold-free summaries of how
well those scores separate members from non-members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .intervals import clopper_pearson_interval

__all__ = ["DEFAULT_FPR_LEVELS", "MembershipInferenceScores", "membership_inference_scores", "roc_points"]

DEFAULT_FPR_LEVELS = (0.1, 0.01, 0.001)

_MAX_PLOT_POINTS = 200


@dataclass(frozen=True)
class MembershipInferenceScores:
    """Scores of one membership-inference attack (see
    :func:`membership_inference_scores` for definitions).

    ``roc_curve`` holds at most 200 ``(fpr, tpr)`` points of the empirical ROC
    curve, from (0, 0) to (1, 1), for plotting. ``tpr_at_fpr`` maps every
    requested FPR level to its TPR (the three ``tpr_at_fpr_*`` fields are always
    filled). ``epsilon_upper_threshold`` is the bound from thresholds that flag
    high scores, ``epsilon_inverted_threshold`` from thresholds that flag low
    scores; ``epsilon_lower_bound`` is the first, or the larger of the two with
    ``thresholds="both"``.
    """

    auc: float
    tpr_at_fpr_0_1: float
    tpr_at_fpr_0_01: float
    tpr_at_fpr_0_001: float
    membership_advantage: float
    epsilon_lower_bound: float
    delta: float
    confidence: float
    n_members: int
    n_non_members: int
    roc_curve: tuple[tuple[float, float], ...]
    tpr_at_fpr: dict[float, float] = field(default_factory=dict)
    epsilon_upper_threshold: float = 0.0
    epsilon_inverted_threshold: float = 0.0


def roc_points(is_member, score) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Empirical ROC curve with one point per distinct score threshold.

    Returns ``(fpr, tpr, false_positives, n_members, n_non_members)``; the first
    point is (0, 0) (nothing flagged), the last (1, 1). A candidate is flagged as
    a member when its score is ≥ the threshold, as in ``sklearn.metrics.roc_curve``.
    """
    labels = np.asarray(is_member)
    scores = np.asarray(score, dtype=np.float64)
    if labels.ndim != 1 or scores.ndim != 1 or len(labels) != len(scores):
        raise ValueError("is_member and score must be one-dimensional and of equal length")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite numbers (no NaN or infinity)")
    if labels.dtype == bool:
        labels = labels.astype(np.int64)
    if not np.all(np.isin(labels, (0, 1))):
        raise ValueError("is_member must hold only 0/1 (or booleans)")
    n_members = int(labels.sum())
    n_non_members = len(labels) - n_members
    if n_members == 0 or n_non_members == 0:
        raise ValueError("need at least one member and one non-member")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_labels = scores[order], labels[order]
    # the last position of each run of equal scores is where a threshold sits
    threshold_ends = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
    true_positives = np.cumsum(sorted_labels)[threshold_ends]
    false_positives = (threshold_ends + 1) - true_positives
    true_positives = np.r_[0, true_positives]
    false_positives = np.r_[0, false_positives]
    return (
        false_positives / n_non_members,
        true_positives / n_members,
        false_positives,
        n_members,
        n_non_members,
    )


def _downsample(fpr: np.ndarray, tpr: np.ndarray, max_points: int) -> tuple[tuple[float, float], ...]:
    """At most ``max_points`` points of the curve, half spread evenly along it and
    half on a logarithmic FPR grid, because membership-inference ROC curves are
    read on log axes where the low-FPR end matters most."""
    n = len(fpr)
    if n > max_points:
        half = max_points // 2
        along = np.linspace(0, n - 1, half).round().astype(np.int64)
        grid = np.geomspace(max(fpr[fpr > 0].min(), 1e-6), 1.0, max_points - half - 2)
        on_log_grid = np.searchsorted(fpr, grid, side="right") - 1
        keep = np.unique(np.r_[0, n - 1, along, on_log_grid])
        while len(keep) > max_points:  # rare: drop evenly from the interior
            keep = np.unique(np.r_[keep[0], keep[1:-1][::2], keep[-1]])
        fpr, tpr = fpr[keep], tpr[keep]
    return tuple((float(f), float(t)) for f, t in zip(fpr, tpr, strict=True))


def membership_inference_scores(
    is_member,
    score,
    *,
    delta: float = 1e-5,
    confidence: float = 0.95,
    fpr_levels: Sequence[float] = DEFAULT_FPR_LEVELS,
    thresholds: str = "upper",
) -> MembershipInferenceScores:
    """Score a membership-inference attack from ground truth and attack scores.

    Definitions (``TPR``/``FPR`` at a threshold τ: share of members / non-members
    with score ≥ τ, over every distinct score):

    * ``auc``: area under the empirical ROC curve (trapezoidal rule; ties count
      half), equal to ``sklearn.metrics.roc_auc_score``.
    * ``tpr_at_fpr_X``: the largest TPR over thresholds whose FPR ≤ X — the
      low-FPR operating points advocated by Carlini et al. 2022 ("Membership
      inference attacks from first principles", IEEE S&P) and scored by the MICO
      competition (Microsoft, SaTML 2023).
    * ``membership_advantage``: ``max_τ (TPR − FPR)`` (Yeom et al. 2018,
      "Privacy risk in machine learning", CSF) — the advantage of the best
      threshold attack over guessing.
    * ``epsilon_lower_bound``: an (ε, δ)-DP lower bound any mechanism producing
      this attack's results must satisfy with probability ≥ ``confidence``
      (Kairouz et al. 2015 hypothesis-testing view; Jagielski et al. 2020,
      "Auditing differentially private machine learning", NeurIPS; the MICO and
      TAPAS scoring). At every threshold, with ``FPR⁺`` and ``FNR⁺`` the upper
      ends of the two-sided Clopper–Pearson intervals at ``confidence`` for the
      false-positive count over non-members and the false-negative count over
      members::

          ε(τ) = max( ln((1 − δ − FPR⁺) / FNR⁺),  ln((1 − δ − FNR⁺) / FPR⁺) )

      (a term is skipped when its numerator is ≤ 0), and
      ``epsilon_lower_bound = max(0, max_τ ε(τ))``. With ``δ = 0`` the two
      terms are the Clopper–Pearson ratio bounds ``TPR⁻/FPR⁺`` and
      ``TNR⁻/FNR⁺`` of tf-privacy's ``EpsilonLowerBound`` (one-sided
      thresholds, α = 1 − confidence). ``thresholds="both"`` also takes the
      *inverted* thresholds (flag scores ≤ τ: an attack whose scores point the
      wrong way still distinguishes members), as tf-privacy's
      ``two_sided_threshold=True``; both bounds are reported either way.

    ``fpr_levels``: the FPR levels of ``tpr_at_fpr`` (each in (0, 1]).

    ``is_member``: 0/1 or booleans; ``score``: finite numbers, higher meaning
    more likely a member.
    """
    if thresholds not in ("upper", "both"):
        raise ValueError(f"thresholds must be 'upper' or 'both', got {thresholds!r}")
    levels = [float(x) for x in fpr_levels]
    bad = [x for x in levels if not 0.0 < x <= 1.0]
    if bad:
        raise ValueError(f"FPR levels must lie in (0, 1], got {bad}")
    if not 0.0 <= delta < 1.0:
        raise ValueError(f"delta must lie in [0, 1), got {delta}")
    fpr, tpr, false_positives, n_members, n_non_members = roc_points(is_member, score)
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) * 0.5))

    def tpr_at(max_fpr: float) -> float:
        return float(tpr[fpr <= max_fpr + 1e-12].max())

    epsilon_upper = _epsilon(false_positives, tpr, n_members, n_non_members, delta, confidence)
    inverted_fpr, inverted_tpr, inverted_fp, _, _ = roc_points(is_member, -np.asarray(score, dtype=np.float64))
    epsilon_inverted = _epsilon(inverted_fp, inverted_tpr, n_members, n_non_members, delta, confidence)
    epsilon = epsilon_upper if thresholds == "upper" else max(epsilon_upper, epsilon_inverted)

    return MembershipInferenceScores(
        auc=auc,
        tpr_at_fpr_0_1=tpr_at(0.1),
        tpr_at_fpr_0_01=tpr_at(0.01),
        tpr_at_fpr_0_001=tpr_at(0.001),
        membership_advantage=float(np.max(tpr - fpr)),
        epsilon_lower_bound=epsilon,
        delta=delta,
        confidence=confidence,
        n_members=n_members,
        n_non_members=n_non_members,
        roc_curve=_downsample(fpr, tpr, _MAX_PLOT_POINTS),
        tpr_at_fpr={level: tpr_at(level) for level in levels},
        epsilon_upper_threshold=epsilon_upper,
        epsilon_inverted_threshold=epsilon_inverted,
    )


def _epsilon(false_positives, tpr, n_members, n_non_members, delta, confidence) -> float:
    """``max(0, max_τ ε(τ))`` over the thresholds of one ROC curve (see
    :func:`membership_inference_scores`)."""
    false_negatives = np.rint((1.0 - tpr) * n_members)
    _, fpr_upper = clopper_pearson_interval(false_positives, np.full(len(tpr), n_non_members), confidence)
    _, fnr_upper = clopper_pearson_interval(false_negatives, np.full(len(tpr), n_members), confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        bounds = np.concatenate(
            [
                np.where(1 - delta - fpr_upper > 0, np.log((1 - delta - fpr_upper) / fnr_upper), -np.inf),
                np.where(1 - delta - fnr_upper > 0, np.log((1 - delta - fnr_upper) / fpr_upper), -np.inf),
            ]
        )
    return float(max(0.0, np.max(bounds)))
