"""k-anonymity by Mondrian multidimensional generalisation (LeFevre, DeWitt, Ramakrishnan 2006).

The records are split recursively, always along the quasi-identifier whose values are
spread widest in the current part (relative to the whole data), at the boundary closest to
the median that leaves at least k records on each side. When no quasi-identifier can be
split, the part becomes an equivalence class: its quasi-identifiers are replaced by the
smallest description covering the class — an interval for numbers and dates, a set for
categories — and an attribute generalised to its whole domain is suppressed ('*').
Every class holds at least k records, so every released quasi-identifier combination is
shared by at least k rows. Other columns are released unchanged; so is the id column, which
says which record each row came from.

Categorical values are ordered by their text when split: for postcodes that keeps
neighbouring areas (same leading digits) together.
"""

from __future__ import annotations

import os

# The sandbox grants one CPU: more BLAS/OpenMP threads than that only contend for it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pandas as pd

import arena_tables as at


def best_split(values: np.ndarray, k: int) -> float | None:
    """The value v such that (x <= v, x > v) splits ``values`` closest to half with k on each side."""
    uniq, counts = np.unique(values, return_counts=True)
    if uniq.size < 2:
        return None
    left = np.cumsum(counts)[:-1]
    ok = (left >= k) & (values.size - left >= k)
    if not ok.any():
        return None
    candidates = np.flatnonzero(ok)
    best = candidates[np.argmin(np.abs(left[candidates] - values.size / 2))]
    return uniq[best]


def split_part(part: np.ndarray, spans: np.ndarray, k: int) -> np.ndarray | None:
    """A boolean mask for the left half of the best allowable cut of ``part``, or None."""
    width = (part.max(axis=0) - part.min(axis=0)) / spans
    for dim in np.argsort(-width, kind="stable"):
        if width[dim] <= 0:
            return None
        cut = best_split(part[:, dim], k)
        if cut is not None:
            return part[:, dim] <= cut
    return None


def partition(keys: np.ndarray, spans: np.ndarray, k: int) -> list[np.ndarray]:
    """Mondrian's recursion (written as a loop): index arrays of the equivalence classes."""
    classes = []
    stack = [np.arange(len(keys))]
    while stack:
        idx = stack.pop()
        left = split_part(keys[idx], spans, k) if len(idx) >= 2 * k else None
        if left is None:
            classes.append(idx)
        else:
            stack.append(idx[~left])
            stack.append(idx[left])
    return classes


def describe(raw: pd.Series, numbers: np.ndarray | None, kind: str, domain: tuple, decimals: int) -> str:
    """The generalised value covering one class's cells of one quasi-identifier."""
    if kind in ("numeric", "date"):
        assert numbers is not None  # the caller parses every numeric and date column
        lo, hi = numbers.min(), numbers.max()
        if lo == hi:
            return raw.iloc[0]
        if (lo, hi) == domain:
            return at.SUPPRESSED
        a, b = at.from_number(np.array([lo, hi]), kind, decimals)
        return f"[{a}, {b}]"
    values = sorted(set(raw))
    if len(values) == 1:
        return values[0]
    if len(values) == len(domain):
        return at.SUPPRESSED
    return "{" + "|".join(values) + "}"


def anonymize(records: pd.DataFrame, schema: dict, k: int) -> pd.DataFrame:
    types = schema["types"]
    qis = [c for c in schema["quasi_identifiers"] if c in records.columns]
    release = records.copy()
    if not qis:
        return release
    numbers, keys, domains = {}, [], {}
    for c in qis:
        if types[c] in ("numeric", "date"):
            v = at.to_number(records[c], types[c])
            numbers[c] = v
            domains[c] = (v.min(), v.max())
            keys.append(v)
        else:
            levels = sorted(set(records[c]))
            domains[c] = tuple(levels)
            keys.append(pd.Categorical(records[c], categories=levels).codes.astype(float))
    key = np.column_stack(keys)
    spans = np.maximum(key.max(axis=0) - key.min(axis=0), 1e-12)
    if len(records) < k:  # too few records to hide anyone among k: suppress every quasi-identifier
        for c in qis:
            release[c] = at.SUPPRESSED
        return release
    classes = partition(key, spans, k)
    for c in qis:
        decimals = at.decimals_of(records[c]) if types[c] == "numeric" else 0
        column = records[c].to_numpy(dtype=object).copy()
        for idx in classes:
            column[idx] = describe(records[c].iloc[idx], numbers[c][idx] if c in numbers else None,
                                   types[c], domains[c], decimals)
        release[c] = column
    return release


def main() -> None:
    env = at.env()
    k = int(at.params({"k": 5})["k"])
    records = at.read_table(env.input / "records.csv")
    schema = at.read_schema(env.input)
    anonymize(records, schema, k).to_csv(env.output / "release.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
