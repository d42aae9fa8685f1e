import pytest
from anonymeter.stats.confidence import success_rate
from scipy import stats

from evaluation import metrics


@pytest.mark.parametrize(("successes", "n"), [(0, 10), (3, 10), (10, 10), (250, 1000), (1, 1)])
def test_wilson_interval_equals_anonymeters(successes, n):
    reference = success_rate(n_total=n, n_success=successes, confidence_level=0.95)
    low, high = metrics.wilson_interval(successes, n)
    assert low == pytest.approx(max(0.0, reference.value - reference.error), abs=1e-12)
    assert high == pytest.approx(min(1.0, reference.value + reference.error), abs=1e-12)


@pytest.mark.parametrize(("successes", "n"), [(0, 10), (3, 10), (10, 10), (7, 1000), (500, 1000)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_clopper_pearson_equals_scipys_exact_interval(successes, n, confidence):
    reference = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="exact")
    low, high = metrics.clopper_pearson_interval(successes, n, confidence)
    assert low == pytest.approx(reference.low, abs=1e-12)
    assert high == pytest.approx(reference.high, abs=1e-12)


def test_intervals_reject_impossible_counts():
    with pytest.raises(ValueError):
        metrics.wilson_interval(5, 3)
    with pytest.raises(ValueError):
        metrics.clopper_pearson_interval(-1, 3)
    assert metrics.wilson_interval(0, 0) == (0.0, 1.0)
