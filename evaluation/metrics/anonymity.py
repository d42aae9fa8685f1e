"""Syntactic privacy models: k-anonymity, (α,k)-anonymity, l-diversity (distinct,
entropy, recursive (c,l)), β-likeness, δ-disclosure privacy and t-closeness.

All are computed over the *equivalence classes* of a table: the groups of
records that share the same values of every quasi-identifier. By default a
missing value is a value of its own (a suppressed cell is as good as ``*``);
pycanon instead drops records with a missing quasi-identifier from every class
(pandas ``groupby``'s default): ``missing="drop"`` does the same.

The values equal those of pycanon 1.0 (Sáinz-Pardo Díaz & López García 2022,
"A Python library to check the level of anonymity of a dataset", Scientific Data
9:785) on the same input — the peer suite checks it on pycanon's own data — but
are computed with vectorised group counts instead of one pass over the table per
class. Where a definition here departs from pycanon's, a parameter reproduces
pycanon's (see each function and ``docs/metrics.md``).

``sensitive`` may be one column or several; with several, the result is the
strictest over the columns (pycanon's ``gen=True``): the smallest l, the largest
α, β, δ and t. ``others_as_quasi_identifiers=True`` is pycanon's ``gen=False``:
each sensitive column is judged in classes formed over the quasi-identifiers
and the *other* sensitive columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse

from ._columns import apply_column_types, as_column_list, check_columns, factorize, group_codes, is_ordered, to_float
from .hierarchy import Hierarchy, hierarchy_read

__all__ = [
    "AlphaKAnonymity",
    "RecursiveDiversity",
    "alpha_k_anonymity",
    "basic_beta_likeness",
    "delta_disclosure",
    "enhanced_beta_likeness",
    "entropy_l_diversity",
    "k_anonymity",
    "l_diversity",
    "recursive_c_l_diversity",
    "t_closeness",
]

_MISSING = ("value", "drop")


class AlphaKAnonymity(NamedTuple):
    """(α,k)-anonymity of a table: ``alpha`` the largest share of one sensitive
    value within a class, ``k`` the smallest class."""

    alpha: float
    k: int


class RecursiveDiversity(NamedTuple):
    """Recursive (c,l)-diversity of a table: the smallest integer ``c`` for the
    given ``l``. ``c`` is NaN when no c exists, with the reason in ``reason``."""

    c: float
    l: int  # noqa: E741 (the model's name)
    reason: str | None = None


def _prepare(df: pd.DataFrame, quasi_identifiers, sensitive=None, column_types=None, missing="value"):
    qis = as_column_list(quasi_identifiers)
    check_columns(df, qis, "table (quasi-identifiers)")
    sensitive_columns = None
    if sensitive is not None:
        sensitive_columns = as_column_list(sensitive)
        check_columns(df, sensitive_columns, "table (sensitive attributes)")
    if missing not in _MISSING:
        raise ValueError(f"missing must be one of {_MISSING}, got {missing!r}")
    df = apply_column_types(df, column_types)
    if missing == "drop":
        df = df.dropna(subset=qis)
    if len(df) == 0:
        raise ValueError(
            "the table is empty: no equivalence classes"
            + (" (every row has a missing quasi-identifier)" if missing == "drop" else "")
        )
    return df, qis, sensitive_columns


def _per_sensitive(df, qis, sensitive_columns, others_as_quasi_identifiers):
    """``(column, classes, n_classes)`` for every sensitive column: classes over
    the quasi-identifiers, or with ``others_as_quasi_identifiers`` over the
    quasi-identifiers and the other sensitive columns (pycanon's ``gen=False``)."""
    shared = None
    for column in sensitive_columns:
        if others_as_quasi_identifiers and len(sensitive_columns) > 1:
            classes, n_classes = group_codes(df, qis + [c for c in sensitive_columns if c != column])
        else:
            if shared is None:
                shared = group_codes(df, qis)
            classes, n_classes = shared
        yield column, classes, n_classes


def _pair_counts(classes: np.ndarray, values: np.ndarray, n_values: int):
    """Counts of every (class, value) pair present in the table."""
    pair_key = classes * n_values + values
    unique_keys, counts = np.unique(pair_key, return_counts=True)
    return unique_keys // n_values, unique_keys % n_values, counts


def _sorted_codes(series: pd.Series) -> tuple[np.ndarray, int]:
    """Codes numbered in sorted value order (as ``np.unique`` numbers them) where
    the values sort, else in order of appearance; missing is a value. Only the
    distinct values are sorted, so this costs one hash pass over the column."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if (codes >= 0).all():
        try:
            order = np.argsort(np.asarray(uniques), kind="stable")
        except TypeError:  # values of mixed types do not sort
            order = None
        if order is not None:
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            return rank[codes], len(order)
    return factorize(series, na_as_value=True)


def k_anonymity(
    df: pd.DataFrame,
    quasi_identifiers: str | Sequence[str],
    *,
    column_types: Mapping[str, str] | None = None,
    missing: str = "value",
) -> int:
    """k of k-anonymity: the size of the smallest equivalence class.

    Definition: a table is k-anonymous when every combination of
    quasi-identifier values it contains is shared by at least k records
    (Samarati & Sweeney 1998; Sweeney 2002, "k-anonymity: a model for protecting
    privacy", IJUFKS 10(5)). Reference implementation: ``pycanon.anonymity.k_anonymity``.
    ``missing="drop"`` leaves out rows with a missing quasi-identifier, as pycanon does.
    """
    df, qis, _ = _prepare(df, quasi_identifiers, None, column_types, missing)
    classes, n_classes = group_codes(df, qis)
    return int(np.bincount(classes, minlength=n_classes).min())


def alpha_k_anonymity(
    df: pd.DataFrame,
    quasi_identifiers: str | Sequence[str],
    sensitive: str | Sequence[str],
    *,
    column_types: Mapping[str, str] | None = None,
    missing: str = "value",
    others_as_quasi_identifiers: bool = False,
) -> AlphaKAnonymity:
    """(α,k)-anonymity: ``k`` as :func:`k_anonymity` and ``α`` the largest share
    any one sensitive value takes within a class.

    Definition: Wong, Li, Fu & Wang 2006, "(α,k)-anonymity: an enhanced
    k-anonymity model for privacy-preserving data publishing", KDD — a table
    is (α,k)-anonymous when it is k-anonymous and in every class every
    sensitive value has relative frequency ≤ α. Reference implementation:
    ``pycanon.anonymity.alpha_k_anonymity`` (returns ``(alpha, k)``).
    """
    df, qis, sensitive_columns = _prepare(df, quasi_identifiers, sensitive, column_types, missing)
    classes, n_classes = group_codes(df, qis)
    k = int(np.bincount(classes, minlength=n_classes).min())
    alpha = 0.0
    for column, classes, n_classes in _per_sensitive(df, qis, sensitive_columns, others_as_quasi_identifiers):
        values, n_values = factorize(df[column], na_as_value=True)
        class_sizes = np.bincount(classes, minlength=n_classes)
        pair_classes, _, counts = _pair_counts(classes, values, n_values)
        alpha = max(alpha, float((counts / class_sizes[pair_classes]).max()))
    return AlphaKAnonymity(alpha, k)


def l_diversity(
    df: pd.DataFrame,
    quasi_identifiers: str | Sequence[str],
    sensitive: str | Sequence[str],
    *,
    column_types: Mapping[str, str] | None = None,
    missing: str = "value",
    others_as_quasi_identifiers: bool = False,
) -> int:
    """l of (distinct) l-diversity: the smallest number of distinct sensitive
    values within an equivalence class.

    Definition: Machanavajjhala et al. 2007, "l-diversity: Privacy beyond
    k-anonymity", ACM TKDD 1(1), distinct l-diversity. Reference implementation:
    ``pycanon.anonymity.l_diversity``. A missing sensitive value counts as one value.
    """
    df, qis, sensitive_columns = _prepare(df, quasi_identifiers, sensitive, column_types, missing)
    if not sensitive_columns:
        raise ValueError("l-diversity needs at least one sensitive attribute")
    distinct: list[int] = []
    for column, classes, n_classes in _per_sensitive(df, qis, sensitive_columns, others_as_quasi_identifiers):
        values, n_values = factorize(df[column], na_as_value=True)
        pair_classes, _, _ = _pair_counts(classes, values, n_values)
        distinct.append(int(np.bincount(pair_classes, minlength=n_classes).min()))
    return min(distinct)


_ROUNDING = ("snap", "truncate", "none")


def _class_entropy_like_pycanon(counts: np.ndarray) -> float:
    """One class's entropy summed exactly as pycanon sums it: shares in sorted
    value order, ``-np.sum(p * np.log(p))``."""
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p)))


def entropy_l_diversity(
    df: pd.DataFrame,
    quasi_identifiers: str | Sequence[str],
    sensitive: str | Sequence[str],
    *,
    rounding: str = "snap",
    column_types: Mapping[str, str] | None = None,
    missing: str = "value",
    others_as_quasi_identifiers: bool = False,
) -> float:
    """l of entropy l-diversity: ``exp(min over classes of H(class))`` with
    ``H = −Σ_s p(s) ln p(s)`` the entropy of the sensitive values in the class.

    Definition: Machanavajjhala et al. 2007 (ACM TKDD 1(1)), entropy
    l-diversity — a table is entropy l-diverse when every class has
    ``H ≥ ln l``. The value returned is the largest such l, a real number.

    ``rounding``:

    * ``"snap"`` (default): snapped to an integer when within 1e-9 of one, so a
      class spread evenly over 7 values gives exactly 7 (``exp(ln 7)`` is
      computed as 6.999999999999998);
    * ``"truncate"``: the integer part, computed exactly as
      ``pycanon.anonymity.entropy_l_diversity`` does (``int(e ** H)``, shares
      summed in pycanon's order), which reports 6 for that class;
    * ``"none"``: the real number as computed.
    """
    if rounding not in _ROUNDING:
        raise ValueError(f"rounding must be one of {_ROUNDING}, got {rounding!r}")
    df, qis, sensitive_columns = _prepare(df, quasi_identifiers, sensitive, column_types, missing)
    per_column = []  # per sensitive column: the entropy of every class
    for column, classes, n_classes in _per_sensitive(df, qis, sensitive_columns, others_as_quasi_identifiers):
        class_sizes = np.bincount(classes, minlength=n_classes).astype(np.float64)
        if rounding == "truncate":
            values, n_values = _sorted_codes(df[column])
        else:
            values, n_values = factorize(df[column], na_as_value=True)
        pair_classes, _, counts = _pair_counts(classes, values, n_values)
        p = counts / class_sizes[pair_classes]
        entropy = -np.bincount(pair_classes, weights=p * np.log(p), minlength=n_classes)
        if rounding == "truncate":
            # the classes whose e**H lies near an integer decide the truncation: recompute
            # those exactly in pycanon's summation order. bincount adds a class's terms one
            # by one in value order, which is np.sum's order below 8 terms (from 8 on it
            # sums in 8 interleaved lanes), so only classes with 8 or more values differ.
            l_values = np.exp(1) ** entropy
            n_distinct = np.bincount(pair_classes, minlength=n_classes)
            near = np.flatnonzero(
                (np.abs(l_values - np.round(l_values)) <= 1e-6 * np.maximum(1.0, l_values)) & (n_distinct >= 8)
            )
            if len(near):
                starts = np.searchsorted(pair_classes, near, side="left")
                stops = np.searchsorted(pair_classes, near, side="right")
                for c, a, b in zip(near, starts, stops, strict=True):
                    entropy[c] = _class_entropy_like_pycanon(counts[a:b].astype(np.float64))
        per_column.append(entropy)
    if rounding == "truncate":
        # pycanon raises e to the power of an *array* (numpy's vectorised power, which
        # can differ from the scalar one in the last bit): of every class's lowest
        # entropy over the columns, or of every column's lowest over its classes
        if others_as_quasi_identifiers and len(per_column) > 1:
            exponents = np.array([e.min() for e in per_column])
        else:
            exponents = np.minimum.reduce(per_column)
        return float(int(np.min(np.exp(1) ** exponents)))
    lowest_entropy = float(min(e.min() for e in per_column))
    l_value = float(np.exp(max(lowest_entropy, 0.0)))
    if rounding == "none":
        return l_value
    # A class spread evenly over s values has l = s exactly; exp(ln s) can land a
    # few ulps below s, and truncating that (as pycanon does) would report s − 1.
    nearest = round(l_value)
    return float(nearest) if abs(l_value - nearest) <= 1e-9 * max(1.0, l_value) else l_value


_ORDERS = ("descending", "ascending")


def recursive_c_l_diversity(
    df: pd.DataFrame,
    quasi_identifiers: str | Sequence[str],
    sensitive: str | Sequence[str],
    *,
    l: int | None = None,  # noqa: E741 (the model's name)
    order: str = "descending",
    column_types: Mapping[str, str] | None = None,
    missing: str = "value",
    others_as_quasi_identifiers: bool = False,
) -> RecursiveDiversity:
    """Recursive (c,l)-diversity: the smallest integer c such that every class
    satisfies ``r_1 < c · (r_l + r_{l+1} + … + r_m)``, with ``r_1 ≥ r_2 ≥ … ≥ r_m``
    the counts of the class's sensitive values, i.e. ``c = max over classes of
    ⌊r_1 / (r_l + … + r_m)⌋ + 1``.

    Definition: Machanavajjhala et al. 2007 (ACM TKDD 1(1)), recursive
    (c,l)-diversity. ``l`` defaults to the table's distinct l (as pycanon's
    ``recursive_c_l_diversity``, which returns ``(c, l)``). No c exists when
    l = 1 (nothing is required of a class) or when a class holds fewer than l
    distinct values; ``c`` is then NaN with the reason.

    ``order="ascending"`` reproduces pycanon 1.0, which sorts the counts
    ascending, so that its ``r_1`` is the *least* frequent value and the tail the
    l−1 … m-th *smallest*; the default follows the definition.
    """
    if order not in _ORDERS:
        raise ValueError(f"order must be one of {_ORDERS}, got {order!r}")
    df, qis, sensitive_columns = _prepare(df, quasi_identifiers, sensitive, column_types, missing)
    table_l = l_diversity(df, qis, sensitive_columns, others_as_quasi_identifiers=others_as_quasi_identifiers)
    if l is None:
        l = table_l  # noqa: E741
    if l < 1:
        raise ValueError(f"l must be a positive integer, got {l}")
    if l == 1:
        return RecursiveDiversity(float("nan"), l, "l = 1: every class is (c,1)-diverse for no finite c to measure")
    if table_l < l:
        return RecursiveDiversity(
            float("nan"), l, f"a class holds only {table_l} distinct sensitive value(s), fewer than l = {l}"
        )
    c = 0
    for column, classes, n_classes in _per_sensitive(df, qis, sensitive_columns, others_as_quasi_identifiers):
        values, n_values = factorize(df[column], na_as_value=True)
        pair_classes, _, counts = _pair_counts(classes, values, n_values)
        sort_key = -counts if order == "descending" else counts
        ranked = np.lexsort((sort_key, pair_classes))
        pair_classes, counts = pair_classes[ranked], counts[ranked]
        first = np.searchsorted(pair_classes, np.arange(n_classes), side="left")
        rank = np.arange(len(pair_classes)) - first[pair_classes]
        tail = np.bincount(pair_classes, weights=np.where(rank >= l - 1, counts, 0), minlength=n_classes)
        top = counts[first].astype(np.float64)
        c = max(c, int(np.floor(top / tail + 1).max()))
    return RecursiveDiversity(float(c), l)


def _shares(df, column, classes, n_classes):
    """Global share ``p`` of every value and, for each (class, value) pair
    present, the pair's class and value and its share ``q`` within the class."""
    values, n_values = factorize(df[column], na_as_value=True)
    global_p = np.bincount(values, minlength=n_values) / len(values)
    class_sizes = np.bincount(classes, minlength=n_classes)
    pair_classes, pair_values, counts = _pair_counts(classes, values, n_values)
    q = counts / class_sizes[pair_classes]
    return global_p, pair_classes, pair_values, q


def basic_beta_likeness(
    df: pd.DataFrame,
    quasi_identifiers: str | Sequence[str],
    sensitive: str | Sequence[str],
    *,
    column_types: Mapping[str, str] | None = None,
    missing: str = "value",
    others_as_quasi_identifiers: bool = False,
) -> float:
    """β of basic β-likeness: the largest relative gain in confidence
    ``(q_s − p_s) / p_s`` about any sensitive value s that membership in a
    class gives, with ``p_s`` its share in the table and ``q_s`` in the class.

    Definition: Cao & Karras 2012, "Publishing microdata with a robust privacy
    guarantee", PVLDB 5(11), basic β-likeness. Reference implementation:
    ``pycanon.anonymity.basic_beta_likeness`` (same value).
    """
    return _beta_likeness(df, quasi_identifiers, sensitive, column_types, missing, others_as_quasi_identifiers, enhanced=False)


def enhanced_beta_likeness(
    df: pd.DataFrame,
    quasi_identifiers: str | Sequence[str],
    sensitive: str | Sequence[str],
    *,
    column_types: Mapping[str, str] | None = None,
    missing: str = "value",
    others_as_quasi_identifiers: bool = False,
) -> float:
    """β of enhanced β-likeness as pycanon 1.0 reports it:
    ``max_s min(β_basic, −ln p_s)``, i.e. ``min(β_basic, −ln min_s p_s)``.

    Definition: Cao & Karras 2012 (PVLDB 5(11)) bound the gain about a value
    s by ``min(β, −ln p_s)`` so that rare values are not over-protected; the
    number computed here is ``pycanon.anonymity.enhanced_beta_likeness``'s.
    """
    return _beta_likeness(df, quasi_identifiers, sensitive, column_types, missing, others_as_quasi_identifiers, enhanced=True)


def _beta_likeness(df, quasi_identifiers, sensitive, column_types, missing, others_as_quasi_identifiers, *, enhanced: bool) -> float:
    """Basic β, or with ``enhanced`` each value's gain capped at ``−ln p_s``; the
    strictest over the sensitive columns."""
    df, qis, sensitive_columns = _prepare(df, quasi_identifiers, sensitive, column_types, missing)
    beta = -np.inf
    for column, classes, n_classes in _per_sensitive(df, qis, sensitive_columns, others_as_quasi_identifiers):
        global_p, _, pair_values, q = _shares(df, column, classes, n_classes)
        p = global_p[pair_values]
        basic = float(((q - p) / p).max())
        beta = max(beta, float(np.max(np.minimum(basic, -np.log(global_p)))) if enhanced else basic)
    return beta


def delta_disclosure(
    df: pd.DataFrame,
    quasi_identifiers: str | Sequence[str],
    sensitive: str | Sequence[str],
    *,
    column_types: Mapping[str, str] | None = None,
    missing: str = "value",
    others_as_quasi_identifiers: bool = False,
) -> float:
    """δ of δ-disclosure privacy: ``max over classes and the values s present in
    the class of |ln(q_s / p_s)|``.

    Definition: Brickell & Shmatikov 2008, "The cost of privacy: destruction of
    data-mining utility in anonymized data publishing", KDD — a table is
    δ-disclosure-private when ``|ln(q_s / p_s)| < δ`` in every class for every
    value. Reference implementation: ``pycanon.anonymity.delta_disclosure``,
    which, like this function, skips the values absent from a class (for them
    the ratio is 0 and no finite δ exists).
    """
    df, qis, sensitive_columns = _prepare(df, quasi_identifiers, sensitive, column_types, missing)
    delta = 0.0
    for column, classes, n_classes in _per_sensitive(df, qis, sensitive_columns, others_as_quasi_identifiers):
        global_p, _, pair_values, q = _shares(df, column, classes, n_classes)
        delta = max(delta, float(np.abs(np.log(q / global_p[pair_values])).max()))
    return delta


def _ordered_emd(classes, n_classes, values, n_values, class_sizes) -> np.ndarray:
    """Ordered-distance EMD of every class, in O(n log m).

    For values sorted ``v_0 < … < v_{m−1}`` with global CDF ``P_i`` and class CDF
    ``Q_i``, ``EMD = Σ_i |Q_i − P_i| / (m − 1)`` (Li et al. 2007). ``Q`` is a step
    function that only changes at values present in the class, so the sum splits
    into runs of constant ``Q = c`` over which ``Σ |c − P_i|`` follows from prefix
    sums of the (non-decreasing) ``P`` and one binary search for where ``P``
    crosses ``c``.
    """
    m = n_values
    global_counts = np.bincount(values, minlength=m).astype(np.float64)
    cdf = np.cumsum(global_counts) / global_counts.sum()
    cdf_prefix = np.concatenate([[0.0], np.cumsum(cdf)])  # cdf_prefix[i] = Σ_{j<i} P_j

    pair_classes, pair_values, counts = _pair_counts(classes, values, m)  # sorted by class, then value
    class_cdf = counts / class_sizes[pair_classes]
    # cumulative within each class: global cumsum minus the cumsum before the class starts
    running = np.cumsum(class_cdf)
    first_of_class = np.r_[True, pair_classes[1:] != pair_classes[:-1]]
    class_start = np.maximum.accumulate(np.where(first_of_class, np.arange(len(running)), 0))
    offset = np.where(class_start > 0, running[class_start - 1], 0.0)
    q_level = running - offset
    last_of_class = np.r_[pair_classes[1:] != pair_classes[:-1], True]
    q_level[last_of_class] = 1.0  # exact, so the final run contributes exactly Σ |1 − P_i|
    run_start = pair_values
    run_stop = np.where(last_of_class, m, np.r_[pair_values[1:], m])

    def abs_sum(level, start, stop):
        # Σ_{i in [start, stop)} |level − P_i| with P non-decreasing
        split = np.clip(np.searchsorted(cdf, level, side="left"), start, stop)
        below = level * (split - start) - (cdf_prefix[split] - cdf_prefix[start])
        above = (cdf_prefix[stop] - cdf_prefix[split]) - level * (stop - split)
        return below + above

    totals = np.bincount(pair_classes, weights=abs_sum(q_level, run_start, run_stop), minlength=n_classes)
    # the run before the first value present in a class has Q = 0: Σ_{i < v_first} P_i
    first_values = pair_values[first_of_class]
    totals += cdf_prefix[first_values]
    return totals / (m - 1)


def _equal_emd(classes, n_classes, values, n_values, class_sizes) -> np.ndarray:
    """Equal-distance EMD: ``½ Σ_s |q_s − p_s|`` (total variation distance).

    Values absent from a class contribute ``p_s``, so
    ``EMD = ½ (Σ_present |q_s − p_s| + 1 − Σ_present p_s)``.
    """
    global_p = np.bincount(values, minlength=n_values) / len(values)
    pair_classes, pair_values, counts = _pair_counts(classes, values, n_values)
    q = counts / class_sizes[pair_classes]
    p = global_p[pair_values]
    present_diff = np.bincount(pair_classes, weights=np.abs(q - p), minlength=n_classes)
    present_p = np.bincount(pair_classes, weights=p, minlength=n_classes)
    return 0.5 * (present_diff + np.maximum(1.0 - present_p, 0.0))


def _hierarchical_emd(classes, n_classes, series: pd.Series, hierarchy, column: str) -> np.ndarray:
    """EMD of every class under the hierarchical ground distance (Li et al.
    2007): the distance between two leaves is ``level(lowest common ancestor) /
    H``. With ``extra(N)`` the class-minus-table mass below node N,
    ``EMD = Σ_N (level(N) / H) · min(Σ_{children C, extra>0} extra(C),
    Σ_{children C, extra<0} −extra(C))``."""
    checked = hierarchy_read(hierarchy, column)
    leaves, parents, sizes = checked.leaves, checked.parents, checked.sizes
    text = series.astype(str).where(series.notna(), None)
    unknown = sorted({v for v in text.dropna().unique() if v not in leaves} | ({"<missing>"} if text.isna().any() else set()))
    if unknown:
        raise ValueError(f"values of {column!r} missing from its hierarchy: {unknown[:10]}")
    leaf = text.map(leaves).to_numpy(dtype=np.int64)
    m, height = sizes[0], len(parents)
    global_p = np.bincount(leaf, minlength=m) / len(leaf)
    class_sizes = np.bincount(classes, minlength=n_classes).astype(np.float64)
    totals = np.zeros(n_classes)
    step = max(1, 2_000_000 // max(m, 1))
    for start in range(0, n_classes, step):
        stop = min(start + step, n_classes)
        rows = (classes >= start) & (classes < stop)
        q = np.zeros((stop - start, m))
        np.add.at(q, (classes[rows] - start, leaf[rows]), 1.0)
        extra = q / class_sizes[start:stop, None] - global_p[None, :]
        for h, parent in enumerate(parents, start=1):
            up = sparse.csr_matrix((np.ones(len(parent)), (np.arange(len(parent)), parent)), shape=(len(parent), sizes[h]))
            positive = np.asarray(np.clip(extra, 0, None) @ up)
            negative = np.asarray(np.clip(-extra, 0, None) @ up)
            totals[start:stop] += (h / height) * np.minimum(positive, negative).sum(axis=1)
            extra = positive - negative
    return totals


def t_closeness(
    df: pd.DataFrame,
    quasi_identifiers: str | Sequence[str],
    sensitive: str | Sequence[str],
    *,
    hierarchies: Mapping[str, Sequence[Sequence[object]] | pd.DataFrame | Hierarchy] | None = None,
    column_types: Mapping[str, str] | None = None,
    missing: str = "value",
    others_as_quasi_identifiers: bool = False,
) -> float:
    """t of t-closeness: the largest Earth Mover's Distance between the
    distribution of a sensitive attribute within an equivalence class and its
    distribution over the whole table.

    Definition: Li, Li & Venkatasubramanian 2007, "t-Closeness: Privacy beyond
    k-anonymity and l-diversity", ICDE. The ground distance is

    * *ordered distance* for numeric (and date) attributes: with the m distinct
      values sorted, ``EMD(P, Q) = 1/(m−1) · Σ_i |Σ_{j≤i} (q_j − p_j)|``;
    * *hierarchical distance* for a categorical attribute with a generalisation
      hierarchy in ``hierarchies`` (column → rows ``[value, generalisation 1, …,
      root]``, ARX's CSV layout): two values are ``level(lowest common
      ancestor) / height`` apart, and the EMD follows Li et al.'s closed form
      (see :func:`_hierarchical_emd`), as in ARX's hierarchical t-closeness;
    * *equal distance* for other categorical attributes: ``EMD = ½ Σ_s |q_s − p_s|``.

    Same definitions and dispatch as ``pycanon.anonymity.t_closeness`` for the
    ordered and equal distances (pycanon treats booleans as numeric as well, and
    has no hierarchical distance). A missing sensitive value is one more value,
    placed after the largest one for ordered attributes; with a hierarchy it
    must be one of the hierarchy's values. A sensitive attribute with a single
    value gives t = 0.
    """
    df, qis, sensitive_columns = _prepare(df, quasi_identifiers, sensitive, column_types, missing)
    hierarchies = dict(hierarchies or {})
    stray = [c for c in hierarchies if c not in sensitive_columns]
    if stray:
        raise ValueError(f"hierarchies given for {stray}, which are not sensitive columns {sensitive_columns}")
    worst = 0.0
    for column, classes, n_classes in _per_sensitive(df, qis, sensitive_columns, others_as_quasi_identifiers):
        class_sizes = np.bincount(classes, minlength=n_classes).astype(np.float64)
        series = df[column]
        if column in hierarchies:
            worst = max(worst, float(_hierarchical_emd(classes, n_classes, series, hierarchies[column], column).max()))
            continue
        ordered = is_ordered(series) or pd.api.types.is_bool_dtype(series.dtype)
        if ordered:
            raw = to_float(series.astype(np.float64) if pd.api.types.is_bool_dtype(series.dtype) else series)
            distinct = np.unique(raw[~np.isnan(raw)])
            values = np.searchsorted(distinct, raw).astype(np.int64)
            values[np.isnan(raw)] = len(distinct)
            n_values = len(distinct) + int(np.isnan(raw).any())
        else:
            values, n_values = factorize(series, na_as_value=True)
        if n_values <= 1:
            continue
        emd = (_ordered_emd if ordered else _equal_emd)(classes, n_classes, values, n_values, class_sizes)
        worst = max(worst, float(emd.max()))
    return worst
