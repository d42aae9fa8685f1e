import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from evaluation import metrics

FEATURES = ["age", "sex", "postcode", "diagnosis", "length_of_stay"]


@pytest.fixture(scope="module")
def split(patients):
    full = patients(2000, 21)[FEATURES]
    return full.iloc[:1000].reset_index(drop=True), full.iloc[1000:].reset_index(drop=True)


def test_release_equal_to_train_has_utility_ratio_one(split):
    train, holdout = split
    for target, task, metric in [("sex", "binary", "roc_auc"), ("diagnosis", "multiclass", "accuracy"), ("length_of_stay", "regression", "r2")]:
        result = metrics.ml_utility(train.copy(), train, holdout, target=target)
        assert (result.task, result.metric) == (task, metric)
        assert result.release_score == pytest.approx(result.real_score)
        if result.real_score > 0:
            assert result.ratio == pytest.approx(1.0)


def test_binary_score_is_the_holdout_auc_of_the_same_model(split):
    train, holdout = split
    target = (train["diagnosis"] == "C50").map({True: "yes", False: "no"})
    train = train.assign(cancer=target)
    holdout = holdout.assign(cancer=(holdout["diagnosis"] == "C50").map({True: "yes", False: "no"}))
    features = ["age", "length_of_stay"]
    result = metrics.ml_utility(train, train, holdout, target="cancer", features=features)
    with threadpool_limits(limits=1, user_api="openmp"):  # as ml_utility does, for speed
        model = HistGradientBoostingClassifier(random_state=0).fit(train[features], train["cancer"] == "yes")
    assert result.real_score == pytest.approx(roc_auc_score(holdout["cancer"] == "yes", model.predict_proba(holdout[features])[:, 1]))
    assert result.real_score > 0.8


def test_release_without_signal_loses_utility(split):
    train, holdout = split
    shuffled = train.assign(diagnosis=np.random.default_rng(0).permutation(train["diagnosis"].to_numpy()))
    result = metrics.ml_utility(shuffled, train, holdout, target="diagnosis")
    assert result.real_score > 0.25
    assert result.ratio < 0.9


def test_single_class_release_gives_chance_auc(split):
    train, holdout = split
    result = metrics.ml_utility(train.assign(sex="F"), train, holdout, target="sex")
    assert result.release_score == 0.5


def test_marginal_fidelity_by_hand():
    real = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": [1, 1, 2, 2]})
    release = pd.DataFrame({"a": ["x", "x", "x", "y"], "b": [1, 2, 2, 2]})
    # column a: TVD ½(|.5 − .75| + |.5 − .25|) = .25; column b: TVD .25
    assert metrics.marginal_fidelity(real, release, ["a", "b"]) == pytest.approx(0.75)
    # pairs real {(x,1): .5, (y,2): .5}, release {(x,1): .25, (x,2): .5, (y,2): .25}: TVD ½(.25 + .5 + .25) = .5
    assert metrics.marginal_fidelity(real, release, ["a", "b"], way=2) == pytest.approx(0.5)
    assert metrics.marginal_fidelity(real, real, ["a", "b"], way=2) == 1.0
    assert metrics.marginal_fidelity(real, pd.DataFrame({"a": ["z"] * 3, "b": [1] * 3}), ["a"]) == 0.0


def test_marginal_fidelity_bins_on_the_real_data_and_counts_missing():
    real = pd.DataFrame({"v": np.arange(100.0)})
    shifted = pd.DataFrame({"v": np.arange(100.0) + 1000})  # all beyond the real range: top bin
    assert metrics.marginal_fidelity(real, shifted, ["v"], bins=10) == pytest.approx(0.1)
    with_missing = pd.DataFrame({"v": [np.nan] * 100})
    assert metrics.marginal_fidelity(real, with_missing, ["v"]) == 0.0


def test_correlation_difference(split):
    train, holdout = split
    assert metrics.correlation_difference(train, train, FEATURES) == 0.0
    assert metrics.correlation_difference(train, holdout, FEATURES) < 0.05
    x = np.arange(200.0)
    real = pd.DataFrame({"x": x, "y": 2 * x})
    independent = pd.DataFrame({"x": x, "y": np.random.default_rng(0).permutation(2 * x)})
    assert metrics.correlation_difference(real, independent, ["x", "y"]) > 0.8
    cats = pd.DataFrame({"c": ["a", "b"] * 50, "d": ["a", "b"] * 50})  # Cramér's V = 1
    assert metrics.correlation_difference(cats, cats.assign(d=["a"] * 50 + ["b"] * 50), ["c", "d"]) == pytest.approx(1.0)


def test_distance_to_closest_record(split):
    train, holdout = split
    copied = metrics.distance_to_closest_record(train.sample(frac=1, random_state=1), train, holdout, FEATURES)
    assert copied.value > 0.95 and copied.median_distance_train == 0.0
    fresh = metrics.distance_to_closest_record(holdout.iloc[:500], train.iloc[:500], holdout.iloc[500:], FEATURES)
    assert fresh.ci[0] < 0.5 < fresh.ci[1] or abs(fresh.value - 0.5) < 0.05


def test_distance_to_closest_record_counts_ties_half():
    train = pd.DataFrame({"a": ["x", "y"]})
    holdout = pd.DataFrame({"a": ["x", "z"]})
    release = pd.DataFrame({"a": ["x", "y", "z", "w"]})
    # x: tie (½), y: train (1), z: holdout (0), w: tie (½)
    assert metrics.distance_to_closest_record(release, train, holdout, ["a"]).value == pytest.approx(0.5)
    release = pd.DataFrame({"a": ["y", "y", "x", None]})
    assert metrics.distance_to_closest_record(release, train, holdout, ["a"]).value == pytest.approx((1 + 1 + 0.5 + 0.5) / 4)
