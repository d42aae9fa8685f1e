"""Pieces every task's ``score`` uses: splitting rows by leaderboard, rates with their
confidence intervals, and the anonymeter-style normalised risk."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from evaluation import metrics
from evaluation.metrics import risks
from evaluation.metrics.risks import SuccessRate

from .base import SPLIT_NAMES, MetricSpec, ScoreValue, SplitAssigner

CONFIDENCE = 0.95


def split_masks(keys: pd.Series, splits: SplitAssigner) -> dict[str, np.ndarray]:
    """For each leaderboard split, which rows (by their split key) belong to it."""
    assigned = np.asarray(splits.split_of(pd.Series(keys, dtype=object).astype(str)))
    unknown = set(np.unique(assigned)) - set(SPLIT_NAMES)
    if unknown:
        raise ValueError(f"the split assigner returned {sorted(unknown)}; expected only {SPLIT_NAMES}")
    return {name: assigned == name for name in SPLIT_NAMES}


def unavailable(metrics_: Iterable[MetricSpec], reason: str) -> dict[str, ScoreValue]:
    """Every metric without a value, saying why (e.g. a split with no rows)."""
    return {spec.key: ScoreValue(None, detail={"reason": reason}) for spec in metrics_}


def number(value: float | None) -> float | None:
    """A metric value as stored: a plain float, or None for NaN/None."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def rate(successes: int, n: int, **detail) -> ScoreValue:
    """``successes / n`` with its 95 % Wilson interval; no value when ``n`` is 0."""
    detail = {"successes": int(successes), "n": int(n), **detail}
    if n == 0:
        return ScoreValue(None, detail={**detail, "reason": "no rows to count in this split"})
    low, high = metrics.wilson_interval(successes, n, CONFIDENCE)
    return ScoreValue(successes / n, low, high, detail)


def normalised_risk(attack_successes: int, attack_n: int, control_successes: int, control_n: int) -> ScoreValue:
    """``(attack − control) / (1 − control)`` with its interval, the privacy risk as
    anonymeter normalises it (computed by :func:`evaluation.metrics.risks.normalised_risk`);
    no value when there are no targets or no controls."""
    if attack_n == 0 or control_n == 0:
        return ScoreValue(None, detail={"reason": "no targets or no controls in this split"})
    attack = SuccessRate.from_counts(attack_successes, attack_n, CONFIDENCE)
    control = SuccessRate.from_counts(control_successes, control_n, CONFIDENCE)
    value, (low, high) = risks.normalised_risk(attack, control, CONFIDENCE)
    return ScoreValue(
        value,
        low,
        high,
        {
            "attack_rate": attack.value,
            "control_rate": control.value,
            "attacks": attack_n,
            "controls": control_n,
        },
    )
