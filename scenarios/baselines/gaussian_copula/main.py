"""Synthetic data from a Gaussian copula over mixed column types.

Each column is mapped to standard-normal scores: numbers and dates through their
empirical distribution (ranks), categories through consecutive slices of [0, 1] sized by
their frequencies, with a uniform draw inside the slice. The correlation of the scores is
estimated, new score vectors are drawn from a multivariate normal with that correlation,
and each column is mapped back through its own empirical quantiles (numbers, dates) or
slices (categories). Marginals are kept closely; dependence is kept only as far as a
Gaussian correlation captures it. No record is copied, but nothing here limits how close
a synthetic row may come to a real one: the membership attacks measure exactly that.
The release has the schema's columns and no id column: synthetic rows stem from no record.
"""

from __future__ import annotations

import os

# The sandbox grants one CPU: more BLAS/OpenMP threads than that only contend for it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pandas as pd
from scipy import stats

import arena_tables as at


def _normal_scores(values: pd.Series, kind: str, rng: np.random.Generator):
    """Scores for one column and a function mapping new scores back to column values."""
    n = len(values)
    if kind in ("numeric", "date"):
        x = at.to_number(values, kind)
        fill = np.nanmedian(x) if np.isfinite(x).any() else 0.0
        x = np.where(np.isfinite(x), x, fill)
        u = stats.rankdata(x, method="average") / (n + 1)
        decimals = at.decimals_of(values) if kind == "numeric" else 0
        sorted_x = np.sort(x)
        grid = (np.arange(1, n + 1)) / (n + 1)

        def back(z: np.ndarray) -> list[str]:
            return at.from_number(np.interp(stats.norm.cdf(z), grid, sorted_x), kind, decimals)

        return stats.norm.ppf(u), back
    counts = values.value_counts(sort=False)
    levels = sorted(counts.index, key=lambda v: (-counts[v], v))  # most common first, stable
    share = np.array([counts[v] for v in levels], dtype=float) / n
    upper = np.cumsum(share)
    upper[-1] = 1.0
    lower = upper - share
    index = {v: i for i, v in enumerate(levels)}
    codes = np.array([index[v] for v in values])
    u = lower[codes] + rng.random(n) * share[codes]
    u = np.clip(u, 1e-6, 1 - 1e-6)
    levels_arr = np.array(levels, dtype=object)

    def back_level(z: np.ndarray) -> list[str]:
        return list(levels_arr[np.minimum(np.searchsorted(upper, stats.norm.cdf(z), side="right"), len(levels) - 1)])

    return stats.norm.ppf(u), back_level


def synthesize(records: pd.DataFrame, schema: dict, rng: np.random.Generator, n: int | None = None) -> pd.DataFrame:
    columns = [c["name"] for c in schema["columns"] if c["name"] in records.columns]
    types = {c["name"]: c["type"] for c in schema["columns"]}
    n = len(records) if n is None else n
    scores, inverse = [], []
    for c in columns:
        z, back = _normal_scores(records[c].astype(str), types[c], rng)
        scores.append(z)
        inverse.append(back)
    z = np.column_stack(scores)
    corr = np.corrcoef(z, rowvar=False) if len(records) > 1 else np.eye(len(columns))
    corr = np.atleast_2d(np.nan_to_num(corr, nan=0.0))
    np.fill_diagonal(corr, 1.0)
    # Nearest positive definite matrix: clip eigenvalues, then rescale to unit diagonal.
    w, v = np.linalg.eigh(corr)
    corr = (v * np.clip(w, 1e-6, None)) @ v.T
    d = np.sqrt(np.diag(corr))
    corr = corr / d[:, None] / d[None, :]
    draws = rng.standard_normal((n, len(columns))) @ np.linalg.cholesky(corr).T
    return pd.DataFrame({c: back(draws[:, j]) for j, (c, back) in enumerate(zip(columns, inverse, strict=True))})


def main() -> None:
    env = at.env()
    records = at.read_table(env.input / "records.csv")
    schema = at.read_schema(env.input)
    rng = np.random.default_rng(env.seed)
    synthesize(records, schema, rng).to_csv(env.output / "release.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
