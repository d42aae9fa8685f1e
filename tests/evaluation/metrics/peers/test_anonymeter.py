"""anonymeter 1.x against the project on anonymeter's own test cases and data.

Deterministic cases (the toy tables of anonymeter's evaluator tests, the
confidence arithmetic) are compared exactly or to 1e-12; randomised ones (the
attacks on anonymeter's adults sample) by overlapping confidence intervals under
fixed seeds, since the two draw different targets. The project runs with its
anonymeter-compatible options where its defaults differ on purpose:
``rate_denominator="requested"`` (singling out), ``tolerance_relative_to="guess"``
(inference), ``group_control="all"`` (per-group inference), no control table
where anonymeter's test has none.
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator
from anonymeter.evaluators.inference_evaluator import evaluate_inference_guesses
from anonymeter.stats.confidence import EvaluationResults, success_rate

from evaluation import metrics
from evaluation.metrics.intervals import wilson_center, wilson_interval
from evaluation.metrics.risks import SuccessRate, attack_rate_risk, normalised_risk
from evaluation.metrics.risks.inference import correct_guesses
from tests.evaluation.metrics.peers.common import DATA


def overlap(a, b) -> bool:
    return a[0] <= b[1] + 1e-12 and b[0] <= a[1] + 1e-12


def adults(which: str, n: int | None = None) -> pd.DataFrame:
    return pd.read_csv(DATA / "anonymeter" / f"adults_{which}.csv", nrows=n)


def quiet(function):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function()


# ---------------------------------------------------------------- confidence arithmetic


@pytest.mark.parametrize(("n", "x"), [(1000, 850), (1000, 0), (1000, 1000), (500, 123), (10, 4), (7, 7)])
@pytest.mark.parametrize("confidence", [0.0, 0.5, 0.68, 0.95, 0.99])
def test_success_rate_equals_anonymeters(n, x, confidence):
    reference = success_rate(n_total=n, n_success=x, confidence_level=confidence)
    assert wilson_center(x, n, confidence) == pytest.approx(reference.value, abs=1e-12)
    low, high = wilson_interval(x, n, confidence)
    assert low == pytest.approx(max(0.0, reference.value - reference.error), abs=1e-12)
    assert high == pytest.approx(min(1.0, reference.value + reference.error), abs=1e-12)


@pytest.mark.parametrize(
    ("n", "x", "control"),
    [(100, 100, None), (100, 23, None), (111, 84, None), (100, 0, None), (500, 400, 100), (300, 30, 60), (1000, 1000, 0), (200, 5, 5)],
)
@pytest.mark.parametrize("confidence", [0.0, 0.95, 0.99])
def test_risk_equals_anonymeters_with_and_without_control(n, x, control, confidence):
    reference = quiet(lambda: EvaluationResults(n_attacks=n, n_success=x, n_baseline=0, n_control=control, confidence_level=confidence))
    attack = SuccessRate.from_counts(x, n, confidence)
    if control is None:
        value, ci = attack_rate_risk(attack, confidence)
    else:
        value, ci = normalised_risk(attack, SuccessRate.from_counts(control, n, confidence), confidence)
    expected = reference.risk()
    assert value == pytest.approx(expected.value, abs=1e-12)
    assert ci == pytest.approx(expected.ci, abs=1e-12)


# ---------------------------------------------------------------- linkability (test_linkability_evaluator.py)

TOY_ORI = pd.DataFrame({"col0": [0, 0, 4, 0], "col1": [0, 1, 9, 4]})
TOY_SYN = pd.DataFrame({"col0": [0, 1, 4, 9], "col1": [0, 1, 4, 9]})


@pytest.mark.parametrize("n_attacks", [4, None])
@pytest.mark.parametrize(
    ("n_neighbors", "confidence", "expected_risk", "expected_ci"),
    [
        (1, 0, 0.25, (0.25, 0.25)),
        (2, 0, 1, (1.0, 1.0)),
        (3, 0, 1, (1.0, 1.0)),
        (4, 0, 1, (1.0, 1.0)),
        (1, 0.95, 0.3725, (0.045587, 0.699358)),
        (2, 0.95, 0.7551, (0.5102, 1.0)),
    ],
)
def test_linkability_toy_cases(n_neighbors, confidence, expected_risk, expected_ci, n_attacks):
    evaluator = LinkabilityEvaluator(ori=TOY_ORI, syn=TOY_SYN, n_attacks=n_attacks, n_neighbors=n_neighbors, aux_cols=(["col0"], ["col1"]))
    evaluator.evaluate(n_jobs=1)
    reference = quiet(lambda: evaluator.risk(confidence_level=confidence))
    ours = metrics.linkability_risk(
        TOY_ORI, TOY_SYN, None, aux_cols=(["col0"], ["col1"]), n_attacks=n_attacks, n_neighbors=n_neighbors, confidence=confidence, seed=0
    )
    assert ours.value == pytest.approx(reference.value, abs=1e-12)
    assert ours.ci == pytest.approx(reference.ci, abs=1e-12)
    # and anonymeter's own expected values, at the precision its test states
    assert ours.value == pytest.approx(expected_risk, abs=1e-4)
    assert ours.ci == pytest.approx(expected_ci, abs=1e-4)
    assert ours.control_rate is None


@pytest.mark.parametrize(("n_neighbors", "expected_risk"), [(1, 0.25), (2, 5 / 6), (3, 1), (4, 1)])
def test_linkability_baseline(n_neighbors, expected_risk):
    ori = pd.DataFrame(np.random.default_rng(42).choice(["a", "b"], size=(400, 2)), columns=["c0", "c1"])
    syn = pd.DataFrame([["a", "a"], ["b", "b"], ["a", "a"], ["a", "a"]], columns=["c0", "c1"])
    """A random pair of n-subsets of the 4 release rows meets with probability
    1/4, 5/6, 1, 1. anonymeter checks its estimate to ±0.05; with 400 targets
    that is a 2.7-sigma band, so here the truth must lie in the 99.9 % interval."""
    ours = metrics.linkability_risk(
        ori, syn, None, aux_cols=(["c0"], ["c1"]), n_attacks=None, n_neighbors=n_neighbors, seed=0, confidence=0.999
    )
    evaluator = LinkabilityEvaluator(ori=ori, syn=syn, n_attacks=None, n_neighbors=n_neighbors, aux_cols=(["c0"], ["c1"]))
    evaluator.evaluate(n_jobs=1)
    reference = quiet(lambda: evaluator.risk(confidence_level=0.95, baseline=True))
    assert ours.baseline_rate.ci[0] <= expected_risk <= ours.baseline_rate.ci[1]
    assert overlap(ours.baseline_rate.ci, reference.ci)


@pytest.mark.parametrize("confidence", [0.5, 0.68, 0.95, 0.99])
def test_linkability_release_equal_to_original_reaches_one(confidence):
    ori = adults("ori", 10)
    columns = np.random.default_rng(42).choice(ori.columns, size=4, replace=False).tolist()
    ours = metrics.linkability_risk(ori, ori, None, aux_cols=(columns[:2], columns[2:]), n_attacks=10, n_neighbors=5, confidence=confidence, seed=0)
    assert ours.ci[1] == pytest.approx(1.0)


def test_linkability_with_a_control_attacked_every_time_has_no_value():
    """The crash of issue 16: a control success of 100 % at confidence 1e-9 divided
    by zero; the risk now has no value and says why."""
    ours = metrics.linkability_risk(TOY_SYN, TOY_SYN, TOY_SYN, aux_cols=(["col0"], ["col1"]), n_attacks=4, confidence=1e-9, seed=0)
    assert ours.control_rate.value == 1.0
    assert math.isnan(ours.value) and all(math.isnan(v) for v in ours.ci)
    assert "control" in ours.reason


# ---------------------------------------------------------------- singling out (test_singling_out_evaluator.py)


@pytest.mark.parametrize("mode", ["univariate", "multivariate"])
def test_singling_out_queries_single_out_in_both_tables(mode):
    """anonymeter's ``test_so_general``: every successful query singles out one
    record of the release and one of the original (read back with pandas)."""
    ori, syn = adults("ori", 10), adults("syn", 10)
    for release in (syn, ori):
        ours = metrics.singling_out_risk(ori, release, None, n_attacks=5, mode=mode, seed=0)
        for query in ours.queries:
            assert len(release.query(query, engine="python")) == 1, query
            assert len(ori.query(query, engine="python")) == 1, query
    assert len(ours.queries) == ours.n_successes > 0  # the original released as is


def test_univariate_queries_and_the_requested_denominator():
    """Four rare values give four queries of ten requested: the rate is 4/4 here,
    and with ``rate_denominator="requested"`` anonymeter's Wilson centre of 4/10."""
    df = pd.DataFrame({"col1": ["a", "b", "c", "d"]})
    ours = metrics.singling_out_risk(df, df, None, n_attacks=10, mode="univariate", seed=0)
    assert sorted(ours.queries) == ["`col1` == 'a'", "`col1` == 'b'", "`col1` == 'c'", "`col1` == 'd'"]
    assert ours.attack_rate.value == 1.0 and ours.n_attacks == 4
    evaluator = quiet(lambda: SinglingOutEvaluator(ori=df, syn=df, n_attacks=10).evaluate(mode="univariate"))
    reference = quiet(evaluator.risk)
    compatible = metrics.singling_out_risk(df, df, None, n_attacks=10, mode="univariate", seed=0, rate_denominator="requested")
    assert compatible.value == pytest.approx(reference.value, abs=1e-12)
    assert compatible.ci == pytest.approx(reference.ci, abs=1e-12)
    assert round(compatible.value, 2) == 0.43


@pytest.mark.parametrize("confidence", [0.5, 0.68, 0.95, 0.99])
@pytest.mark.parametrize("mode", ["univariate", "multivariate"])
def test_singling_out_release_equal_to_original_reaches_one(confidence, mode):
    ori = adults("ori", 10)
    ours = metrics.singling_out_risk(ori, ori, None, n_attacks=5, mode=mode, confidence=confidence, seed=0)
    assert ours.ci[1] == pytest.approx(1.0)


@pytest.mark.parametrize("max_attempts", [1, 2, 3])
def test_singling_out_max_attempts(max_attempts):
    ori = adults("ori", 10)
    ours = metrics.singling_out_risk(ori, ori, None, n_attacks=10, max_attempts=max_attempts, seed=0)
    assert len(ours.queries) <= ours.n_attacks <= max_attempts


# ---------------------------------------------------------------- inference (test_inference_evaluator.py)


@pytest.mark.parametrize(
    ("guesses", "secrets"),
    [
        (("a", "b"), ("a", "b")),
        ((np.nan, "b"), (np.nan, "b")),
        ((np.nan, np.nan), (np.nan, np.nan)),
        ((np.nan, "b"), ("a", np.nan)),
        (("a", "b"), ("a", "c")),
        (("b", "b"), ("a", "c")),
        ((1, 0), (2, 0)),
    ],
)
def test_guess_evaluation_classification(guesses, secrets):
    reference = evaluate_inference_guesses(guesses=pd.Series(guesses), secrets=pd.Series(secrets), regression=False)
    ours = correct_guesses(pd.Series(guesses), pd.Series(secrets), tolerance=0)
    np.testing.assert_equal(ours, reference)


@pytest.mark.parametrize(
    ("guesses", "secrets", "tolerance"),
    [
        ((1.0, 1.0), (1.0, 1.0), 0.05),
        ((1.01, 1.0), (1.0, 1.01), 0.05),
        ((1.0, 1.0), (2.0, 1.01), 0.05),
        ((1.0, 2.0), (2.0, 1.01), 0.05),
        ((1.0, 1.0), (1.05, 1.06), 0.05),
        ((1.0, 1.0), (1.05, 1.06), 0.06),
        ((1.0, np.nan), (1.05, np.nan), 0.06),
        ((np.nan, np.nan), (np.nan, np.nan), 0.06),
        ((1, np.nan), (np.nan, 1.06), 0.06),
        ((1.0, 1.0), (1.05, 1.06), 0.04),
        ((1.0, 1.0), (1.25, 1.26), 0.2),
        ((1.0, 1.0), (1.26, 1.25), 0.25),
        ((-2.0, 3.0), (-2.05, 2.9), 0.05),
    ],
)
def test_guess_evaluation_regression(guesses, secrets, tolerance):
    """anonymeter's tolerance is relative to the guess: ``relative_to="guess"``
    reproduces it (including on a negative guess, where it accepts anything); the
    default, relative to the secret, is shown to differ where it does."""
    reference = evaluate_inference_guesses(
        guesses=pd.Series(guesses), secrets=pd.Series(secrets), regression=True, tolerance=tolerance
    )
    ours = correct_guesses(pd.Series(guesses), pd.Series(secrets), tolerance=tolerance, relative_to="guess")
    np.testing.assert_equal(ours, reference)


@pytest.mark.parametrize(
    ("ori", "syn", "expected"),
    [
        ([["a", "b"], ["c", "d"]], [["a", "b"], ["c", "d"]], 1.0),
        ([["a", "b"], ["c", "d"]], [["a", "b"], ["c", "e"]], 0.5),
        ([["a", "b"], ["c", "d"]], [["a", "h"], ["c", "g"]], 0.0),
    ],
)
def test_inference_rates(ori, syn, expected):
    ori = pd.DataFrame(ori, columns=["c0", "c1"])
    syn = pd.DataFrame(syn, columns=["c0", "c1"])
    evaluator = InferenceEvaluator(ori=ori, syn=syn, control=ori, aux_cols=["c0"], secret="c1", n_attacks=2).evaluate(n_jobs=1)
    reference = quiet(lambda: evaluator.results(confidence_level=0))
    ours = metrics.inference_risk(ori, syn, ori, aux_cols=["c0"], secret="c1", n_attacks=2, confidence=0, seed=0)
    for mine, theirs in ((ours.attack_rate, reference.attack_rate), (ours.control_rate, reference.control_rate)):
        assert mine.value == theirs.value == expected
        assert mine.ci == (expected, expected) and theirs.error == 0


@pytest.mark.parametrize(
    "aux_cols",
    [["type_employer", "capital_loss", "hr_per_week", "age"], ["education_num", "marital", "capital_loss"], ["age", "type_employer", "race"]],
)
@pytest.mark.parametrize("secret", ["education", "marital", "capital_gain"])
def test_inference_leaks_everything_when_the_release_is_the_original(aux_cols, secret):
    """Attack and control both succeed every time: anonymeter's rates are (1, 0);
    the normalised risk, (1 − 1)/(1 − 1), has no value here and says why
    (anonymeter's ``risk()`` divides by zero)."""
    ori = adults("ori", 10)
    evaluator = InferenceEvaluator(ori=ori, syn=ori, control=ori, aux_cols=aux_cols, secret=secret, n_attacks=10).evaluate(n_jobs=1)
    reference = quiet(lambda: evaluator.results(confidence_level=0))
    if secret in aux_cols:
        # anonymeter attacks a secret the attacker already knows; here that is a
        # configuration error, reported as such (docs/metrics.md)
        with pytest.raises(ValueError, match="cannot also be an auxiliary column"):
            metrics.inference_risk(ori, ori, ori, aux_cols=aux_cols, secret=secret, n_attacks=10)
        return
    ours = metrics.inference_risk(ori, ori, ori, aux_cols=aux_cols, secret=secret, n_attacks=10, tolerance=0, confidence=0, seed=0)
    assert (ours.attack_rate.value, ours.attack_rate.ci[1] - ours.attack_rate.ci[0]) == tuple(reference.attack_rate) == (1, 0)
    assert (ours.control_rate.value, 0) == tuple(reference.control_rate)
    assert math.isnan(ours.value) and ours.reason


# ---------------------------------------------------------------- the attacks on anonymeter's adults sample


ORI, SYN = adults("ori"), adults("syn")
CONTROL = ORI.sample(frac=1.0, random_state=0).iloc[:50].reset_index(drop=True)
TRAIN = ORI.drop(ORI.sample(frac=1.0, random_state=0).index[:50]).reset_index(drop=True)


@pytest.mark.parametrize(("mode", "n_cols"), [("univariate", 1), ("multivariate", 2), ("multivariate", 3)])
def test_singling_out_intervals_overlap(mode, n_cols):
    ours = metrics.singling_out_risk(TRAIN, SYN, CONTROL, n_attacks=20, mode=mode, n_cols=n_cols, seed=0, rate_denominator="requested")
    evaluator = quiet(lambda: SinglingOutEvaluator(ori=TRAIN, syn=SYN, n_attacks=20, n_cols=n_cols, control=CONTROL, seed=0).evaluate(mode=mode))
    reference = quiet(lambda: evaluator.results())
    assert overlap(ours.attack_rate.ci, reference.attack_rate.to_risk().ci)
    assert overlap(ours.control_rate.ci, reference.control_rate.to_risk().ci)
    assert overlap(ours.ci, reference.risk().ci)


@pytest.mark.parametrize("n_neighbors", [1, 3])
def test_linkability_intervals_overlap(n_neighbors):
    aux = (["age", "sex", "race", "type_employer"], ["education", "marital", "hr_per_week", "country"])
    ours = metrics.linkability_risk(TRAIN, SYN, CONTROL, aux_cols=aux, n_attacks=40, n_neighbors=n_neighbors, seed=0)
    np.random.seed(0)
    evaluator = LinkabilityEvaluator(ori=TRAIN, syn=SYN, aux_cols=aux, n_attacks=40, n_neighbors=n_neighbors, control=CONTROL).evaluate(n_jobs=1)
    reference = quiet(lambda: evaluator.results())
    assert overlap(ours.attack_rate.ci, reference.attack_rate.to_risk().ci)
    assert overlap(ours.control_rate.ci, reference.control_rate.to_risk().ci)
    assert overlap(ours.ci, reference.risk().ci)


@pytest.mark.parametrize(
    ("secret", "regression"), [("education", False), ("marital", False), ("capital_gain", False), ("hr_per_week", True)]
)
def test_inference_intervals_overlap_and_per_group(secret, regression):
    aux = [c for c in ["age", "sex", "race", "type_employer", "occupation"] if c != secret]
    tolerance = 0.05 if regression else 0.0
    ours = metrics.inference_risk(
        TRAIN, SYN, CONTROL, aux_cols=aux, secret=secret, n_attacks=40, tolerance=tolerance,
        tolerance_relative_to="guess", per_group=True, group_control="all", seed=0,
    )
    np.random.seed(0)
    evaluator = InferenceEvaluator(
        ori=TRAIN, syn=SYN, aux_cols=aux, secret=secret, n_attacks=40, control=CONTROL, regression=regression
    ).evaluate(n_jobs=1)
    reference = quiet(lambda: evaluator.results())
    assert overlap(ours.attack_rate.ci, reference.attack_rate.to_risk().ci)
    assert overlap(ours.control_rate.ci, reference.control_rate.to_risk().ci)
    assert overlap(ours.ci, reference.risk().ci)
    groups = quiet(lambda: evaluator.risk_for_groups())
    # anonymeter lists every secret value of the original, attacked or not; a value
    # none of its targets holds has no rate (0/0)
    shared = {value for value in set(groups) & set(ours.groups) if groups[value].n_attacks_ori}
    assert shared, "the two attacks share secret values among their targets"
    for value in shared:
        mine, theirs = ours.groups[value], groups[value]
        assert overlap(mine.attack_rate.ci, theirs.attack_rate.to_risk().ci), value
        assert mine.control_rate.n_attacks == theirs.n_attacks_control  # every control record with that secret


def test_per_group_risks_partition_the_targets():
    ours = metrics.inference_risk(TRAIN, SYN, CONTROL, aux_cols=["age", "sex"], secret="race", n_attacks=None, per_group=True, seed=0)
    assert sum(g.n_attacks for g in ours.groups.values()) == ours.n_attacks == len(TRAIN)
    assert sum(g.n_successes for g in ours.groups.values()) == ours.n_successes
