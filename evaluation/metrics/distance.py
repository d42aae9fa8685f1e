"""Distance to closest record (DCR): does the release sit closer to the records it
was made from than to equally fresh records of the same population?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._columns import apply_column_types, as_column_list, encode_jointly, nearest_neighbors
from .intervals import wilson_interval

__all__ = ["DistanceToClosestRecord", "closest_record_distances", "distance_to_closest_record"]

_TIES = ("half", "holdout", "train")
_RANGES = ("all", "reference", "pair")


@dataclass(frozen=True)
class DistanceToClosestRecord:
    """``value``: share of release rows closer to train than to holdout (ties
    count as ``ties`` says: half by default), with its Wilson interval ``ci``;
    0.5 is ideal. The medians are of each release row's distance to its closest
    train / holdout record; ``distances_train`` and ``distances_holdout`` are
    those distances row by row (of the release rows used, after subsampling)."""

    value: float
    ci: tuple[float, float]
    n_release: int
    n_reference: int
    median_distance_train: float
    median_distance_holdout: float
    distances_train: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)
    distances_holdout: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)


def closest_record_distances(
    table: pd.DataFrame,
    reference: pd.DataFrame,
    columns: Sequence[str],
    *,
    ranges: str = "reference",
    mean: bool = True,
    column_types: Mapping[str, str] | None = None,
) -> np.ndarray:
    """Distance from every row of ``table`` to its closest row of ``reference``.

    Per column: ``|a − b| / range`` for numeric and date columns, 0/1 mismatch
    for categorical ones; two missing values are at distance 0, a missing and a
    present one at 1. With ``mean`` the per-column distances are averaged (the
    Gower coefficient; SDMetrics' ``calculate_dcr``), else summed.

    ``ranges="reference"`` (the default here, SDMetrics' convention): ranges from
    ``reference`` only, each column's distance clipped to 1, and a column
    constant in ``reference`` counting 1 for any difference; ``"all"``: ranges
    over both tables (no clipping needed).
    """
    if ranges not in ("reference", "all"):
        raise ValueError(f"ranges must be 'reference' or 'all', got {ranges!r}")
    columns = as_column_list(columns)
    if len(table) == 0 or len(reference) == 0:
        raise ValueError("both tables need rows")
    table = apply_column_types(table, column_types, "table")
    reference = apply_column_types(reference, column_types, "reference table")
    encoded = encode_jointly([table, reference], columns, scale_from=[1] if ranges == "reference" else None)
    _, distances = nearest_neighbors(encoded[0], encoded[1], 1)
    return distances[:, 0] / (len(columns) if mean else 1)


def distance_to_closest_record(
    release: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    columns: Sequence[str],
    *,
    max_release_rows: int | None = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    ties: str = "half",
    ranges: str = "all",
    equal_sizes: bool = True,
    mean: bool = False,
    column_types: Mapping[str, str] | None = None,
) -> DistanceToClosestRecord:
    """Share of release records whose closest real record is in ``train``.

    Definition: the holdout-based DCR share of Platzer & Reutterer 2021
    ("Holdout-based empirical assessment of mixed-type synthetic data", Frontiers
    in Big Data 4:679939), also used by the SDNist and synthcity reports and as
    SDMetrics' ``DCROverfittingProtection`` (whose score is
    ``min(2 (1 − value), 1)``). For every release row, the distance to its
    nearest train record and to its nearest holdout record is computed with the
    mixed-type Gower distance (range-scaled L1 on numeric and date columns, 0/1
    on categorical ones, a missing value equal only to a missing value). The
    row counts 1 when train is strictly closer, 0 when holdout is. A release
    that generalises (rather than copies) the training data is no closer to
    train than to holdout: 0.5. Values near 1 mean records were copied or
    barely perturbed.

    Conventions, each with the option that reproduces the other tools:

    * ``ties``: a row equally close to both counts ½ (``"half"``, the default:
      a tie is evidence for neither); SDMetrics counts it as closer to holdout
      (``"holdout"``: with train = release = holdout, 0 instead of 0.5);
      ``"train"`` counts it as closer to train;
    * ``ranges``: numeric ranges over all three tables (``"all"``, the default:
      both comparisons measure distance alike); from the reference table of
      each comparison only, with each column's distance clipped to 1
      (``"reference"``, SDMetrics); over the release and the reference table of
      each comparison (``"pair"``, anonymeter's ``mixed_types_transform``);
    * ``equal_sizes``: train and holdout must be compared at equal size (the
      nearest of more records is nearer by chance alone), so the larger one is
      subsampled to the size of the smaller (seeded by ``seed``); SDMetrics
      compares them as given (``equal_sizes=False``);
    * ``mean``: per-row distances averaged over the columns (SDMetrics) rather
      than summed; the share does not depend on it.

    Release rows beyond ``max_release_rows`` are subsampled (seeded by
    ``seed``) to bound the O(release × reference) search; ``None`` keeps all.
    """
    if ties not in _TIES:
        raise ValueError(f"ties must be one of {_TIES}, got {ties!r}")
    if ranges not in _RANGES:
        raise ValueError(f"ranges must be one of {_RANGES}, got {ranges!r}")
    columns = as_column_list(columns)
    if min(len(release), len(train), len(holdout)) == 0:
        raise ValueError("release, train and holdout each need rows")
    release = apply_column_types(release, column_types, "release")
    train = apply_column_types(train, column_types, "train table")
    holdout = apply_column_types(holdout, column_types, "holdout table")
    rng = np.random.default_rng(seed)
    if equal_sizes:
        n_reference = min(len(train), len(holdout))
        train = train.iloc[np.sort(rng.choice(len(train), n_reference, replace=False))]
        holdout = holdout.iloc[np.sort(rng.choice(len(holdout), n_reference, replace=False))]
    else:
        n_reference = min(len(train), len(holdout))
    if max_release_rows is not None and len(release) > max_release_rows:
        release = release.iloc[np.sort(rng.choice(len(release), max_release_rows, replace=False))]
    if ranges == "all":
        encoded_release, encoded_train, encoded_holdout = encode_jointly([release, train, holdout], columns)
        _, to_train = nearest_neighbors(encoded_release, encoded_train, 1)
        _, to_holdout = nearest_neighbors(encoded_release, encoded_holdout, 1)
    else:
        scale_from = [1] if ranges == "reference" else None
        release_t, encoded_train = encode_jointly([release, train], columns, scale_from=scale_from)
        _, to_train = nearest_neighbors(release_t, encoded_train, 1)
        release_h, encoded_holdout = encode_jointly([release, holdout], columns, scale_from=scale_from)
        _, to_holdout = nearest_neighbors(release_h, encoded_holdout, 1)
    to_train, to_holdout = to_train[:, 0], to_holdout[:, 0]
    if mean:
        to_train, to_holdout = to_train / len(columns), to_holdout / len(columns)
    tie_weight = {"half": 0.5, "holdout": 0.0, "train": 1.0}[ties]
    closer = np.sum(to_train < to_holdout) + tie_weight * np.sum(to_train == to_holdout)
    n = len(release)
    return DistanceToClosestRecord(
        value=float(closer / n),
        ci=wilson_interval(float(closer), n, confidence),
        n_release=n,
        n_reference=n_reference,
        median_distance_train=float(np.median(to_train)),
        median_distance_holdout=float(np.median(to_holdout)),
        distances_train=to_train,
        distances_holdout=to_holdout,
    )
