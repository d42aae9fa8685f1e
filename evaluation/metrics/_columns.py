"""Column handling shared by the metrics: type detection, joint encoding across
tables, equivalence-class codes and a mixed-type (Gower-style) nearest-neighbour
search.

Conventions, used everywhere in the package:

* a column is *ordered* when pandas reports a numeric, boolean-free dtype, a
  datetime or a timedelta on every table it occurs in; dates are compared through
  their nanosecond timestamps. Any other column is *categorical*; values are
  compared for equality only (generalised values such as ``[30, 40)`` or ``*``
  are just categories).
* a missing value (NaN, None, NaT, pd.NA) is a value of its own: two missing
  values are equal, a missing value differs from every present one.
* ``column_types`` (every metric takes it) overrides the detection per column:
  ``"categorical"`` for numeric-coded categories (ICD chapters, postcodes read
  as integers), ``"numeric"`` for numbers stored as text, ``"date"`` for date
  strings. See :func:`apply_column_types`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

# Upper bound on the number of float64 cells of one distance block (about 32 MB):
# large enough to keep numpy's per-call overhead negligible, small enough to stay
# far from memory limits whatever the table sizes.
BLOCK_CELLS = 4_000_000
# Distance blocks are computed on up to this many threads: scipy's distance kernels and
# numpy's reductions release the GIL, so blocks run in parallel on several cores.
_THREADS = max(1, min(4, os.cpu_count() or 1))


COLUMN_TYPES = ("numeric", "categorical", "date")


def apply_column_types(df: pd.DataFrame, column_types: Mapping[str, str] | None, what: str = "table") -> pd.DataFrame:
    """``df`` with the columns named in ``column_types`` converted to their type.

    * ``"categorical"``: values kept as they are but compared for equality only
      (an integer-coded diagnosis group is a category, not a number);
    * ``"numeric"``: numbers, also from text (``"12.5"``); booleans become 0/1;
    * ``"date"``: dates, also from text in any format pandas reads
      (``"2025-01-31"``, ``"Jan 31 2025"``), compared through their timestamps.

    Missing values stay missing. A column of ``column_types`` that the table
    lacks is ignored (the metric checks the columns it needs); a present value
    that cannot be read as the declared type is an error naming the column and
    the value, as is an unknown type.
    """
    if not column_types:
        return df
    unknown = {c: t for c, t in column_types.items() if t not in COLUMN_TYPES}
    if unknown:
        raise ValueError(f"column_types must map columns to one of {', '.join(COLUMN_TYPES)}; got {unknown}")
    converted = {}
    for column, kind in column_types.items():
        if column not in df.columns:
            continue
        series = df[column]
        missing = pd.isna(series)
        if kind == "categorical":
            if is_ordered(series) or pd.api.types.is_bool_dtype(series.dtype):
                converted[column] = series.astype(object).where(~missing, None)
            continue
        if kind == "numeric":
            if pd.api.types.is_bool_dtype(series.dtype):
                converted[column] = series.astype(np.float64)
                continue
            if pd.api.types.is_numeric_dtype(series.dtype):
                continue
            values = pd.to_numeric(series.where(~missing, None), errors="coerce")
        else:
            if pd.api.types.is_datetime64_any_dtype(series.dtype):
                continue
            values = pd.to_datetime(series.where(~missing, None), errors="coerce", format="mixed")
        unreadable = pd.isna(values) & ~missing
        if unreadable.any():
            example = series[unreadable].iloc[0]
            raise ValueError(
                f"column {column!r} of the {what} is declared {kind} but holds {int(unreadable.sum())} "
                f"value(s) that are not, e.g. {example!r}"
            )
        converted[column] = values
    return df.assign(**converted) if converted else df


def as_column_list(columns: str | Sequence[str]) -> list[str]:
    if isinstance(columns, str):
        return [columns]
    out = list(columns)
    if not out:
        raise ValueError("at least one column is required")
    return out


def check_columns(df: pd.DataFrame, columns: Sequence[str], what: str = "table") -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the {what} (it has {list(df.columns)})")


def is_ordered(series: pd.Series) -> bool:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return False
    return bool(
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
    )


def to_float(series: pd.Series) -> np.ndarray:
    """Ordered column as float64, missing values as NaN, dates as ns timestamps."""
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        values = series.to_numpy()
        as_int = values.view("i8") if values.dtype.kind in "mM" else series.astype("int64").to_numpy()
        out = as_int.astype(np.float64)
        out[pd.isna(series).to_numpy()] = np.nan
        return out
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def factorize(values, *, na_as_value: bool) -> tuple[np.ndarray, int]:
    """Integer codes 0..m-1 for the distinct values. Missing values get their own
    code when ``na_as_value``, else -1."""
    codes, uniques = pd.factorize(values, use_na_sentinel=not na_as_value)
    return codes.astype(np.int64, copy=False), len(uniques)


def group_codes(df: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, int]:
    """Equivalence class of every row over ``columns``: codes 0..G-1 and G.

    Each column is factorised (missing values kept as a value) and the codes are
    combined column by column into one int64 key, re-factorised after each step
    so the key never overflows. This is a hash-based groupby without building
    Python tuples, which is what keeps k-anonymity on 10⁶ rows well under a second.
    """
    key = np.zeros(len(df), dtype=np.int64)
    n_groups = 1
    for column in columns:
        codes, n_values = factorize(df[column], na_as_value=True)
        key = key * max(n_values, 1) + codes
        key, n_groups = factorize(key, na_as_value=True)
    return key, n_groups


@dataclass(frozen=True)
class EncodedTable:
    """A table encoded for mixed-type distances: ``numeric`` holds ordered columns
    divided by their range (so any two values differ by at most 1), ``categorical``
    holds integer codes shared across the encoded tables (-1: missing)."""

    numeric: np.ndarray  # (n, p_num) float64, NaN for missing
    categorical: np.ndarray  # (n, p_cat) int64, -1 for missing
    clip: bool = False  # a numeric column contributes at most 1 (scale not from every table)

    def __len__(self) -> int:
        return self.numeric.shape[0]

    def take(self, rows: np.ndarray) -> "EncodedTable":
        return EncodedTable(self.numeric[rows], self.categorical[rows], self.clip)


def encode_jointly(
    tables: Sequence[pd.DataFrame], columns: Sequence[str], *, scale_from: Sequence[int] | None = None
) -> list[EncodedTable]:
    """Encode several tables over the same columns with one shared scale.

    Ordered columns are divided by their range over all given tables (a constant
    column is left unscaled), as in the Gower (1971) coefficient and anonymeter's
    ``mixed_types_transform``; categorical columns get codes from the union of
    their values.

    ``scale_from`` (indices into ``tables``): take the ranges from those tables
    only, as SDMetrics' DCR takes them from the reference table. Values of the
    other tables may then lie outside the range, so each numeric column's
    contribution is clipped to 1 (``EncodedTable.clip``), and a column constant
    on those tables counts 1 for any difference, 0 for none (it is encoded as a
    category).
    """
    for table in tables:
        check_columns(table, columns)
    numeric_parts: list[list[np.ndarray]] = [[] for _ in tables]
    categorical_parts: list[list[np.ndarray]] = [[] for _ in tables]
    scale_tables = range(len(tables)) if scale_from is None else list(scale_from)
    for column in columns:
        series = [table[column] for table in tables]
        if all(is_ordered(s) for s in series):
            arrays = [to_float(s) for s in series]
            stacked = np.concatenate([arrays[i] for i in scale_tables])
            finite = stacked[~np.isnan(stacked)]
            value_range = float(finite.max() - finite.min()) if finite.size else 0.0
            if value_range == 0 and scale_from is not None:
                codes, _ = factorize(np.concatenate(arrays), na_as_value=False)
                start = 0
                for parts, array in zip(categorical_parts, arrays, strict=True):
                    parts.append(codes[start : start + len(array)])
                    start += len(array)
                continue
            scale = value_range if value_range > 0 else 1.0
            for parts, array in zip(numeric_parts, arrays, strict=True):
                parts.append(array / scale)
        else:
            combined = pd.concat([s.astype(object) for s in series], ignore_index=True)
            codes, _ = factorize(combined, na_as_value=False)
            start = 0
            for parts, s in zip(categorical_parts, series, strict=True):
                parts.append(codes[start : start + len(s)])
                start += len(s)
    encoded = []
    for table, numeric, categorical in zip(tables, numeric_parts, categorical_parts, strict=True):
        n = len(table)
        encoded.append(
            EncodedTable(
                numeric=np.column_stack(numeric) if numeric else np.empty((n, 0)),
                categorical=np.column_stack(categorical) if categorical else np.empty((n, 0), dtype=np.int64),
                clip=scale_from is not None,
            )
        )
    return encoded


def distance_block(queries: EncodedTable, candidates: EncodedTable) -> np.ndarray:
    """Mixed-type distances between every query and every candidate.

    ``d(a, b) = Σ_numeric |a_i − b_i| / range_i + Σ_categorical [a_j ≠ b_j]``, the
    unweighted Gower (1971) dissimilarity times the number of columns, as in
    anonymeter's ``gower_distance``. Missing values: two missing values are at
    distance 0, a missing and a present value at distance 1 (the largest a
    column contributes). anonymeter instead counts missing/missing as 1 and
    missing/present as NaN, which sorts such records last.
    """
    q_num, c_num = queries.numeric, candidates.numeric
    with_missing = np.isnan(q_num).any(axis=0) | np.isnan(c_num).any(axis=0)
    if queries.clip or candidates.clip:
        # each column contributes min(|a − b| / range, 1): one broadcast per column
        with_missing[:] = True
    if (~with_missing).any():
        # scipy's compiled L1 kernel: no (queries × candidates) temporaries per column
        distances = cdist(q_num[:, ~with_missing], c_num[:, ~with_missing], metric="cityblock")
    else:
        distances = np.zeros((len(queries), len(candidates)), dtype=np.float64)
    for i in np.flatnonzero(with_missing):
        q, c = q_num[:, i], c_num[:, i]
        diff = np.abs(q[:, None] - c[None, :])
        if queries.clip or candidates.clip:
            np.minimum(diff, 1.0, out=diff)
        both = np.isnan(q)[:, None] & np.isnan(c)[None, :]
        distances += np.where(np.isnan(diff), np.where(both, 0.0, 1.0), diff)
    n_categorical = queries.categorical.shape[1]
    if n_categorical:
        # Hamming distance is the share of differing coordinates; codes are exact
        # small integers, so comparing them as floats is exact
        distances += n_categorical * cdist(
            queries.categorical.astype(np.float64), candidates.categorical.astype(np.float64), metric="hamming"
        )
    return distances


def nearest_neighbors(
    queries: EncodedTable,
    candidates: EncodedTable,
    n_neighbors: int,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into ``candidates``) and distances of the ``n_neighbors`` closest
    candidates of every query, nearest first.

    With ``rng`` the candidates are visited in a random order, so equally distant
    candidates are chosen at random rather than always the first one: without
    this, two attacks that both hit a block of ties would agree on the first
    candidate and fake a link.
    """
    n_candidates = len(candidates)
    if n_candidates == 0:
        raise ValueError("no candidate records to search")
    k = min(n_neighbors, n_candidates)
    order = rng.permutation(n_candidates) if rng is not None else np.arange(n_candidates)
    shuffled = candidates.take(order)
    n_queries = len(queries)
    # blocks of at most BLOCK_CELLS distances, and at least one per thread
    block = max(1, min(BLOCK_CELLS // n_candidates, -(-n_queries // _THREADS)))
    indices = np.empty((n_queries, k), dtype=np.int64)
    dists = np.empty((n_queries, k), dtype=np.float64)

    def one(start: int) -> None:
        stop = min(start + block, n_queries)
        d = distance_block(queries.take(np.arange(start, stop)), shuffled)
        if k == 1:
            best = np.argmin(d, axis=1)[:, None]
        else:
            part = np.argpartition(d, k - 1, axis=1)[:, :k]
            part_d = np.take_along_axis(d, part, axis=1)
            best = np.take_along_axis(part, np.argsort(part_d, axis=1, kind="stable"), axis=1)
        indices[start:stop] = order[best]
        dists[start:stop] = np.take_along_axis(d, best, axis=1)

    starts = range(0, n_queries, block)
    if _THREADS > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=_THREADS) as pool:
            list(pool.map(one, starts))
    else:
        for start in starts:
            one(start)
    return indices, dists
