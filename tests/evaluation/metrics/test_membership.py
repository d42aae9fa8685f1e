import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from evaluation import metrics


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("decimals", [None, 1])
def test_auc_and_tpr_at_fpr_equal_scikit_learn(seed, decimals):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 5000))
    is_member = rng.integers(0, 2, n)
    score = rng.normal(size=n) + 0.7 * is_member
    if decimals is not None:  # many ties
        score = score.round(decimals)
    scores = metrics.membership_inference_scores(is_member, score)
    assert scores.auc == pytest.approx(roc_auc_score(is_member, score), abs=1e-12)
    fpr, tpr, _ = roc_curve(is_member, score, drop_intermediate=False)
    assert scores.tpr_at_fpr_0_1 == pytest.approx(tpr[fpr <= 0.1].max())
    assert scores.tpr_at_fpr_0_01 == pytest.approx(tpr[fpr <= 0.01].max())
    assert scores.tpr_at_fpr_0_001 == pytest.approx(tpr[fpr <= 0.001].max())
    assert scores.membership_advantage == pytest.approx(np.max(tpr - fpr))
    assert (scores.n_members, scores.n_non_members) == (int(is_member.sum()), int(n - is_member.sum()))


def test_roc_curve_is_downsampled_for_plotting():
    rng = np.random.default_rng(0)
    is_member = rng.integers(0, 2, 20_000)
    scores = metrics.membership_inference_scores(is_member, rng.random(20_000) + 0.2 * is_member)
    curve = np.array(scores.roc_curve)
    assert 100 <= len(curve) <= 200
    assert tuple(curve[0]) == (0.0, 0.0) and tuple(curve[-1]) == (1.0, 1.0)
    assert np.all(np.diff(curve[:, 0]) >= 0) and np.all(np.diff(curve[:, 1]) >= 0)


def test_epsilon_bound_for_a_perfect_attack_matches_closed_form():
    n = 1000
    is_member = np.r_[np.ones(n), np.zeros(n)].astype(int)
    scores = metrics.membership_inference_scores(is_member, is_member.astype(float), delta=1e-5)
    # zero errors: the Clopper–Pearson upper bound of 0/n at 95% is 1 − 0.025^(1/n)
    upper = 1 - 0.025 ** (1 / n)
    assert scores.epsilon_lower_bound == pytest.approx(np.log((1 - 1e-5 - upper) / upper))
    assert scores.auc == 1.0 and scores.membership_advantage == 1.0 and scores.tpr_at_fpr_0_001 == 1.0


def test_epsilon_bound_of_a_guessing_attack_is_near_zero():
    rng = np.random.default_rng(3)
    is_member = rng.integers(0, 2, 4000)
    scores = metrics.membership_inference_scores(is_member, rng.random(4000))
    assert 0.0 <= scores.epsilon_lower_bound < 0.3
    assert scores.auc == pytest.approx(0.5, abs=0.05)


def test_epsilon_bound_grows_with_separation():
    rng = np.random.default_rng(4)
    is_member = rng.integers(0, 2, 4000)
    noise = rng.normal(size=4000)
    weak = metrics.membership_inference_scores(is_member, noise + 0.5 * is_member).epsilon_lower_bound
    strong = metrics.membership_inference_scores(is_member, noise + 2.0 * is_member).epsilon_lower_bound
    assert 0 < weak < strong


def test_boolean_labels_and_invalid_input():
    assert metrics.membership_inference_scores([True, False, True], [0.9, 0.1, 0.8]).auc == 1.0
    with pytest.raises(ValueError):
        metrics.membership_inference_scores([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError):
        metrics.membership_inference_scores([1, 0], [0.1, np.nan])
    with pytest.raises(ValueError):
        metrics.membership_inference_scores([1, 2], [0.1, 0.2])
