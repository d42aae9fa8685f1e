"""Which patients a membership game is played for.

A game is played per target record. The rule is declared, never improvised:

* ``outliers``: the ``n_outliers`` records of the pool that lie farthest from the others —
  by the mean distance to their ``NEIGHBOURS`` nearest neighbours in the pool, under the
  distance of :func:`isolation` — plus ``n_controls`` records drawn at random from the
  rest, seeded, so that the exposure of outliers can be told from that of anyone;
* ``listed``: the records whose ids the bundle lists (a hospital may know which patients
  worry it most).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

NEIGHBOURS = 5
TARGET_RULES = ("outliers", "listed")
TRAIT_THRESHOLD = 3.0


@dataclass(frozen=True)
class GameTarget:
    """One target: its row in the pool, its id, why it was chosen and how isolated it is."""

    position: int  # row of the pool
    record_id: str
    reason: str  # "outlier" | "control" | "listed"
    isolation: float
    trait: str = ""  # what sets the record apart, in words without its values ("a very high length of stay")


def numeric_matrix(frame: pd.DataFrame, types: Mapping[str, str]) -> np.ndarray:
    """The records as numbers: numeric and date columns standardised by a robust spread
    (interquartile range / 1.349, else the standard deviation, else 1), missing values at
    the median; categorical columns one-hot, scaled by 1/√2 so that two different
    categories are 1 apart, as two numbers one spread apart are."""
    blocks = []
    for name, kind in types.items():
        values = frame[name].astype(str)
        if kind in ("numeric", "date"):
            if kind == "date":
                parsed = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
                x = ((parsed - pd.Timestamp("1970-01-01")).dt.days).to_numpy(dtype=float)
            else:
                x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            finite = x[np.isfinite(x)]
            median = float(np.median(finite)) if finite.size else 0.0
            q1, q3 = np.percentile(finite, [25, 75]) if finite.size else (0.0, 0.0)
            spread = (q3 - q1) / 1.349
            if not spread > 0:
                spread = float(np.std(finite)) if finite.size else 0.0
            spread = spread if spread > 0 else 1.0
            blocks.append((np.where(np.isfinite(x), x, median) - median)[:, None] / spread)
        else:
            codes, levels = pd.factorize(values)
            onehot = np.zeros((len(values), len(levels)))
            onehot[np.arange(len(values)), codes] = 1.0
            blocks.append(onehot / np.sqrt(2.0))
    return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))


def isolation(frame: pd.DataFrame, types: Mapping[str, str], *, neighbours: int = NEIGHBOURS, chunk: int = 512) -> np.ndarray:
    """Each record's mean Euclidean distance to its ``neighbours`` nearest other records, in
    the space of :func:`numeric_matrix`. A 297-day stay among stays of a week, or the only
    patient of a postcode with a rare diagnosis, scores high."""
    x = numeric_matrix(frame, types)
    n = len(x)
    k = min(neighbours, n - 1)
    if k < 1:
        return np.zeros(n)
    squared = (x**2).sum(axis=1)
    out = np.empty(n)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        d2 = squared[start:stop, None] + squared[None, :] - 2 * x[start:stop] @ x.T
        d2[np.arange(stop - start), np.arange(start, stop)] = np.inf  # not its own neighbour
        nearest = np.partition(np.maximum(d2, 0), k - 1, axis=1)[:, :k]
        out[start:stop] = np.sqrt(nearest).mean(axis=1)
    return out


def trait(frame: pd.DataFrame, types: Mapping[str, str], position: int) -> str:
    """The column in which record ``position`` stands out most, said without its value; empty
    where it stands out nowhere. A number or date stands out 3 robust spreads or more from the
    median; a category when at most one record in 8 shares it (−log₂ of its share ≥ 3)."""
    best, words = TRAIT_THRESHOLD, ""
    for name, kind in types.items():
        values = frame[name].astype(str)
        label = name.replace("_", " ")
        if kind in ("numeric", "date"):
            x = numeric_matrix(frame[[name]], {name: kind})[:, 0]
            distance, side = abs(x[position]), "high" if x[position] > 0 else "low"
            if kind == "date":
                side = "late" if side == "high" else "early"
            text = f"a very {side} {label}"
        else:
            distance = -np.log2(float((values == values.iloc[position]).mean()))
            text = f"a rare {label}"
        if distance >= best:
            best, words = distance, text
    return words


def targets_select(
    *,
    pool: pd.DataFrame,
    types: Mapping[str, str],
    id_column: str,
    rule: str = "outliers",
    n_outliers: int = 5,
    n_controls: int = 5,
    listed: Sequence[str] = (),
    seed: int = 0,
) -> list[GameTarget]:
    """The targets of a game over ``pool`` (one row per patient, ids in ``id_column``)."""
    if rule not in TARGET_RULES:
        raise ValueError(f"unknown target rule {rule!r} (known: {', '.join(TARGET_RULES)})")
    ids = pool[id_column].astype(str).to_numpy()
    score = isolation(pool, types)
    if rule == "listed":
        where = {v: i for i, v in enumerate(ids)}
        unknown = [v for v in listed if v not in where]
        if unknown:
            raise ValueError(f"listed targets not in the population pool: {', '.join(map(str, unknown[:5]))}")
        if not listed:
            raise ValueError("the 'listed' target rule needs at least one record id")
        return [GameTarget(where[v], v, "listed", float(score[where[v]]), trait(pool, types, where[v])) for v in listed]
    if n_outliers < 0 or n_controls < 0 or n_outliers + n_controls == 0:
        raise ValueError("a game needs at least one target (n_outliers + n_controls > 0)")
    if n_outliers + n_controls > len(pool) // 2:
        raise ValueError(f"{n_outliers + n_controls} targets is too many for a pool of {len(pool)} records")
    order = np.argsort(-score, kind="stable")
    outliers = [int(i) for i in order[:n_outliers]]
    rest = np.setdiff1d(np.arange(len(pool)), outliers)
    controls = sorted(int(i) for i in np.random.default_rng(seed).choice(rest, size=n_controls, replace=False))
    return [GameTarget(i, ids[i], "outlier", float(score[i]), trait(pool, types, i)) for i in outliers] + [
        GameTarget(i, ids[i], "control", float(score[i]), trait(pool, types, i)) for i in controls
    ]
