"""Utility of a release: how well it stands in for the real data.

* :func:`ml_utility` — train on the release, test on real held-out data (TSTR);
* :func:`marginal_fidelity` — agreement of 1- or 2-way marginal distributions;
* :func:`correlation_difference` — agreement of pairwise associations.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from threadpoolctl import threadpool_limits

from ._columns import as_column_list, check_columns, factorize, is_ordered, to_float

__all__ = ["MLUtility", "correlation_difference", "marginal_fidelity", "ml_utility"]


@dataclass(frozen=True)
class MLUtility:
    """Train-on-release/test-on-real result. ``ratio = release_score /
    real_score`` (NaN when ``real_score <= 0``); ``metric`` is ``"roc_auc"``,
    ``"accuracy"`` or ``"r2"``; ``task`` is ``"binary"``, ``"multiclass"`` or
    ``"regression"``."""

    release_score: float
    real_score: float
    ratio: float
    metric: str
    task: str
    n_train_release: int
    n_train_real: int
    n_test: int


def _feature_matrix(tables: Sequence[pd.DataFrame], columns: Sequence[str]) -> tuple[list[np.ndarray], list[bool]]:
    """Features for gradient boosting: ordered columns as floats, others as
    codes shared across the tables (missing: NaN, which the model handles)."""
    outputs = [np.empty((len(t), len(columns))) for t in tables]
    categorical = []
    for j, column in enumerate(columns):
        series = [t[column] for t in tables]
        if all(is_ordered(s) for s in series):
            categorical.append(False)
            for out, s in zip(outputs, series, strict=True):
                out[:, j] = to_float(s)
        else:
            categorical.append(True)
            codes, _ = factorize(pd.concat([s.astype(object) for s in series], ignore_index=True), na_as_value=False)
            codes = codes.astype(np.float64)
            codes[codes < 0] = np.nan
            start = 0
            for out, s in zip(outputs, series, strict=True):
                out[:, j] = codes[start : start + len(s)]
                start += len(s)
    return outputs, categorical


def ml_utility(
    release: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    target: str,
    features: Sequence[str] | None = None,
    seed: int = 0,
) -> MLUtility:
    """Machine-learning utility: train on the release, test on real data.

    Definition (TSTR, "train on synthetic, test on real": Esteban et al. 2017;
    Jordon et al. 2021, "Synthetic data — what, why and how?", Royal Society;
    SDMetrics' ML efficacy): the same model — scikit-learn's
    ``HistGradientBoostingClassifier``/``Regressor`` with default
    hyper-parameters, native categorical and missing-value handling — is trained
    once on ``release`` and once on ``train`` (the real records behind it), and
    both are scored on ``holdout``:

    * a target with two values (categorical or numeric): ROC AUC;
    * a categorical target with more values: accuracy;
    * a numeric target with more than two values: R² (coefficient of
      determination; may be negative).

    ``ratio = release_score / real_score``: 1 means the release is as useful as
    the real data. ``features`` defaults to every other column of ``train``.
    Rows with a missing target are dropped. A release holding a single target
    class yields a constant predictor (AUC 0.5).
    """
    features = [c for c in train.columns if c != target] if features is None else list(features)
    if target in features:
        raise ValueError("the target cannot also be a feature")
    for name, table in (("release", release), ("train", train), ("holdout", holdout)):
        check_columns(table, features + [target], f"{name} table")
    release, train, holdout = (t[~pd.isna(t[target])].reset_index(drop=True) for t in (release, train, holdout))
    if min(len(release), len(train), len(holdout)) == 0:
        raise ValueError("release, train and holdout each need rows with a target value")

    (x_release, x_train, x_holdout), categorical = _feature_matrix([release, train, holdout], features)
    targets = [t[target] for t in (release, train, holdout)]
    numeric_target = all(is_ordered(s) for s in targets)
    n_classes = pd.concat([train[target], holdout[target]], ignore_index=True).nunique()
    if numeric_target and n_classes > 2:
        task, metric = "regression", "r2"
        y = [to_float(s) for s in targets]
    else:
        task, metric = ("binary", "roc_auc") if n_classes == 2 else ("multiclass", "accuracy")
        codes, _ = factorize(pd.concat([s.astype(object) for s in targets], ignore_index=True), na_as_value=False)
        bounds = np.cumsum([0] + [len(s) for s in targets])
        y = [codes[bounds[i] : bounds[i + 1]] for i in range(3)]
    # AUC does not depend on which class is called positive (swapping both the
    # label and the predicted probability gives the same area), so any one will do.
    positive = int(np.max(y[2])) if task == "binary" else None

    def fit_and_score(x_fit: np.ndarray, y_fit: np.ndarray) -> float:
        cat_mask = np.array(categorical, dtype=bool) if categorical else None
        if task == "regression":
            model = HistGradientBoostingRegressor(categorical_features=cat_mask, random_state=seed)
            model.fit(x_fit, y_fit)
            return float(r2_score(y[2], model.predict(x_holdout)))
        classes = np.unique(y_fit)
        if len(classes) == 1:  # nothing to learn: predict the only class seen
            if task == "binary":
                return 0.5
            return float(accuracy_score(y[2], np.full(len(y[2]), classes[0])))
        model = HistGradientBoostingClassifier(categorical_features=cat_mask, random_state=seed)
        model.fit(x_fit, y_fit)
        if task == "binary":
            column = list(model.classes_).index(positive) if positive in model.classes_ else None
            if column is None:
                return 0.5
            if len(np.unique(y[2])) < 2:
                raise ValueError("the holdout holds a single target class; AUC is undefined")
            return float(roc_auc_score(y[2] == positive, model.predict_proba(x_holdout)[:, column]))
        return float(accuracy_score(y[2], model.predict(x_holdout)))

    # One OpenMP thread: on small tables gradient boosting's threads cost more in
    # synchronisation than they save, catastrophically so on a busy machine
    # (measured: 60 s with all threads against 3.6 s with one on a loaded host).
    with threadpool_limits(limits=1, user_api="openmp"):
        release_score = fit_and_score(x_release, y[0])
        real_score = fit_and_score(x_train, y[1])
    return MLUtility(
        release_score=release_score,
        real_score=real_score,
        ratio=release_score / real_score if real_score > 0 else float("nan"),
        metric=metric,
        task=task,
        n_train_release=len(release),
        n_train_real=len(train),
        n_test=len(holdout),
    )


def _binned(real: pd.Series, release: pd.Series, bins: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Codes of a column in both tables: ordered columns cut at quantiles of the
    real data (at most ``bins`` bins, open-ended so release values outside the
    real range land in the end bins), others by value. Missing is its own code."""
    if is_ordered(real) and is_ordered(release):
        r, s = to_float(real), to_float(release)
        finite = r[~np.isnan(r)]
        if finite.size == 0:
            edges = np.array([])
        else:
            edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
        n_bins = len(edges) + 1
        cut = [np.where(np.isnan(a), n_bins, np.searchsorted(edges, a, side="right")) for a in (r, s)]
        return cut[0], cut[1], n_bins + 1
    codes, n = factorize(pd.concat([real.astype(object), release.astype(object)], ignore_index=True), na_as_value=True)
    return codes[: len(real)], codes[len(real) :], n


def marginal_fidelity(
    real: pd.DataFrame, release: pd.DataFrame, columns: Sequence[str], way: int = 1, *, bins: int = 10
) -> float:
    """``1 − mean total-variation distance`` between the real and the release
    marginals: over every column (``way=1``) or every pair of columns (``way=2``).

    ``TVD(P, Q) = ½ Σ_x |P(x) − Q(x)|`` over the cells of the marginal. Numeric
    and date columns are binned at ``bins``-quantiles of the *real* column (the
    release is judged on the real data's grid); categorical columns use their
    values; a missing value is a cell of its own. 1 is a perfect match, 0
    disjoint supports. Source: SDMetrics' TVComplement / ContingencySimilarity;
    the k-way marginal scores of the NIST CRC Data and Metrics Archive and the
    NIST 2020 Differential Privacy Temporal Map challenge.
    """
    columns = as_column_list(columns)
    check_columns(real, columns, "real table")
    check_columns(release, columns, "release table")
    if way not in (1, 2):
        raise ValueError(f"way must be 1 or 2, got {way}")
    if len(real) == 0 or len(release) == 0:
        raise ValueError("both tables need rows")
    coded = {c: _binned(real[c], release[c], bins) for c in columns}
    if way == 2 and len(columns) < 2:
        raise ValueError("two-way marginals need at least two columns")
    groups = [(c,) for c in columns] if way == 1 else list(itertools.combinations(columns, 2))
    distances = []
    for group in groups:
        real_key = np.zeros(len(real), dtype=np.int64)
        release_key = np.zeros(len(release), dtype=np.int64)
        size = 1
        for c in group:
            r, s, n = coded[c]
            real_key, release_key, size = real_key * n + r, release_key * n + s, size * n
        p = np.bincount(real_key, minlength=size) / len(real)
        q = np.bincount(release_key, minlength=size) / len(release)
        distances.append(0.5 * np.abs(p - q).sum())
    return float(1.0 - np.mean(distances))


def _association_matrix(table: pd.DataFrame, columns: Sequence[str], ordered: Sequence[bool]) -> np.ndarray:
    """Pairwise association in [−1, 1] (Pearson) or [0, 1] (the others)."""
    k = len(columns)
    values = {}
    for c, is_num in zip(columns, ordered, strict=True):
        values[c] = to_float(table[c]) if is_num else factorize(table[c], na_as_value=True)[0]
    matrix = np.eye(k)
    for i, j in itertools.combinations(range(k), 2):
        a, b = values[columns[i]], values[columns[j]]
        if ordered[i] and ordered[j]:
            ok = ~np.isnan(a) & ~np.isnan(b)
            x, y = a[ok], b[ok]
            value = float(np.corrcoef(x, y)[0, 1]) if len(x) > 1 and x.std() > 0 and y.std() > 0 else 0.0
        elif not ordered[i] and not ordered[j]:
            value = _cramers_v(a, b)
        else:
            categories, numbers = (b, a) if ordered[i] else (a, b)
            value = _correlation_ratio(categories, numbers)
        matrix[i, j] = matrix[j, i] = value
    return matrix


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V of two categorical variables (Cramér 1946), uncorrected."""
    table = pd.crosstab(a, b).to_numpy().astype(float)
    if min(table.shape) < 2:
        return 0.0
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


def _correlation_ratio(categories: np.ndarray, numbers: np.ndarray) -> float:
    """Correlation ratio η of a numeric variable on a categorical one (Pearson
    1903): the share of the numeric variance explained by the categories, square
    rooted. Rows with a missing number are ignored."""
    ok = ~np.isnan(numbers)
    cats, nums = categories[ok], numbers[ok]
    if len(nums) < 2 or nums.var() == 0:
        return 0.0
    _, inverse = np.unique(cats, return_inverse=True)
    counts = np.bincount(inverse)
    means = np.bincount(inverse, weights=nums) / counts
    between = float(np.sum(counts * (means - nums.mean()) ** 2))
    return float(np.sqrt(between / (nums.var() * len(nums))))


def correlation_difference(real: pd.DataFrame, release: pd.DataFrame, columns: Sequence[str]) -> float:
    """Mean absolute difference between the pairwise associations of the real
    data and of the release, over every pair of ``columns`` (0: identical).

    Association per pair: Pearson's r for two numeric/date columns, Cramér's V
    for two categorical ones, the correlation ratio η for a numeric and a
    categorical one — the mixed-type association matrix of table-evaluator and
    dython. Averaging the absolute differences of Pearson correlations is the
    "pairwise correlation difference" of Goncalves et al. 2020 ("Generation and
    evaluation of synthetic patient data", BMC Med. Res. Methodol. 20:108), there
    as a Frobenius norm. A constant column has association 0.
    """
    columns = as_column_list(columns)
    if len(columns) < 2:
        raise ValueError("need at least two columns")
    check_columns(real, columns, "real table")
    check_columns(release, columns, "release table")
    ordered = [is_ordered(real[c]) and is_ordered(release[c]) for c in columns]
    a = _association_matrix(real, columns, ordered)
    b = _association_matrix(release, columns, ordered)
    upper = np.triu_indices(len(columns), k=1)
    return float(np.mean(np.abs(a[upper] - b[upper])))
