"""Inference risk (Article 29 Working Party, Opinion 05/2014, WP216): can the
release be used to deduce, with significant probability, the value of an attribute
of a person from other attributes known about them?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._columns import encode_jointly, factorize, is_ordered, nearest_neighbors, to_float
from ._results import PrivacyRisk, SuccessRate, build_risk, check_tables, target_count, typed_tables

__all__ = ["correct_guesses", "inference_risk"]

_RELATIVE_TO = ("secret", "guess")


def correct_guesses(guesses: pd.Series, secrets: pd.Series, tolerance: float = 0.05, relative_to: str = "secret") -> np.ndarray:
    """Whether each guess hits its secret (position by position). Numeric
    secrets: ``|guess − secret| ≤ tolerance · |secret|`` (``tolerance=0``: exact
    match); with ``relative_to="guess"``, anonymeter's
    ``|guess − secret| / (guess + 10⁻¹²) ≤ tolerance``. Categorical and date
    secrets: equality. Two missing values count as a hit."""
    if relative_to not in _RELATIVE_TO:
        raise ValueError(f"tolerance_relative_to must be one of {_RELATIVE_TO}, got {relative_to!r}")
    guesses = pd.Series(guesses).reset_index(drop=True)
    secrets = pd.Series(secrets).reset_index(drop=True)
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
        with np.errstate(invalid="ignore", divide="ignore"):
            if relative_to == "secret":
                hit = np.abs(g - s) <= tolerance * np.abs(s)
            else:
                hit = np.abs(g - s) / (g + 1e-12) <= tolerance
    else:
        codes, _ = factorize(pd.concat([guesses.astype(object), secrets.astype(object)], ignore_index=True), na_as_value=False)
        g, s = codes[: len(guesses)], codes[len(guesses) :]
        hit = g == s
    return (hit & ~guess_missing & ~secret_missing) | (guess_missing & secret_missing)


def inference_risk(
    original: pd.DataFrame,
    release: pd.DataFrame,
    control: pd.DataFrame | None,
    *,
    aux_cols: Sequence[str],
    secret: str,
    n_attacks: int | None = 500,
    tolerance: float = 0.05,
    tolerance_relative_to: str = "secret",
    per_group: bool = False,
    group_control: str = "attacked",
    seed: int | None = None,
    confidence: float = 0.95,
    rate_estimate: str = "observed",
    column_types: Mapping[str, str] | None = None,
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

    With ``control=None`` the risk is the attack rate's Wilson centre and
    interval (anonymeter without a control); when every control attack
    succeeds the risk has no value (NaN, with ``reason``). ``n_attacks=None``
    attacks every record. ``rate_estimate="wilson_center"`` reports anonymeter's
    point estimate of the rates instead of ``x / n``.

    ``per_group=True`` also fills ``groups``: for every secret value v among
    the targets, the risk among the targets whose secret is v, against the
    control targets whose secret is v (anonymeter's ``risk_for_groups``; the
    baseline is the overall one). anonymeter divides the group's control
    successes by *all* control records with that secret, attacked or not:
    ``group_control="all"`` does the same; the default ``"attacked"`` divides
    by the control targets actually attacked.

    Differences from anonymeter 1.x: numeric tolerance is relative to the true
    secret (anonymeter divides by the guess, which breaks on negative values;
    ``tolerance_relative_to="guess"`` does the same) and applies by default to
    numeric secrets (anonymeter compares exactly unless ``regression=True``:
    pass ``tolerance=0``); anonymeter's baseline aligns guesses to targets by
    index label, which leaves most baseline guesses missing, while here every
    target gets a guess.
    """
    if group_control not in ("attacked", "all"):
        raise ValueError(f"group_control must be 'attacked' or 'all', got {group_control!r}")
    aux = list(aux_cols)
    if not aux:
        raise ValueError("aux_cols must name at least one column")
    if secret in aux:
        raise ValueError(f"the secret {secret!r} cannot also be an auxiliary column")
    if tolerance < 0:
        raise ValueError(f"tolerance must be non-negative, got {tolerance}")
    check_tables(original, release, control, aux + [secret])
    original, release, control = typed_tables((original, release, control), column_types)
    rng = np.random.default_rng(seed)
    warnings: list[str] = []
    n_original = target_count(n_attacks, len(original), "original", warnings)
    original_targets = original.iloc[rng.choice(len(original), n_original, replace=False)]
    tables = [release, original_targets]
    if control is not None:
        n_control = target_count(n_attacks, len(control), "control", warnings)
        control_targets = control.iloc[rng.choice(len(control), n_control, replace=False)]
        tables.append(control_targets)

    encoded = encode_jointly(tables, aux)
    release_secrets = release[secret].reset_index(drop=True)
    attack_idx, _ = nearest_neighbors(encoded[1], encoded[0], 1, rng)
    if control is not None:
        control_idx, _ = nearest_neighbors(encoded[2], encoded[0], 1, rng)
    random_idx = rng.integers(0, len(release), size=n_original)

    def hits(guess_rows, secrets):
        return correct_guesses(release_secrets.iloc[guess_rows], secrets, tolerance, tolerance_relative_to)

    original_secrets = original_targets[secret].reset_index(drop=True)
    attack_hits = hits(attack_idx[:, 0], original_secrets)
    baseline_hits = hits(random_idx, original_secrets)
    attack = SuccessRate.from_counts(int(attack_hits.sum()), n_original, confidence, rate_estimate)
    baseline = SuccessRate.from_counts(int(baseline_hits.sum()), n_original, confidence, rate_estimate)
    control_rate = None
    groups = {}
    if control is not None:
        control_secrets = control_targets[secret].reset_index(drop=True)
        control_hits = hits(control_idx[:, 0], control_secrets)
        control_rate = SuccessRate.from_counts(int(control_hits.sum()), n_control, confidence, rate_estimate)
    if per_group:
        groups = _group_risks(
            original_secrets, attack_hits, control, secret, control_secrets if control is not None else None,
            control_hits if control is not None else None, baseline, confidence, rate_estimate, group_control,
        )
    return build_risk(attack, control_rate, baseline, confidence, warnings, groups=groups)


def _group_risks(original_secrets, attack_hits, control, secret, control_secrets, control_hits, baseline, confidence, rate_estimate, group_control):
    """Risk among the targets of each secret value (see :func:`inference_risk`)."""
    groups = {}
    original_codes, control_codes, values = _shared_codes(original_secrets, control_secrets)
    all_control_codes = None
    if control is not None and group_control == "all":
        _, all_control_codes, _ = _shared_codes(original_secrets, control[secret].reset_index(drop=True))
    for code, value in enumerate(values):
        in_group = original_codes == code
        if not in_group.any():
            continue
        attack = SuccessRate.from_counts(int(attack_hits[in_group].sum()), int(in_group.sum()), confidence, rate_estimate)
        control_rate = None
        if control is not None:
            mine = control_codes == code
            n_group_control = int(mine.sum()) if all_control_codes is None else int((all_control_codes == code).sum())
            control_rate = SuccessRate.from_counts(int(control_hits[mine].sum()), n_group_control, confidence, rate_estimate)
        groups[value] = build_risk(attack, control_rate, baseline, confidence, [])
    return groups


def _shared_codes(a: pd.Series, b: pd.Series | None):
    """Codes of two series' values in one coding (missing: a value of its own)
    and the values themselves, in order of first appearance."""
    parts = [a.astype(object)] + ([b.astype(object)] if b is not None else [])
    combined = pd.concat(parts, ignore_index=True)
    codes, uniques = pd.factorize(combined, use_na_sentinel=False)
    b_codes = codes[len(a):] if b is not None else None
    return codes[: len(a)], b_codes, list(uniques)
