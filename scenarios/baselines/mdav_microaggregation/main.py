"""Microaggregation of the quasi-identifiers with MDAV (Domingo-Ferrer & Torra 2005).

Maximum Distance to Average Vector: repeatedly take the record farthest from the centroid
of those left, group it with its k-1 nearest neighbours, then do the same for the record
farthest from that one, until fewer than 3k remain (those form one or two last groups).
Distances use standardised numbers and dates and one-hot categories. Each group's
quasi-identifiers are replaced by the group's centroid: the mean for numbers and dates,
the most common value for categories. Every group then shares one quasi-identifier
combination, so the release is k-anonymous, with exact-looking (not interval) values that
keep numeric analyses simple. Other columns and the id column are released unchanged.
"""

from __future__ import annotations

import os

# The sandbox grants one CPU: more BLAS/OpenMP threads than that only contend for it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pandas as pd

import arena_tables as at


def mdav(x: np.ndarray, k: int) -> np.ndarray:
    """A group label per row; every group has between k and 2k-1 rows (all rows if fewer than k)."""
    n = len(x)
    labels = np.full(n, -1)
    if n < 2 * k:
        labels[:] = 0
        return labels
    sq = (x * x).sum(axis=1)
    alive = np.ones(n, dtype=bool)
    group = 0

    def dist2(v: np.ndarray) -> np.ndarray:
        return sq - 2.0 * (x @ v) + v @ v

    def take_around(r: int) -> np.ndarray:
        nonlocal group
        d = dist2(x[r])
        d[~alive] = np.inf
        d[r] = -1.0  # the seed record belongs to its own group even among exact ties
        members = np.argpartition(d, k - 1)[:k]
        labels[members] = group
        alive[members] = False
        group += 1
        return d

    while alive.sum() >= 3 * k:
        d = dist2(x[alive].mean(axis=0))
        d[~alive] = -np.inf
        r = int(np.argmax(d))
        from_r = take_around(r)
        from_r[~alive] = -np.inf
        take_around(int(np.argmax(from_r)))
    if alive.sum() >= 2 * k:
        d = dist2(x[alive].mean(axis=0))
        d[~alive] = -np.inf
        take_around(int(np.argmax(d)))
    labels[alive] = group
    return labels


def anonymize(records: pd.DataFrame, schema: dict, k: int) -> pd.DataFrame:
    types = schema["types"]
    qis = [c for c in schema["quasi_identifiers"] if c in records.columns]
    release = records.copy()
    if not qis:
        return release
    if len(records) < k:
        for c in qis:
            release[c] = at.SUPPRESSED
        return release
    (x,) = at.encode_plain([records], qis, types, max_levels=200)
    labels = mdav(x, k)
    for c in qis:
        if types[c] in ("numeric", "date"):
            v = pd.Series(at.to_number(records[c], types[c]))
            means = v.groupby(labels).transform("mean").to_numpy()
            decimals = at.decimals_of(records[c]) if types[c] == "numeric" else 0
            release[c] = at.from_number(means, types[c], decimals)
        else:
            # Most common value per group; ties go to the smallest value so the result is stable.
            # Named explicitly: the count column's default name differs between pandas versions,
            # and the runtime image need not carry the server's pandas.
            counts = pd.DataFrame({"g": labels, "v": records[c]}).value_counts().rename("count").reset_index()
            counts = counts.sort_values(["g", "count", "v"], ascending=[True, False, True], kind="stable")
            mode = counts.drop_duplicates("g").set_index("g")["v"]
            release[c] = mode.loc[labels].to_numpy()
    return release


def main() -> None:
    env = at.env()
    k = int(at.params({"k": 5})["k"])
    records = at.read_table(env.input / "records.csv")
    schema = at.read_schema(env.input)
    anonymize(records, schema, k).to_csv(env.output / "release.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
