"""Membership inference by distance to the closest release record (DCR).

A release built from some records tends to lie closer to those records than to other
people from the same population: copies, generalised classes that contain them, synthetic
points that reproduce them. For every candidate the attack measures the distance to its
closest release row — standardised gaps for numbers and dates, 0/1 for categories, a
generalised cell counting as 0 wherever the candidate fits inside it — and compares it with
the same distance for the auxiliary population, which holds no members. The score is the
share of population records that lie farther from the release than the candidate (ties
count half): 0.9 means "closer than 90 % of known non-members".
"""

from __future__ import annotations

import os

# The sandbox grants one CPU: more BLAS/OpenMP threads than that only contend for it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pandas as pd

import arena_tables as at


def closest(space: at.ReleaseSpace, queries: pd.DataFrame) -> np.ndarray:
    out = np.empty(len(queries))
    for rows, d in space.distances(queries):
        out[rows] = d.min(axis=1) if d.shape[1] else np.inf
    return out


def scores(release: pd.DataFrame, candidates: pd.DataFrame, population: pd.DataFrame, schema: dict) -> np.ndarray:
    types = schema["types"]
    columns = [c for c in types if c in release.columns and c in candidates.columns and not at.id_like(c, schema)]
    reference = population if len(population) else candidates
    space = at.ReleaseSpace(release, columns, types, reference)
    dc = closest(space, candidates)
    if len(population):
        dp = np.sort(closest(space, population))
        farther = len(dp) - np.searchsorted(dp, dc, side="right")
        ties = np.searchsorted(dp, dc, side="right") - np.searchsorted(dp, dc, side="left")
        return (farther + 0.5 * ties) / len(dp)
    # Without a population, rank the candidates against each other.
    return 1.0 - (pd.Series(dc).rank(method="average").to_numpy() - 0.5) / len(dc)


def main() -> None:
    env = at.env()
    schema = at.read_schema(env.input)
    release = at.read_table(env.input / "release.csv")
    candidates = at.read_table(env.input / "candidates.csv")
    population = at.read_table(env.input / "population.csv")
    s = scores(release, candidates, population, schema)
    pd.DataFrame({"candidate_id": candidates["candidate_id"], "score": np.round(s, 6)}).to_csv(
        env.output / "predictions.csv", index=False, lineterminator="\n"
    )


if __name__ == "__main__":
    main()
