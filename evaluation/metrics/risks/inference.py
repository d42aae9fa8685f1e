"""Inference risk (Article 29 Working Party, Opinion 05/2014, WP216): can the
release be used to deduce, with significant probability, the value of an attribute
of a person from other attributes known about them?"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._columns import encode_jointly, factorize, is_ordered, nearest_neighbors, to_float
from ._results import PrivacyRisk, SuccessRate, build_risk, check_tables, target_count

__all__ = ["inference_risk"]


def _correct(guesses: pd.Series, secrets: pd.Series, tolerance: float) -> np.ndarray:
    """Whether each guess hits its secret. Numeric secrets: ``|guess − secret| ≤
    tolerance · |secret|``; categorical and date secrets: equality. Two missing
    values count as a hit."""
    guess_missing = pd.isna(guesses).to_numpy()
    secret_missing = pd.isna(secrets).to_numpy()
    numeric = (
        is_ordered(secrets)
        and is_ordered(guesses)
        and not pd.api.types.is_datetime64_any_dtype(secrets.dtype)
        and not pd.api.types.is_timedelta64_dtype(secrets.dtype)
    )
    if numeric:
        g, s = to_float(guesses), to_float(secrets)
        with np.errstate(invalid="ignore"):
            hit = np.abs(g - s) <= tolerance * np.abs(s)
    else:
        codes, _ = factorize(pd.concat([guesses.astype(object), secrets.astype(object)], ignore_index=True), na_as_value=False)
        g, s = codes[: len(guesses)], codes[len(guesses) :]
        hit = g == s
    return (hit & ~guess_missing & ~secret_missing) | (guess_missing & secret_missing)


def inference_risk(
    original: pd.DataFrame,
    release: pd.DataFrame,
    control: pd.DataFrame,
    *,
    aux_cols: Sequence[str],
    secret: str,
    n_attacks: int = 500,
    tolerance: float = 0.05,
    seed: int | None = None,
    confidence: float = 0.95,
) -> PrivacyRisk:
    """Inference risk of a release, as anonymeter's ``InferenceEvaluator``.

    Attack (Giomi et al. 2023, PoPETs; anonymeter): ``n_attacks`` target records
    are drawn from ``original``; the attacker knows their ``aux_cols`` and
    guesses ``secret`` as the secret of the nearest release record (mixed-type
    Gower distance, ties broken at random with ``seed``). A guess is correct
    when it equals the secret — for numeric secrets, when
    ``|guess − secret| ≤ tolerance · |secret|`` (``tolerance=0``: exact match);
    two missing values match.

    * control rate: the same attack on ``n_attacks`` records of ``control``;
    * baseline rate: each original target's secret guessed as the secret of a
      uniformly random release record (a guess from the release's marginal);
    * risk: ``(attack − control) / (1 − control)`` with its CI, normalised as
      in anonymeter (see :func:`normalised_risk`).

    Differences from anonymeter 1.x: numeric tolerance is relative to the true
    secret (anonymeter divides by the guess, which breaks on negative values)
    and applies by default to numeric secrets (anonymeter compares exactly unless
    ``regression=True``); anonymeter's baseline aligns guesses to targets by
    index label, which leaves most baseline guesses missing, while here every
    target gets a guess.
    """
    aux = list(aux_cols)
    if not aux:
        raise ValueError("aux_cols must name at least one column")
    if secret in aux:
        raise ValueError(f"the secret {secret!r} cannot also be an auxiliary column")
    if tolerance < 0:
        raise ValueError(f"tolerance must be non-negative, got {tolerance}")
    check_tables(original, release, control, aux + [secret])
    rng = np.random.default_rng(seed)
    warnings: list[str] = []
    n_original = target_count(n_attacks, len(original), "original", warnings)
    n_control = target_count(n_attacks, len(control), "control", warnings)
    original_targets = original.iloc[rng.choice(len(original), n_original, replace=False)]
    control_targets = control.iloc[rng.choice(len(control), n_control, replace=False)]

    encoded_release, encoded_original, encoded_control = encode_jointly(
        [release, original_targets, control_targets], aux
    )
    release_secrets = release[secret].reset_index(drop=True)
    attack_idx, _ = nearest_neighbors(encoded_original, encoded_release, 1, rng)
    control_idx, _ = nearest_neighbors(encoded_control, encoded_release, 1, rng)
    random_idx = rng.integers(0, len(release), size=n_original)

    original_secrets = original_targets[secret].reset_index(drop=True)
    attack_hits = _correct(release_secrets.iloc[attack_idx[:, 0]].reset_index(drop=True), original_secrets, tolerance)
    control_hits = _correct(
        release_secrets.iloc[control_idx[:, 0]].reset_index(drop=True),
        control_targets[secret].reset_index(drop=True),
        tolerance,
    )
    baseline_hits = _correct(release_secrets.iloc[random_idx].reset_index(drop=True), original_secrets, tolerance)
    return build_risk(
        SuccessRate.from_counts(int(attack_hits.sum()), n_original, confidence),
        SuccessRate.from_counts(int(control_hits.sum()), n_control, confidence),
        SuccessRate.from_counts(int(baseline_hits.sum()), n_original, confidence),
        confidence,
        warnings,
    )
