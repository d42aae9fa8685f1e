"""Linkability risk (Article 29 Working Party, Opinion 05/2014 on anonymisation
techniques, WP216): can the release be used to tell that two records, known to an
attacker through different sets of attributes, belong to the same person?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._columns import encode_jointly, nearest_neighbors
from ._results import PrivacyRisk, SuccessRate, build_risk, check_tables, target_count, typed_tables

__all__ = ["linkability_risk"]


def _links(targets_a, targets_b, release_a, release_b, n_neighbors, rng) -> np.ndarray:
    """Whether the ``n_neighbors`` nearest release records of the two halves of
    each target share a record."""
    idx_a, _ = nearest_neighbors(targets_a, release_a, n_neighbors, rng)
    idx_b, _ = nearest_neighbors(targets_b, release_b, n_neighbors, rng)
    return (idx_a[:, :, None] == idx_b[:, None, :]).any(axis=(1, 2))


def _random_neighbors(n_release: int, n_targets: int, k: int, rng: np.random.Generator) -> np.ndarray:
    if k == 1:
        return rng.integers(0, n_release, size=(n_targets, 1))
    return np.array([rng.choice(n_release, size=k, replace=False) for _ in range(n_targets)])


def linkability_risk(
    original: pd.DataFrame,
    release: pd.DataFrame,
    control: pd.DataFrame | None,
    *,
    aux_cols: tuple[Sequence[str], Sequence[str]],
    n_attacks: int | None = 500,
    n_neighbors: int = 1,
    seed: int | None = None,
    confidence: float = 0.95,
    rate_estimate: str = "observed",
    column_types: Mapping[str, str] | None = None,
) -> PrivacyRisk:
    """Linkability risk of a release, as anonymeter's ``LinkabilityEvaluator``.

    Attack (Giomi et al. 2023, "A unified framework for quantifying privacy risk
    in synthetic data", PoPETs; anonymeter): ``n_attacks`` target records are
    drawn from ``original``, each split into the two attribute sets
    ``aux_cols = (cols_a, cols_b)`` an attacker holds in two separate databases.
    For each half, the ``n_neighbors`` nearest release records are found with a
    mixed-type Gower distance (range-scaled L1 on numeric and date columns, 0/1
    mismatch on categorical ones, a missing value equal only to a missing value).
    The attack succeeds on a target when the two neighbour sets share a record:
    the release links the two halves. Equally distant release records are taken
    in a random (seeded) order for each half.

    * control rate: the same attack on ``n_attacks`` records of ``control``
      (real records not behind the release);
    * baseline rate: each half gets ``n_neighbors`` release records at random;
    * risk: ``(attack − control) / (1 − control)`` with its CI, normalised as
      in anonymeter (see :func:`normalised_risk`). With ``control=None`` the
      risk is the attack rate's Wilson centre and interval, as anonymeter
      reports it without a control; when the control attack succeeds every
      time the risk has no value (NaN, with ``reason``).

    ``n_attacks=None`` attacks every record (of ``original`` and of
    ``control``). ``rate_estimate="wilson_center"`` reports the rates' Wilson
    centres (anonymeter's point estimate) instead of ``x / n``.
    ``column_types`` overrides the detected column types (see
    :func:`~evaluation.metrics._columns.apply_column_types`).

    Differences from anonymeter 1.x: missing values have a defined distance
    (anonymeter's is NaN, which ranks such records last); ties are broken at
    random rather than by sort order; the numeric scale comes from release,
    targets and controls together, so both attacks measure distance alike; a
    table smaller than ``n_attacks`` is attacked in full and reported in
    ``warnings`` (anonymeter raises).
    """
    if len(aux_cols) != 2 or not aux_cols[0] or not aux_cols[1]:
        raise ValueError("aux_cols must be two non-empty lists of columns")
    if n_neighbors < 1:
        raise ValueError(f"n_neighbors must be positive, got {n_neighbors}")
    cols_a, cols_b = list(aux_cols[0]), list(aux_cols[1])
    check_tables(original, release, control, cols_a + cols_b)
    original, release, control = typed_tables((original, release, control), column_types)
    rng = np.random.default_rng(seed)
    warnings: list[str] = []
    n_original = target_count(n_attacks, len(original), "original", warnings)
    if n_neighbors > len(release):
        warnings.append(f"n_neighbors={n_neighbors} exceeds the release's {len(release)} rows; all rows used")
        n_neighbors = len(release)
    original_targets = original.iloc[rng.choice(len(original), n_original, replace=False)]
    tables = [release, original_targets]
    if control is not None:
        n_control = target_count(n_attacks, len(control), "control", warnings)
        tables.append(control.iloc[rng.choice(len(control), n_control, replace=False)])

    encoded_a = encode_jointly(tables, cols_a)
    encoded_b = encode_jointly(tables, cols_b)
    attack_links = _links(encoded_a[1], encoded_b[1], encoded_a[0], encoded_b[0], n_neighbors, rng)
    control_rate = None
    if control is not None:
        control_links = _links(encoded_a[2], encoded_b[2], encoded_a[0], encoded_b[0], n_neighbors, rng)
        control_rate = SuccessRate.from_counts(int(control_links.sum()), n_control, confidence, rate_estimate)
    random_a = _random_neighbors(len(release), n_original, n_neighbors, rng)
    random_b = _random_neighbors(len(release), n_original, n_neighbors, rng)
    baseline_links = (random_a[:, :, None] == random_b[:, None, :]).any(axis=(1, 2))

    return build_risk(
        SuccessRate.from_counts(int(attack_links.sum()), n_original, confidence, rate_estimate),
        control_rate,
        SuccessRate.from_counts(int(baseline_links.sum()), n_original, confidence, rate_estimate),
        confidence,
        warnings,
    )
