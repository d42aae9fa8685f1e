"""Syntactic privacy models: k-anonymity, l-diversity, entropy l-diversity and
t-closeness.

All four are computed over the *equivalence classes* of a table: the groups of
records that share the same values of every quasi-identifier. Missing values are a
value of their own (a suppressed cell is as good as ``*``); pycanon instead drops
records with a missing quasi-identifier from every class (pandas ``groupby``'s
default), so the two agree on tables without missing quasi-identifiers.

The values equal those of pycanon 1.0 (Sáinz-Pardo Díaz & López García 2022,
"A Python library to check the level of anonymity of a dataset", Scientific Data
9:785) on the same input, but are computed with vectorised group counts instead of
one pass over the table per class.

``sensitive`` may be one column or several; with several, the result is the
strictest over the columns (pycanon's ``gen=True``): the smallest l, the largest t.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._columns import as_column_list, check_columns, factorize, group_codes, is_ordered, to_float

__all__ = ["entropy_l_diversity", "k_anonymity", "l_diversity", "t_closeness"]


def _prepare(df: pd.DataFrame, quasi_identifiers, sensitive=None):
    qis = as_column_list(quasi_identifiers)
    check_columns(df, qis, "table (quasi-identifiers)")
    sensitive_columns = None
    if sensitive is not None:
        sensitive_columns = as_column_list(sensitive)
        check_columns(df, sensitive_columns, "table (sensitive attributes)")
    if len(df) == 0:
        raise ValueError("the table is empty: no equivalence classes")
    classes, n_classes = group_codes(df, qis)
    return classes, n_classes, sensitive_columns


def _pair_counts(classes: np.ndarray, values: np.ndarray, n_values: int):
    """Counts of every (class, value) pair present in the table."""
    pair_key = classes * n_values + values
    unique_keys, counts = np.unique(pair_key, return_counts=True)
    return unique_keys // n_values, unique_keys % n_values, counts


def k_anonymity(df: pd.DataFrame, quasi_identifiers: str | Sequence[str]) -> int:
    """k of k-anonymity: the size of the smallest equivalence class.

    Definition: a table is k-anonymous when every combination of
    quasi-identifier values it contains is shared by at least k records
    (Samarati & Sweeney 1998; Sweeney 2002, "k-anonymity: a model for protecting
    privacy", IJUFKS 10(5)). Reference implementation: ``pycanon.anonymity.k_anonymity``.
    """
    classes, n_classes, _ = _prepare(df, quasi_identifiers)
    return int(np.bincount(classes, minlength=n_classes).min())


def l_diversity(df: pd.DataFrame, quasi_identifiers: str | Sequence[str], sensitive: str | Sequence[str]) -> int:
    """l of (distinct) l-diversity: the smallest number of distinct sensitive
    values within an equivalence class.

    Definition: Machanavajjhala et al. 2007, "l-diversity: Privacy beyond
    k-anonymity", ACM TKDD 1(1), distinct l-diversity. Reference implementation:
    ``pycanon.anonymity.l_diversity``. A missing sensitive value counts as one value.
    """
    classes, n_classes, sensitive_columns = _prepare(df, quasi_identifiers, sensitive)
    if not sensitive_columns:
        raise ValueError("l-diversity needs at least one sensitive attribute")
    distinct: list[int] = []
    for column in sensitive_columns:
        values, n_values = factorize(df[column], na_as_value=True)
        pair_classes, _, _ = _pair_counts(classes, values, n_values)
        distinct.append(int(np.bincount(pair_classes, minlength=n_classes).min()))
    return min(distinct)


def entropy_l_diversity(
    df: pd.DataFrame, quasi_identifiers: str | Sequence[str], sensitive: str | Sequence[str]
) -> float:
    """l of entropy l-diversity: ``exp(min over classes of H(class))`` with
    ``H = −Σ_s p(s) ln p(s)`` the entropy of the sensitive values in the class.

    Definition: Machanavajjhala et al. 2007 (ACM TKDD 1(1)), entropy
    l-diversity — a table is entropy l-diverse when every class has
    ``H ≥ ln l``. The value returned is the largest such l, a real number (snapped
    to an integer when within 1e-9 of one, so a class spread evenly over 3 values
    gives exactly 3). ``pycanon.anonymity.entropy_l_diversity`` returns the integer
    part of the same quantity (the largest *integer* l the table satisfies),
    computed without that snapping, so it reports 2 for that class.
    """
    classes, n_classes, sensitive_columns = _prepare(df, quasi_identifiers, sensitive)
    class_sizes = np.bincount(classes, minlength=n_classes).astype(np.float64)
    lowest_entropy = np.inf
    for column in sensitive_columns:
        values, n_values = factorize(df[column], na_as_value=True)
        pair_classes, _, counts = _pair_counts(classes, values, n_values)
        p = counts / class_sizes[pair_classes]
        entropy = -np.bincount(pair_classes, weights=p * np.log(p), minlength=n_classes)
        lowest_entropy = min(lowest_entropy, float(entropy.min()))
    l_value = float(np.exp(max(lowest_entropy, 0.0)))
    # A class spread evenly over s values has l = s exactly; exp(ln s) can land a
    # few ulps below s, and truncating that (as pycanon does) would report s − 1.
    nearest = round(l_value)
    return float(nearest) if abs(l_value - nearest) <= 1e-9 * max(1.0, l_value) else l_value


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


def t_closeness(df: pd.DataFrame, quasi_identifiers: str | Sequence[str], sensitive: str | Sequence[str]) -> float:
    """t of t-closeness: the largest Earth Mover's Distance between the
    distribution of a sensitive attribute within an equivalence class and its
    distribution over the whole table.

    Definition: Li, Li & Venkatasubramanian 2007, "t-Closeness: Privacy beyond
    k-anonymity and l-diversity", ICDE. The ground distance is

    * *ordered distance* for numeric (and date) attributes: with the m distinct
      values sorted, ``EMD(P, Q) = 1/(m−1) · Σ_i |Σ_{j≤i} (q_j − p_j)|``;
    * *equal distance* for categorical attributes: ``EMD = ½ Σ_s |q_s − p_s|``.

    Same definitions and dispatch as ``pycanon.anonymity.t_closeness`` (which
    treats booleans as numeric as well). A missing sensitive value is one more
    value, placed after the largest one for ordered attributes. A sensitive
    attribute with a single value gives t = 0.
    """
    classes, n_classes, sensitive_columns = _prepare(df, quasi_identifiers, sensitive)
    class_sizes = np.bincount(classes, minlength=n_classes).astype(np.float64)
    worst = 0.0
    for column in sensitive_columns:
        series = df[column]
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
