"""Singling-out risk (Article 29 Working Party, Opinion 05/2014, WP216): can the
release be used to isolate some or all records that identify one individual?

A *singling-out query* is a conjunction of predicates on attributes
(``age >= 87 AND sex == 'F' AND postcode == '10115'``) that matches exactly one
record. Cohen & Nissim (2020, "Towards formalizing the GDPR's notion of singling
out", PNAS 117(15)) call an attacker successful when a query built from the
release singles out a record of the original data more often than chance allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, sparse

from .._columns import BLOCK_CELLS, is_ordered, to_float
from ._results import PrivacyRisk, SuccessRate, build_risk, check_tables, typed_tables

__all__ = ["singling_out_risk"]

# Predicate operators, stored as small integers so that thousands of queries can
# be evaluated as arrays. PAD pads queries with fewer terms and matches everything.
PAD, EQ, NE, LT, LE, GT, GE, ISNULL, NOTNULL = range(9)
_CATEGORICAL_RANDOM_OPS = np.array([EQ, NE])
_ORDERED_RANDOM_OPS = np.array([EQ, NE, GT, LT, GE, LE])
_GENERATION_BATCH = 1000
# Memory allowed for the prefix bitsets of one table (see _IndexedTable.bits).
_BITSET_BYTES = 256 * 2**20
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class _Queries:
    """A set of conjunctive queries: term ``t`` of query ``q`` is
    ``column[q, t] <op[q, t]> value[q, t]``."""

    def __init__(self, columns: np.ndarray, ops: np.ndarray, values: np.ndarray):
        self.columns, self.ops, self.values = columns, ops, values

    def __len__(self) -> int:
        return len(self.columns)

    @classmethod
    def empty(cls, n_terms: int) -> "_Queries":
        return cls(np.empty((0, n_terms), np.int64), np.empty((0, n_terms), np.int8), np.empty((0, n_terms)))

    def subset(self, rows) -> "_Queries":
        return _Queries(self.columns[rows], self.ops[rows], self.values[rows])

    def concat(self, other: "_Queries") -> "_Queries":
        return _Queries(
            np.vstack([self.columns, other.columns]),
            np.vstack([self.ops, other.ops]),
            np.vstack([self.values, other.values]),
        )


def _term_mask(x: np.ndarray, op: np.ndarray | int, v: np.ndarray) -> np.ndarray:
    """Elementwise truth of ``x <op> v``. NaN is missing: it satisfies only ISNULL
    (a comparison with a missing value is false, as in SQL and polars)."""
    if op == EQ:
        return x == v
    if op == NE:
        return (x != v) & ~np.isnan(x) & ~np.isnan(v)
    if op == LT:
        return x < v
    if op == LE:
        return x <= v
    if op == GT:
        return x > v
    if op == GE:
        return x >= v
    if op == ISNULL:
        return np.isnan(x)
    if op == NOTNULL:
        return ~np.isnan(x)
    if op == PAD:
        return np.ones(np.shape(x), dtype=bool)
    raise ValueError(f"unknown operator {op}")


class _IndexedTable:
    """A table (columns × rows, NaN missing) with every column sorted once, so the
    rows satisfying any single predicate form one or two runs of the sort order
    found by binary search — the candidate rows of a query without a scan."""

    def __init__(self, table: np.ndarray):
        self.table = table
        self.n_rows = table.shape[1]
        self.order = np.argsort(table, axis=1, kind="stable")  # NaN sorts last
        self.sorted = np.take_along_axis(table, self.order, axis=1)
        self.n_present = (~np.isnan(table)).sum(axis=1)
        self._bits: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
        self._bit_bytes = 0

    def bits(self, j: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Prefix bitsets of column ``j``'s sort order at each change of value:
        ``(bounds, prefix)`` where ``prefix[i]`` has the bits of the rows at sort
        positions ``[0, bounds[i])``. Every run that :meth:`runs` returns starts
        and ends on such a bound, so the rows of any predicate are
        ``prefix[hi] ^ prefix[lo]``: a few machine words per query instead of a
        scan. ``None`` when the column has too many distinct values for
        :data:`_BITSET_BYTES`."""
        j = int(j)
        if j not in self._bits:
            self._bits[j] = self._build_bits(j)
        return self._bits[j]

    def _build_bits(self, j: int):
        n, present = self.n_rows, int(self.n_present[j])
        words = (n + 63) // 64
        column = self.sorted[j]
        changes = np.flatnonzero(column[1:present] != column[: max(present - 1, 0)]) + 1
        bounds = np.unique(np.concatenate([[0], changes, [present, n]])).astype(np.int64)
        size = len(bounds) * words * 8
        if self._bit_bytes + size > _BITSET_BYTES:
            return None
        self._bit_bytes += size
        segment = np.searchsorted(bounds, np.arange(n), side="right")  # 1 + segment index
        rows = self.order[j]
        prefix = np.zeros((len(bounds), words), dtype=np.uint64)
        np.bitwise_or.at(prefix, (segment, rows >> 6), np.left_shift(np.uint64(1), (rows & 63).astype(np.uint64)))
        np.bitwise_or.accumulate(prefix, axis=0, out=prefix)
        return bounds, prefix

    def runs(self, columns: np.ndarray, ops: np.ndarray, values: np.ndarray):
        """For each predicate, up to two half-open runs ``[lo, hi)`` of its
        column's sort order holding exactly the rows that satisfy it."""
        n = len(columns)
        lo1, hi1 = np.zeros(n, np.int64), np.zeros(n, np.int64)
        lo2, hi2 = np.zeros(n, np.int64), np.zeros(n, np.int64)
        left, right = np.zeros(n, np.int64), np.zeros(n, np.int64)
        present = self.n_present[columns]
        for j in np.unique(columns):
            rows = np.flatnonzero(columns == j)
            column = self.sorted[j, : self.n_present[j]]
            v = values[rows]
            finite = ~np.isnan(v)
            left[rows[finite]] = np.searchsorted(column, v[finite], side="left")
            right[rows[finite]] = np.searchsorted(column, v[finite], side="right")
        for op, (a, b) in {
            EQ: (left, right),
            LT: (np.zeros(n, np.int64), left),
            LE: (np.zeros(n, np.int64), right),
            GT: (right, present),
            GE: (left, present),
            ISNULL: (present, np.full(n, self.n_rows)),
            NOTNULL: (np.zeros(n, np.int64), present),
            PAD: (np.zeros(n, np.int64), np.full(n, self.n_rows)),
            NE: (np.zeros(n, np.int64), left),
        }.items():
            sel = ops == op
            lo1[sel], hi1[sel] = a[sel], b[sel]
        ne = ops == NE
        lo2[ne], hi2[ne] = right[ne], present[ne]
        # a comparison with a missing value is false (see _term_mask): no rows
        void = np.isnan(values) & ~np.isin(ops, (ISNULL, NOTNULL, PAD))
        lo1[void] = hi1[void] = lo2[void] = hi2[void] = 0
        return lo1, hi1, lo2, hi2


def _expand_runs(query_ids: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query id, position in sort order) for every position of every run."""
    lengths = np.maximum(hi - lo, 0)
    total = int(lengths.sum())
    owners = np.repeat(query_ids, lengths)
    starts = np.repeat(lo - np.cumsum(lengths) + lengths, lengths)
    return owners, starts + np.arange(total)


def _evaluate_by_candidates(indexed: _IndexedTable, queries: _Queries, *, keep_matches: bool = False):
    """Number of rows each query matches (and with ``keep_matches`` the sparse
    query × row match matrix).

    Every term's match count is exact from the sorted columns; each query's
    candidate rows are those of its most selective term (e.g. one postcode), and
    only those candidates are checked against the other terms. The work is
    proportional to the candidates, not to queries × rows.
    """
    n_queries, n_terms = queries.columns.shape
    lo1, hi1, lo2, hi2 = (
        a.reshape(n_queries, n_terms)
        for a in indexed.runs(queries.columns.ravel(), queries.ops.ravel(), queries.values.ravel())
    )
    sizes = (hi1 - lo1) + np.maximum(hi2 - lo2, 0)
    term_order = np.argsort(sizes, axis=1, kind="stable")
    best = term_order[:, 0]
    counts = np.zeros(n_queries, dtype=np.int64)
    matched_queries, matched_rows = [], []
    # blocks of queries whose candidates total about BLOCK_CELLS pairs
    best_sizes = sizes[np.arange(n_queries), best] if n_terms else np.zeros(n_queries, np.int64)
    cumulative = np.cumsum(best_sizes)
    start = 0
    while start < n_queries:
        done = cumulative[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(cumulative, done + BLOCK_CELLS, side="right")))
        ids = np.arange(start, stop)
        b = best[ids]
        first_cols = queries.columns[ids, b]
        owners_1, positions_1 = _expand_runs(ids, lo1[ids, b], hi1[ids, b])
        owners_2, positions_2 = _expand_runs(ids, lo2[ids, b], hi2[ids, b])
        owners = np.concatenate([owners_1, owners_2])
        positions = np.concatenate([positions_1, positions_2])
        rows = indexed.order[first_cols[owners - start], positions]
        flat_table = indexed.table.ravel()
        # remaining terms, most selective first; pairs that fail are dropped at once
        for rank in range(1, n_terms):
            term = term_order[owners, rank]
            ops_k = queries.ops[owners, term]
            cells = queries.columns[owners, term] * indexed.n_rows + rows
            vals_k = queries.values[owners, term]
            ok = np.ones(len(owners), dtype=bool)
            for op in np.flatnonzero(np.bincount(ops_k, minlength=NOTNULL + 1)):
                if op == PAD:
                    continue
                sel = np.flatnonzero(ops_k == op)
                ok[sel] = _term_mask(flat_table[cells[sel]], int(op), vals_k[sel])
            owners, rows = owners[ok], rows[ok]
        counts[start:stop] = np.bincount(owners - start, minlength=stop - start)
        if keep_matches:
            matched_queries.append(owners)
            matched_rows.append(rows)
        start = stop
    if keep_matches:
        q = np.concatenate(matched_queries) if matched_queries else np.empty(0, np.int64)
        r = np.concatenate(matched_rows) if matched_rows else np.empty(0, np.int64)
        matches = sparse.csr_matrix((np.ones(len(q)), (q, r)), shape=(n_queries, indexed.n_rows))
        return counts, matches
    return counts


# A query whose most selective predicate still leaves more than this share of the
# rows is cheaper to test densely (one broadcast comparison per predicate over all
# rows) than pair by pair (a dozen gathers per candidate row).
_DENSE_SHARE = 0.05


def _evaluate_dense(indexed: _IndexedTable, queries: _Queries, *, keep_matches: bool = False):
    """Match counts by testing every query against every row, in blocks, grouped
    by (predicate position, column, operator) so each test is one broadcast."""
    table, n_rows = indexed.table, indexed.n_rows
    counts = np.zeros(len(queries), dtype=np.int64)
    matched_queries, matched_rows = [], []
    step = max(1, BLOCK_CELLS // max(n_rows, 1))
    for start in range(0, len(queries), step):
        stop = min(start + step, len(queries))
        mask = np.ones((stop - start, n_rows), dtype=bool)
        for t in range(queries.columns.shape[1]):
            kinds = queries.columns[start:stop, t] * 16 + queries.ops[start:stop, t]
            values = queries.values[start:stop, t]
            for kind in np.unique(kinds):
                op = int(kind % 16)
                if op == PAD:
                    continue
                rows = np.flatnonzero(kinds == kind)
                mask[rows] &= _term_mask(table[int(kind // 16)][None, :], op, values[rows][:, None])
        counts[start:stop] = mask.sum(axis=1)
        if keep_matches:
            q, r = np.nonzero(mask)
            matched_queries.append(q + start)
            matched_rows.append(r)
    if keep_matches:
        q = np.concatenate(matched_queries) if matched_queries else np.empty(0, np.int64)
        r = np.concatenate(matched_rows) if matched_rows else np.empty(0, np.int64)
        return counts, sparse.csr_matrix((np.ones(len(q)), (q, r)), shape=(len(queries), n_rows))
    return counts


def _evaluate_bits(indexed: _IndexedTable, queries: _Queries, runs) -> np.ndarray:
    """Match counts from the prefix bitsets: each predicate's rows are two XORs
    of precomputed bitsets, a query's rows the AND of its predicates', and the
    count a popcount. Exact, like the other evaluations."""
    n_queries, n_terms = queries.columns.shape
    lo1, hi1, lo2, hi2 = (a.reshape(n_queries, n_terms) for a in runs)
    words = (indexed.n_rows + 63) // 64
    counts = np.zeros(n_queries, dtype=np.int64)
    step = max(1, BLOCK_CELLS // (8 * words))
    for start in range(0, n_queries, step):
        stop = min(start + step, n_queries)
        rows: np.ndarray | None = None
        for t in range(n_terms):
            columns = queries.columns[start:stop, t]
            term = np.empty((stop - start, words), dtype=np.uint64)
            for j in np.unique(columns):
                sel = np.flatnonzero(columns == j)
                bits = indexed.bits(j)
                assert bits is not None  # the caller checked every queried column has its bitsets
                bounds, prefix = bits
                at = [np.searchsorted(bounds, a[start:stop, t][sel]) for a in (lo1, hi1, lo2, hi2)]
                term[sel] = (prefix[at[1]] ^ prefix[at[0]]) | (prefix[at[3]] ^ prefix[at[2]])
            rows = term if rows is None else np.bitwise_and(rows, term, out=rows)
        assert rows is not None  # every query has at least one term
        counts[start:stop] = _POPCOUNT[rows.view(np.uint8)].sum(axis=1, dtype=np.int64)
    return counts


def _evaluate(indexed: _IndexedTable, queries: _Queries, *, keep_matches: bool = False):
    """Number of rows of the table each query matches, and with ``keep_matches``
    the sparse (query × row) match matrix. Selective queries are checked on their
    candidate rows only, unselective ones densely."""
    n_queries, n_terms = queries.columns.shape
    if n_queries == 0 or indexed.n_rows == 0:
        counts = np.zeros(n_queries, dtype=np.int64)
        return (counts, sparse.csr_matrix((n_queries, indexed.n_rows))) if keep_matches else counts
    runs = indexed.runs(queries.columns.ravel(), queries.ops.ravel(), queries.values.ravel())
    if not keep_matches and all(indexed.bits(j) is not None for j in np.unique(queries.columns)):
        return _evaluate_bits(indexed, queries, runs)
    lo1, hi1, lo2, hi2 = runs
    sizes = ((hi1 - lo1) + np.maximum(hi2 - lo2, 0)).reshape(n_queries, n_terms)
    dense = sizes.min(axis=1) > _DENSE_SHARE * indexed.n_rows
    counts = np.zeros(n_queries, dtype=np.int64)
    parts = []
    for selected, evaluate in ((~dense, _evaluate_by_candidates), (dense, _evaluate_dense)):
        ids = np.flatnonzero(selected)
        if not len(ids):
            continue
        result = evaluate(indexed, queries.subset(ids), keep_matches=keep_matches)
        part_counts, part_matches = result if keep_matches else (result, None)
        counts[ids] = part_counts
        if keep_matches:
            assert part_matches is not None
            coo = part_matches.tocoo()
            parts.append((ids[coo.row], coo.col))
    if keep_matches:
        q = np.concatenate([p[0] for p in parts])
        r = np.concatenate([p[1] for p in parts])
        return counts, sparse.csr_matrix((np.ones(len(q)), (q, r)), shape=(n_queries, indexed.n_rows))
    return counts


def _encode(tables: Sequence[pd.DataFrame], columns: Sequence[str]) -> tuple[list[np.ndarray], np.ndarray, list]:
    """Each table as a float matrix (columns × rows) in one shared coding:
    ordered columns by value, categorical ones by a code shared across the
    tables; NaN is missing. Also returns which columns are ordered and, per
    column, how to turn an encoded value back into a literal of a query."""
    encoded = [np.empty((len(columns), len(t))) for t in tables]
    ordered = np.zeros(len(columns), dtype=bool)
    literals = []
    for j, column in enumerate(columns):
        series = [t[column] for t in tables]
        if all(is_ordered(s) for s in series):
            ordered[j] = True
            for out, s in zip(encoded, series, strict=True):
                out[j] = to_float(s)
            literals.append(_ordered_literal(series[0]))
        else:
            combined = pd.concat([s.astype(object) for s in series], ignore_index=True)
            codes, uniques = pd.factorize(combined, use_na_sentinel=True)
            literals.append(lambda v, uniques=uniques: repr(_plain(uniques[int(v)])))
            codes = codes.astype(np.float64)
            codes[codes < 0] = np.nan
            start = 0
            for out, s in zip(encoded, series, strict=True):
                out[j] = codes[start : start + len(s)]
                start += len(s)
    return encoded, ordered, literals


def _plain(value):
    """A numpy scalar as the Python value it stands for (for readable queries)."""
    return value.item() if isinstance(value, np.generic) else value


def _ordered_literal(series: pd.Series):
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return lambda v: repr(str(pd.Timestamp(int(v), tz=getattr(series.dtype, "tz", None))))
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        return lambda v: repr(str(pd.Timedelta(int(v))))
    return lambda v: repr(int(v)) if float(v).is_integer() and abs(v) < 2**53 else repr(float(v))


_QUERY_OPS = {EQ: "==", NE: "!=", LT: "<", LE: "<=", GT: ">", GE: ">="}


def _query_text(queries: _Queries, q: int, columns: Sequence[str], literals) -> str:
    """Query ``q`` in ``DataFrame.query`` syntax, e.g. ``age >= 87 and sex == 'F'``
    with every column name in backquotes."""
    terms = []
    for j, op, v in zip(queries.columns[q], queries.ops[q], queries.values[q], strict=True):
        name = "`" + str(columns[j]).replace("`", "") + "`"
        if op == PAD:
            continue
        if op == ISNULL:
            terms.append(f"{name}.isna()")
        elif op == NOTNULL:
            terms.append(f"{name}.notna()")
        else:
            terms.append(f"{name} {_QUERY_OPS[int(op)]} {literals[j](v)}")
    return " and ".join(terms)


def _univariate_queries(release: np.ndarray, ordered: np.ndarray, rng) -> _Queries:
    """anonymeter's univariate attack: ``col IS NULL`` when one value is missing,
    ``col <= min`` and ``col >= max`` for ordered columns, ``col == v`` for each
    value v held by a single record — kept when they single out in the release.
    Their match counts follow from value counts, so nothing is scanned row by row."""
    columns, ops, values = [], [], []
    for j in range(release.shape[0]):
        x = release[j]
        present = x[~np.isnan(x)]
        if np.isnan(x).sum() == 1:
            columns.append(j)
            ops.append(ISNULL)
            values.append(np.nan)
        distinct, counts = np.unique(present, return_counts=True)
        if ordered[j] and len(distinct):
            if counts[0] == 1:
                columns.append(j)
                ops.append(LE)
                values.append(distinct[0])
            if counts[-1] == 1:
                columns.append(j)
                ops.append(GE)
                values.append(distinct[-1])
        rare = distinct[counts == 1]
        columns.extend([j] * len(rare))
        ops.extend([EQ] * len(rare))
        values.extend(rare.tolist())
    order = rng.permutation(len(columns))
    return _Queries(
        np.asarray(columns, dtype=np.int64)[order][:, None],
        np.asarray(ops, dtype=np.int8)[order][:, None],
        np.asarray(values, dtype=np.float64)[order][:, None],
    )


def _random_column_sets(n_queries: int, n_columns: int, n_cols: int, rng) -> np.ndarray:
    chosen = np.argsort(rng.random((n_queries, n_columns)), axis=1)[:, :n_cols]
    return np.sort(chosen, axis=1)


def _multivariate_queries(
    indexed: _IndexedTable, ordered: np.ndarray, n_queries: int, n_cols: int, max_attempts: int, rng
) -> tuple[_Queries, int]:
    """anonymeter's multivariate attack: take a random release record and
    ``n_cols`` random columns; each term is ``col == value`` for categorical
    columns, ``col >= value`` for ordered values above the column's median and
    ``col <= value`` otherwise (``col IS NULL`` for a missing value). Queries that
    single out in the release are kept, without duplicates, until ``n_queries``
    are found or ``max_attempts`` records have been tried."""
    release = indexed.table
    n_columns, n_rows = release.shape
    with np.errstate(all="ignore"):
        medians = np.array([np.nanmedian(release[j]) if ordered[j] and not np.isnan(release[j]).all() else np.nan for j in range(n_columns)])
    found = _Queries.empty(n_cols)
    seen: set[bytes] = set()
    attempts = 0
    while len(found) < n_queries and attempts < max_attempts:
        # The first batch measures how often a random query singles out; later batches are
        # sized to finish in one more pass, which keeps the number of passes small.
        batch = _GENERATION_BATCH
        if attempts:
            rate = max(len(found), 1) / attempts
            batch = int(min(1.25 * (n_queries - len(found)) / rate + 100, 20 * _GENERATION_BATCH))
        batch = min(batch, max_attempts - attempts)
        attempts += batch
        records = rng.integers(0, n_rows, size=batch)
        cols = _random_column_sets(batch, n_columns, n_cols, rng)
        vals = release[cols, records[:, None]]
        ops = np.where(ordered[cols] & (vals > medians[cols]), GE, np.where(ordered[cols], LE, EQ)).astype(np.int8)
        ops[np.isnan(vals)] = ISNULL
        candidates = _Queries(cols, ops, vals)
        singles = np.flatnonzero(_evaluate(indexed, candidates) == 1)
        keep = []
        for q in singles:
            key = cols[q].tobytes() + ops[q].tobytes() + np.nan_to_num(vals[q], nan=np.inf).tobytes()
            if key not in seen:
                seen.add(key)
                keep.append(q)
                if len(found) + len(keep) >= n_queries:
                    break
        found = found.concat(candidates.subset(keep))
    return found, attempts


def _random_queries(release: np.ndarray, ordered: np.ndarray, n_queries: int, n_cols: int, rng) -> _Queries:
    """anonymeter's baseline: ``n_cols`` random columns, each compared with a
    random value the column takes in the release through a random operator
    (== or != for categorical columns, any comparison for ordered ones; a missing
    value gives IS NULL or IS NOT NULL)."""
    n_columns = release.shape[0]
    cols = _random_column_sets(n_queries, n_columns, n_cols, rng)
    uniques = [np.unique(release[j]) for j in range(n_columns)]  # NaN, if any, collapses to one value
    n_unique = np.array([len(u) for u in uniques])
    offsets = np.concatenate([[0], np.cumsum(n_unique)[:-1]])
    pooled = np.concatenate(uniques) if uniques else np.empty(0)
    picks = np.minimum((rng.random(cols.shape) * n_unique[cols]).astype(np.int64), n_unique[cols] - 1)
    vals = pooled[offsets[cols] + picks]
    n_ops = np.where(ordered[cols], len(_ORDERED_RANDOM_OPS), len(_CATEGORICAL_RANDOM_OPS))
    which = (rng.random(cols.shape) * n_ops).astype(np.int64)
    ops = np.where(ordered[cols], _ORDERED_RANDOM_OPS[np.minimum(which, len(_ORDERED_RANDOM_OPS) - 1)],
                   _CATEGORICAL_RANDOM_OPS[np.minimum(which, len(_CATEGORICAL_RANDOM_OPS) - 1)]).astype(np.int8)
    missing = np.isnan(vals)
    ops[missing & (ops == EQ)] = ISNULL
    ops[missing & (ops != ISNULL)] = NOTNULL
    return _Queries(cols, ops, vals)


def _singling_out_probability_integral(n, w_min, w_max):
    """∫ n w (1 − w)^(n−1) dw over [w_min, w_max] (Cohen & Nissim 2020)."""
    return ((n * w_min + 1) * (1 - w_min) ** n - (n * w_max + 1) * (1 - w_max) ** n) / (n + 1)


def _size_correction(matches: sparse.csr_matrix, n_control: int, n_original: int, rng) -> float:
    """Factor turning the control success count at the control's size into the
    count expected at the original's size, as anonymeter fits it: success counts
    on random subsets of the control (10 sizes × 5 draws) are fitted with
    ``norm · ∫₀^w n w (1 − w)^(n−1) dw`` and the fit evaluated at both sizes."""
    sizes, successes = [], []
    for size in np.linspace(min(1000, n_control), n_control, 10).astype(int):
        for _ in range(5):
            chosen = np.zeros(n_control)
            chosen[rng.choice(n_control, size, replace=False)] = 1.0
            successes.append(int(np.sum(matches @ chosen == 1)))
            sizes.append(size)
    sizes_arr, successes_arr = np.asarray(sizes, dtype=float), np.asarray(successes, dtype=float)

    def model(n, w_eff, norm):
        return norm * _singling_out_probability_integral(n, 0.0, w_eff)

    w_guess = 1 / sizes_arr.max()
    norm_guess = 1 / _singling_out_probability_integral(sizes_arr.max(), 0.0, w_guess)
    (w_eff, norm), _ = optimize.curve_fit(
        model, sizes_arr, successes_arr, p0=(w_guess, norm_guess), bounds=(0, (1, np.inf))
    )
    return float(model(n_original, w_eff, norm) / model(n_control, w_eff, norm))


def singling_out_risk(
    original: pd.DataFrame,
    release: pd.DataFrame,
    control: pd.DataFrame | None,
    *,
    n_attacks: int = 500,
    mode: str = "multivariate",
    n_cols: int = 3,
    columns: Sequence[str] | None = None,
    max_attempts: int | None = None,
    seed: int | None = None,
    confidence: float = 0.95,
    rate_denominator: str = "queries",
    rate_estimate: str = "observed",
    column_types: Mapping[str, str] | None = None,
) -> PrivacyRisk:
    """Singling-out risk of a release, as anonymeter's ``SinglingOutEvaluator``.

    Attack (Giomi et al. 2023, "A unified framework for quantifying privacy risk
    in synthetic data", PoPETs; anonymeter): up to ``n_attacks`` distinct
    queries that single out a record *of the release* are built from it —
    ``mode="univariate"``: one predicate on a rare value or an extreme;
    ``mode="multivariate"``: ``n_cols`` predicates read off a random release
    record (see :func:`_multivariate_queries`). Each query then succeeds if it
    singles out a record of ``original``.

    * control rate: the same queries singling out a record of ``control``; when
      the control and original differ in size, the count is rescaled to the
      original's size with anonymeter's fitted correction (Cohen & Nissim's
      singling-out probability); the rescaled count may be fractional;
    * baseline rate: ``n_attacks`` random queries (random columns, values and
      operators) singling out a record of ``original``;
    * risk: ``(attack − control) / (1 − control)`` with its CI, normalised as in
      anonymeter (see :func:`normalised_risk`).

    Tables are deduplicated first, as anonymeter does. ``columns`` defaults to
    the original's columns. Numeric and date columns take ordered predicates,
    others equality; missing values are matched only by ``IS NULL``.

    With ``control=None`` the risk is the attack rate's Wilson centre and
    interval (anonymeter without a control); when every control query succeeds
    the risk has no value (NaN, with ``reason``). ``queries`` in the result
    lists the attack's queries that singled out a record of ``original``, in
    ``DataFrame.query`` syntax. ``rate_estimate="wilson_center"`` reports
    anonymeter's point estimate of the rates instead of ``x / n``.

    Difference from anonymeter 1.x: when fewer distinct singling-out queries
    exist than requested, anonymeter still divides by ``n_attacks`` (silently
    lowering the rates: 4 successes of 4 queries built out of 10 requested is
    0.4 there); here the rates are over the queries actually built (1.0),
    ``n_attacks`` in the result says how many, and ``warnings`` says so.
    ``rate_denominator="requested"`` divides by ``n_attacks`` as anonymeter does.
    ``max_attempts`` (default ``100 · n_attacks``; anonymeter's is 10⁷) caps
    the records tried in multivariate mode.
    """
    if mode not in ("univariate", "multivariate"):
        raise ValueError(f"mode must be 'univariate' or 'multivariate', got {mode!r}")
    if n_attacks is None or n_attacks < 1:
        raise ValueError(f"n_attacks must be a positive number of queries, got {n_attacks}")
    if rate_denominator not in ("queries", "requested"):
        raise ValueError(f"rate_denominator must be 'queries' or 'requested', got {rate_denominator!r}")
    columns = list(original.columns) if columns is None else list(columns)
    check_tables(original, release, control, columns)
    original, release, control = typed_tables((original, release, control), column_types)
    rng = np.random.default_rng(seed)
    warnings: list[str] = []
    # without a control, the original stands in for it in the shared coding; no
    # control rate is computed from it
    tables = [t[columns].drop_duplicates() for t in (release, original, original if control is None else control)]
    (release_x, original_x, control_x), ordered, literals = _encode(tables, columns)
    release_ix, original_ix, control_ix = (_IndexedTable(x) for x in (release_x, original_x, control_x))

    if mode == "univariate":
        queries = _univariate_queries(release_x, ordered, rng).subset(slice(0, n_attacks))
        baseline_cols = 1
    else:
        if n_cols > len(columns):
            warnings.append(f"n_cols={n_cols} exceeds the {len(columns)} columns; using {len(columns)}")
        n_cols = min(n_cols, len(columns))
        if n_cols < 1:
            raise ValueError(f"n_cols must be positive, got {n_cols}")
        attempts_cap = max_attempts if max_attempts is not None else 100 * n_attacks
        queries, attempts = _multivariate_queries(release_ix, ordered, n_attacks, n_cols, attempts_cap, rng)
        baseline_cols = n_cols
    denominator = len(queries) if rate_denominator == "queries" else n_attacks
    if len(queries) < n_attacks:
        warnings.append(
            f"only {len(queries)} distinct {mode} singling-out queries could be built from the release "
            f"(requested {n_attacks}); attack and control rates are over {denominator} queries"
        )

    attack_counts = _evaluate(original_ix, queries)
    attack_successes = int(np.sum(attack_counts == 1))
    succeeded = tuple(_query_text(queries, q, columns, literals) for q in np.flatnonzero(attack_counts == 1))
    n_original, n_control = original_x.shape[1], control_x.shape[1]
    control_successes: float | None
    if control is None:
        control_successes = None
    elif len(queries) and n_control != n_original:
        control_counts, matches = _evaluate(control_ix, queries, keep_matches=True)
        control_successes = float(np.sum(control_counts == 1))
        try:
            control_successes *= _size_correction(matches, n_control, n_original, rng)
        except (RuntimeError, ValueError, ZeroDivisionError, FloatingPointError) as error:
            warnings.append(f"control size correction failed ({error}); control rate not rescaled")
        if not np.isfinite(control_successes):
            warnings.append("control size correction was not finite; control rate not rescaled")
            control_successes = float(np.sum(control_counts == 1))
        if control_successes > len(queries):
            warnings.append("size-corrected control successes exceeded the number of queries; capped")
            control_successes = float(len(queries))
    else:
        control_successes = int(np.sum(_evaluate(control_ix, queries) == 1))

    baseline = _random_queries(release_x, ordered, n_attacks, baseline_cols, rng)
    baseline_successes = int(np.sum(_evaluate(original_ix, baseline) == 1))
    return build_risk(
        SuccessRate.from_counts(attack_successes, denominator, confidence, rate_estimate),
        None if control_successes is None else SuccessRate.from_counts(control_successes, denominator, confidence, rate_estimate),
        SuccessRate.from_counts(baseline_successes, n_attacks, confidence, rate_estimate),
        confidence,
        warnings,
        queries=succeeded,
    )
