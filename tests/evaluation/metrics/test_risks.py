import warnings

import numpy as np
import pandas as pd
import pytest
from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator
from anonymeter.stats.confidence import EvaluationResults

from evaluation import metrics
from evaluation.metrics.risks import SuccessRate, normalised_risk

N_ATTACKS = 200
COLUMNS = ["age", "sex", "postcode", "diagnosis", "length_of_stay"]
# two halves an attacker could hold in separate databases; each identifies a record
LINK_AUX = (["age", "sex", "weight"], ["postcode", "diagnosis", "height"])


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


@pytest.fixture(scope="module")
def tables(patients):
    full = patients(2400, 11)[COLUMNS]
    rng = np.random.default_rng(12)
    full = full.assign(weight=rng.normal(75, 12, len(full)).round(1), height=rng.normal(172, 9, len(full)).round(1))
    original = full.iloc[:1200].reset_index(drop=True)
    control = full.iloc[1200:].reset_index(drop=True)
    # a weakly perturbed release: ages jittered by up to two years
    release = original.assign(age=original["age"] + np.random.default_rng(5).integers(-2, 3, len(original)))
    return original, release, control


def anonymeter_results(evaluator) -> EvaluationResults:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluator.results()


def test_risk_normalisation_equals_anonymeters():
    for n, attack, control in [(500, 400, 100), (300, 30, 60), (1000, 1000, 0), (200, 5, 5)]:
        reference = EvaluationResults(n_attacks=n, n_success=attack, n_baseline=0, n_control=control).risk()
        value, ci = normalised_risk(
            SuccessRate.from_counts(attack, n, 0.95), SuccessRate.from_counts(control, n, 0.95), 0.95
        )
        assert value == pytest.approx(reference.value, abs=1e-12)
        assert ci == pytest.approx(reference.ci, abs=1e-12)


@pytest.mark.parametrize("mode", ["multivariate", "univariate"])
def test_singling_out_agrees_with_anonymeter(tables, mode):
    original, release, control = tables
    n_attacks = N_ATTACKS if mode == "multivariate" else 100
    ours = metrics.singling_out_risk(original, release, control, n_attacks=n_attacks, mode=mode, n_cols=3, seed=0)
    evaluator = SinglingOutEvaluator(original, release, n_attacks=n_attacks, n_cols=3, control=control, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluator.evaluate(mode=mode)
    reference = anonymeter_results(evaluator)
    assert ours.n_attacks == n_attacks, ours.warnings  # enough queries exist, as for anonymeter
    assert overlap(ours.attack_rate.ci, reference.attack_rate.to_risk().ci)
    assert overlap(ours.control_rate.ci, reference.control_rate.to_risk().ci)
    assert overlap(ours.baseline_rate.ci, reference.baseline_rate.to_risk().ci)
    assert overlap(ours.ci, reference.risk().ci)


def test_singling_out_with_a_smaller_control_rescales_it(tables):
    original, release, control = tables
    ours = metrics.singling_out_risk(original, release, control.iloc[:600], n_attacks=N_ATTACKS, seed=0)
    evaluator = SinglingOutEvaluator(original, release, n_attacks=N_ATTACKS, control=control.iloc[:600], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluator.evaluate(mode="multivariate")
    reference = anonymeter_results(evaluator)
    assert ours.control_rate.n_successes != int(ours.control_rate.n_successes)  # rescaled count
    assert overlap(ours.control_rate.ci, reference.control_rate.to_risk().ci)
    assert overlap(ours.ci, reference.risk().ci)


def test_linkability_agrees_with_anonymeter(tables):
    original, release, control = tables
    aux = LINK_AUX
    ours = metrics.linkability_risk(original, release, control, aux_cols=aux, n_attacks=N_ATTACKS, seed=0)
    np.random.seed(0)  # anonymeter draws its targets from numpy's global generator
    evaluator = LinkabilityEvaluator(original, release, aux_cols=aux, n_attacks=N_ATTACKS, control=control)
    evaluator.evaluate(n_jobs=1)
    reference = anonymeter_results(evaluator)
    assert ours.n_attacks == N_ATTACKS
    assert overlap(ours.attack_rate.ci, reference.attack_rate.to_risk().ci)
    assert overlap(ours.control_rate.ci, reference.control_rate.to_risk().ci)
    assert overlap(ours.baseline_rate.ci, reference.baseline_rate.to_risk().ci)
    assert overlap(ours.ci, reference.risk().ci)
    assert ours.attack_rate.value > 0.3  # the two halves do link through the release


@pytest.mark.parametrize(("secret", "aux"), [("diagnosis", ["age", "sex", "postcode"]), ("sex", ["age", "postcode", "diagnosis"])])
def test_inference_agrees_with_anonymeter(tables, secret, aux):
    original, release, control = tables
    ours = metrics.inference_risk(original, release, control, aux_cols=aux, secret=secret, n_attacks=N_ATTACKS, seed=0)
    np.random.seed(0)
    evaluator = InferenceEvaluator(original, release, aux_cols=aux, secret=secret, n_attacks=N_ATTACKS, control=control)
    evaluator.evaluate(n_jobs=1)
    reference = anonymeter_results(evaluator)
    assert overlap(ours.attack_rate.ci, reference.attack_rate.to_risk().ci)
    assert overlap(ours.control_rate.ci, reference.control_rate.to_risk().ci)
    assert overlap(ours.ci, reference.risk().ci)
    # anonymeter's baseline is not compared: it aligns random guesses to targets by
    # index label, leaving most guesses missing (see inference_risk's docstring).
    assert ours.baseline_rate.value < ours.attack_rate.value


def test_release_identical_to_original_gives_risk_near_one(tables):
    original, _, control = tables
    release = original.copy()
    singling = metrics.singling_out_risk(original, release, control, n_attacks=N_ATTACKS, seed=1)
    linking = metrics.linkability_risk(
        original, release, control, aux_cols=LINK_AUX, n_attacks=N_ATTACKS, seed=1
    )
    inferring = metrics.inference_risk(
        original, release, control, aux_cols=["age", "sex", "postcode", "diagnosis"], secret="length_of_stay", tolerance=0, n_attacks=N_ATTACKS, seed=1
    )
    assert singling.attack_rate.value == 1.0
    for risk in (singling, linking, inferring):
        assert risk.value > 0.85
        assert risk.ci[1] == 1.0 or risk.ci[1] > 0.95


def test_fewer_singling_out_queries_than_requested_is_reported(tables):
    original, release, control = tables
    risk = metrics.singling_out_risk(original, release, control, n_attacks=500, mode="univariate", seed=0)
    assert 0 < risk.n_attacks < 500
    assert risk.attack_rate.n_attacks == risk.control_rate.n_attacks == risk.n_attacks
    assert risk.baseline_rate.n_attacks == 500
    assert any("requested 500" in w for w in risk.warnings)
    assert risk.attack_rate.value == pytest.approx(risk.n_successes / risk.n_attacks)


def test_no_singling_out_query_at_all():
    # no value is rare and no extreme is held by one record (tables are deduplicated)
    original = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": [1, 2, 1, 2]})
    risk = metrics.singling_out_risk(original, original, original, n_attacks=10, mode="univariate", seed=0)
    assert risk.n_attacks == 0
    assert (risk.value, risk.ci) == (0.0, (0.0, 1.0))
    assert risk.warnings


def test_numeric_secret_uses_tolerance(tables):
    original, _, control = tables
    release = original.assign(length_of_stay=original["length_of_stay"] * 1.02 + 0.0)
    aux = ["age", "sex", "postcode", "diagnosis"]
    tolerant = metrics.inference_risk(original, release, control, aux_cols=aux, secret="length_of_stay", tolerance=0.05, n_attacks=N_ATTACKS, seed=2)
    exact = metrics.inference_risk(original, release, control, aux_cols=aux, secret="length_of_stay", tolerance=0.0, n_attacks=N_ATTACKS, seed=2)
    # length_of_stay of 0 stays 0 after scaling, so a few exact hits remain
    assert tolerant.attack_rate.value > 0.95
    assert exact.attack_rate.value < 0.1


def test_missing_values_are_handled(tables):
    original, release, control = (t.copy() for t in tables)
    rng = np.random.default_rng(9)
    for table in (original, release, control):
        for column in ("age", "postcode", "diagnosis"):
            table.loc[rng.random(len(table)) < 0.1, column] = None
    singling = metrics.singling_out_risk(original, release, control, n_attacks=100, seed=0)
    linking = metrics.linkability_risk(original, release, control, aux_cols=(["age", "sex"], ["postcode", "diagnosis"]), n_attacks=100, seed=0)
    inferring = metrics.inference_risk(original, release, control, aux_cols=["age", "postcode"], secret="diagnosis", n_attacks=100, seed=0)
    for risk in (singling, linking, inferring):
        assert 0.0 <= risk.ci[0] <= risk.value <= risk.ci[1] <= 1.0
        assert risk.n_attacks == 100


def test_one_column_and_single_row_classes():
    original = pd.DataFrame({"id": np.arange(300)})
    control = pd.DataFrame({"id": np.arange(1000, 1300)})
    risk = metrics.singling_out_risk(original, original, control, n_attacks=50, mode="univariate", seed=0)
    assert risk.n_attacks == 50
    assert risk.attack_rate.value == 1.0 and risk.control_rate.value == 0.0
    assert risk.value > 0.9
    two = pd.DataFrame({"id": np.arange(300), "code": [f"c{i}" for i in range(300)]})
    two_control = pd.DataFrame({"id": np.arange(1000, 1300), "code": [f"d{i}" for i in range(300)]})
    linked = metrics.linkability_risk(two, two, two_control, aux_cols=(["id"], ["code"]), n_attacks=100, seed=0)
    assert linked.attack_rate.value == 1.0
    inferred = metrics.inference_risk(two, two, two_control, aux_cols=["id"], secret="code", n_attacks=100, seed=0)
    assert inferred.attack_rate.value == 1.0 and inferred.control_rate.value == 0.0


def test_small_tables_are_attacked_in_full_with_a_warning(tables):
    original, release, control = tables
    risk = metrics.linkability_risk(original.iloc[:50], release, control, aux_cols=(["age"], ["postcode"]), n_attacks=100, seed=0)
    assert risk.n_attacks == 50 and risk.control_rate.n_attacks == 100
    assert any("50 original records" in w for w in risk.warnings)


def test_fixed_seed_reproduces_results(tables):
    original, release, control = tables
    first = metrics.singling_out_risk(original, release, control, n_attacks=100, seed=42)
    again = metrics.singling_out_risk(original, release, control, n_attacks=100, seed=42)
    assert first == again
    aux = (["age", "sex"], ["postcode", "diagnosis"])
    assert metrics.linkability_risk(original, release, control, aux_cols=aux, n_attacks=100, seed=3) == metrics.linkability_risk(
        original, release, control, aux_cols=aux, n_attacks=100, seed=3
    )


@pytest.mark.parametrize("bitset_bytes", [0, 256 * 2**20])
def test_query_evaluations_agree_with_a_plain_scan(monkeypatch, bitset_bytes):
    """Every way of counting query matches (prefix bitsets, candidate rows, dense
    blocks) gives what a row-by-row scan gives, missing values and != included."""
    from evaluation.metrics.risks import singling_out as so

    monkeypatch.setattr(so, "_BITSET_BYTES", bitset_bytes)
    rng = np.random.default_rng(3)
    n_rows, n_terms, n_queries = 700, 3, 1500
    table = np.vstack([
        rng.integers(0, 5, n_rows).astype(float),  # few values: unselective terms
        rng.normal(0, 1, n_rows).round(2),  # many values
        rng.integers(0, 300, n_rows).astype(float),
    ])
    table[rng.random(table.shape) < 0.05] = np.nan
    columns = rng.integers(0, table.shape[0], (n_queries, n_terms))
    ops = rng.integers(so.PAD, so.NOTNULL + 1, (n_queries, n_terms)).astype(np.int8)
    rows = rng.integers(0, n_rows, (n_queries, n_terms))
    values = table[columns, rows]
    values[rng.random(values.shape) < 0.1] += 0.5  # values the table does not hold
    queries = so._Queries(columns, ops, values)

    expected = np.ones((n_queries, n_rows), dtype=bool)
    with np.errstate(invalid="ignore"):
        for q, t in np.ndindex(n_queries, n_terms):
            expected[q] &= so._term_mask(table[columns[q, t]], int(ops[q, t]), values[q, t])
    indexed = so._IndexedTable(table)
    assert (indexed.bits(0) is not None) == (bitset_bytes > 0)
    counts = so._evaluate(indexed, queries)
    counts_with_matches, matches = so._evaluate(indexed, queries, keep_matches=True)
    np.testing.assert_array_equal(counts, expected.sum(axis=1))
    np.testing.assert_array_equal(counts_with_matches, expected.sum(axis=1))
    np.testing.assert_array_equal(matches.toarray().astype(bool), expected)
