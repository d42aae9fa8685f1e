"""tf-privacy's empirical ε lower bound (``privacy_tests/epsilon_lower_bound.py``,
Clopper–Pearson method) against the project's membership-inference ε.

tf-privacy needs TensorFlow, so its threshold enumeration and its
Clopper–Pearson ratio bound are ported below (``tf_privacy_bounds``: the same
arithmetic, with statsmodels' ``proportion_confint(method="beta")`` written out
as the beta quantiles it calls), and its test value is kept as a literal. With
δ = 0 the project's bound is tf-privacy's largest one over every threshold:
one-sided (``tpr/fpr`` and ``tnr/fnr``) for the project's upper threshold,
two-sided (adding ``fpr/tpr`` and ``fnr/tnr``) with ``thresholds="both"``.
"""

import numpy as np
import pytest
from scipy import stats

from evaluation import metrics


def _clopper_pearson_ratio(tp, fp, pos_size, neg_size, alpha):
    """``RatioBound._bound_clopper_pearson``: lower end of tp/pos over upper end
    of fp/neg, each a two-sided interval at level alpha (statsmodels' 'beta')."""
    tp, fp = np.asarray(tp, float), np.asarray(fp, float)
    with np.errstate(invalid="ignore"):
        p1 = np.where(tp > 0, stats.beta.ppf(alpha / 2, tp, pos_size - tp + 1), 0.0)
        p0 = np.where(fp < neg_size, stats.beta.isf(alpha / 2, fp + 1, neg_size - fp), 1.0)
    return np.where(np.logical_or(p1 <= 0, p0 >= 1), 0, p1 / np.where(p0 > 0, p0, 1))


def tf_privacy_bounds(pos_scores, neg_scores, alpha, two_sided):
    """``EpsilonLowerBound(...).compute_epsilon_lower_bound(CLOPPER_PEARSON)`` over
    every threshold (``_get_tp_fp_for_thresholds`` with thresholds=None: each
    distinct score, flagging scores ≥ it)."""
    thresholds = np.unique(np.concatenate([pos_scores, neg_scores]))[::-1]
    tp = np.array([(pos_scores >= t).sum() for t in thresholds])
    fp = np.array([(neg_scores >= t).sum() for t in thresholds])
    pos_size, neg_size = len(pos_scores), len(neg_scores)
    fn, tn = pos_size - tp, neg_size - fp
    ratios = [
        _clopper_pearson_ratio(tp, fp, pos_size, neg_size, alpha),
        _clopper_pearson_ratio(tn, fn, neg_size, pos_size, alpha),
    ]
    if two_sided:
        ratios += [_clopper_pearson_ratio(fp, tp, neg_size, pos_size, alpha), _clopper_pearson_ratio(fn, tn, pos_size, neg_size, alpha)]
    ratio = np.concatenate(ratios)
    return np.sort(np.log(ratio[ratio > 0]))[::-1]


def scores_for(pos_scores, neg_scores):
    is_member = np.r_[np.ones(len(pos_scores), int), np.zeros(len(neg_scores), int)]
    return is_member, np.r_[pos_scores, neg_scores]


def test_tf_privacy_clopper_pearson_value():
    """``test_epsilon_bound_clopper_pearson``: 500 members scored 1, 500
    non-members scored 0, α = 0.01: ε ≈ 4.54 from both one-sided ratios."""
    pos, neg = np.ones(500), np.zeros(500)
    np.testing.assert_almost_equal(tf_privacy_bounds(pos, neg, 0.01, two_sided=False)[:2], [4.54, 4.54], decimal=2)
    found = metrics.membership_inference_scores(*scores_for(pos, neg), delta=0.0, confidence=0.99)
    assert found.epsilon_lower_bound == pytest.approx(4.54, abs=5e-3)
    assert found.epsilon_lower_bound == pytest.approx(tf_privacy_bounds(pos, neg, 0.01, two_sided=False)[0], rel=1e-12)


def test_tf_privacy_threshold_example():
    """``TPFPTest``: members 9, 4, 5, 0 and non-members 3, 8, 6, 1, 2, 7 give these
    (tp, fp) over all thresholds — the points of the project's ROC curve."""
    is_member, score = scores_for(np.array([9, 4, 5, 0.0]), np.array([3, 8, 6, 1, 2, 7.0]))
    fpr, tpr, false_positives, n_members, _ = metrics.membership.roc_points(is_member, score)
    np.testing.assert_array_equal(np.rint(tpr[1:] * n_members), [1, 1, 1, 1, 2, 3, 3, 3, 3, 4])
    np.testing.assert_array_equal(false_positives[1:], [0, 1, 2, 3, 3, 3, 4, 5, 6, 6])


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_equals_tf_privacy_on_random_attacks(seed, confidence):
    rng = np.random.default_rng(seed)
    n_pos, n_neg = rng.integers(20, 400, 2)
    shift = rng.choice([-1.5, -0.3, 0.0, 0.4, 2.0])
    pos = np.round(rng.normal(shift, 1.0, n_pos), 1)  # rounded: ties between scores
    neg = np.round(rng.normal(0.0, 1.0, n_neg), 1)
    found = metrics.membership_inference_scores(*scores_for(pos, neg), delta=0.0, confidence=confidence, thresholds="both")
    one_sided = tf_privacy_bounds(pos, neg, 1 - confidence, two_sided=False)
    two_sided = tf_privacy_bounds(pos, neg, 1 - confidence, two_sided=True)
    assert found.epsilon_upper_threshold == pytest.approx(max(0.0, one_sided[0] if len(one_sided) else 0.0), rel=1e-9, abs=1e-12)
    assert found.epsilon_lower_bound == pytest.approx(max(0.0, two_sided[0] if len(two_sided) else 0.0), rel=1e-9, abs=1e-12)
    assert found.epsilon_lower_bound == max(found.epsilon_upper_threshold, found.epsilon_inverted_threshold)


def test_inverted_scores_are_caught_only_by_the_inverted_threshold():
    """An attack that scores members *lower* has no upper-threshold bound; the
    inverted threshold finds it, and ``thresholds="both"`` reports it."""
    pos, neg = np.zeros(300), np.ones(300)
    upper = metrics.membership_inference_scores(*scores_for(pos, neg), delta=0.0)
    both = metrics.membership_inference_scores(*scores_for(pos, neg), delta=0.0, thresholds="both")
    assert upper.epsilon_lower_bound == 0.0
    assert both.epsilon_lower_bound == both.epsilon_inverted_threshold > 3.0


def test_any_fpr_levels():
    rng = np.random.default_rng(3)
    is_member, score = scores_for(rng.normal(0.5, 1, 1000), rng.normal(0, 1, 1000))
    found = metrics.membership_inference_scores(is_member, score, fpr_levels=(0.2, 0.05, 0.1, 0.001))
    assert list(found.tpr_at_fpr) == [0.2, 0.05, 0.1, 0.001]
    assert found.tpr_at_fpr[0.1] == found.tpr_at_fpr_0_1
    assert found.tpr_at_fpr[0.001] == found.tpr_at_fpr_0_001
    assert found.tpr_at_fpr[0.2] >= found.tpr_at_fpr[0.1] >= found.tpr_at_fpr[0.05]
    with pytest.raises(ValueError, match="FPR levels"):
        metrics.membership_inference_scores(is_member, score, fpr_levels=(0.0,))
