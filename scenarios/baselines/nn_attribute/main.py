"""Attribute inference by nearest neighbours in the release.

For each target the attack finds the release rows closest on the columns it knows (the
columns targets and release share, secret and ids aside) — standardised gaps for numbers
and dates, 0/1 for categories, a generalised cell counting as 0 wherever the target fits —
and guesses the secret from all rows at that smallest distance: the most common value for
a categorical secret, the median for a numeric one. On a raw release a member finds its own
row; on a k-anonymous one it finds its equivalence class, whose secrets may all agree (the
homogeneity attack); on a synthetic one it finds the rows the generator put nearby.
"""

from __future__ import annotations

import os

# The sandbox grants one CPU: more BLAS/OpenMP threads than that only contend for it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pandas as pd

import arena_tables as at

TIE = 1e-9


def guesses(release: pd.DataFrame, targets: pd.DataFrame, schema: dict, secret: str) -> list[str]:
    types = schema["types"]
    kind = types.get(secret, "categorical")
    known = [c for c in targets.columns if c in release.columns and c in types and c != secret and not at.id_like(c, schema)]
    space = at.ReleaseSpace(release, known, types, targets)
    if kind in ("numeric", "date"):
        values = at.midpoints(release[secret], kind)
        fallback = np.nanmedian(values) if np.isfinite(values).any() else 0.0
        decimals = at.decimals_of(release[secret]) if kind == "numeric" else 0
        out = np.empty(len(targets))
        for rows, d in space.distances(targets):
            near = d <= d.min(axis=1, keepdims=True) + TIE
            picked = np.where(near, values[None, :], np.nan)
            with np.errstate(all="ignore"):
                med = np.nanmedian(picked, axis=1) if picked.shape[1] else np.full(len(picked), np.nan)
            out[rows] = np.where(np.isfinite(med), med, fallback)
        return at.from_number(out, kind, decimals)
    # Categorical: a set spreads one vote over its members; '*' casts none.
    sets = at.parse_sets(release[secret])
    levels = sorted({v for s in sets if s for v in s})
    if not levels:
        return ["*"] * len(targets)
    index = {v: i for i, v in enumerate(levels)}
    votes = np.zeros((len(release), len(levels)))
    for i, s in enumerate(sets):
        if s:
            votes[i, [index[v] for v in s]] = 1.0 / len(s)
    # Ties between values go to the one most common in the whole release, then the first.
    prior = votes.sum(axis=0)
    tiebreak = 1e-6 * prior / max(prior.max(), 1.0)
    guessed: list[str] = []
    for _rows, d in space.distances(targets):
        near = (d <= d.min(axis=1, keepdims=True) + TIE).astype(float)
        tally = near @ votes + tiebreak
        guessed.extend(levels[j] for j in tally.argmax(axis=1))
    return guessed


def main() -> None:
    env = at.env()
    schema = at.read_schema(env.input)
    secret = at.secret_column(env.input, schema)
    release = at.read_table(env.input / "release.csv")
    targets = at.read_table(env.input / "targets.csv")
    pd.DataFrame({"target_id": targets["target_id"], "guess": guesses(release, targets, schema, secret)}).to_csv(
        env.output / "guesses.csv", index=False, lineterminator="\n"
    )


if __name__ == "__main__":
    main()
