"""ARX's re-identification risk definitions (``RiskModelSampleSummary``, ARX 3.9)
against the project, on ARX's test values and its adult data.

ARX is Java, so its sample-summary loops are ported below line by line as the
reference (``arx_prosecutor``, ``arx_journalist``, ``arx_marketer``) and its test
values are kept as literals.
"""

import functools

import pandas as pd
import pytest

from evaluation import metrics
from tests.evaluation.metrics.peers.common import DATA

ATTRIBUTES = ["sex", "age", "race", "marital-status", "education", "native-country", "workclass", "occupation", "salary-class"]


@functools.lru_cache(maxsize=1)
def adult() -> pd.DataFrame:
    return pd.read_csv(DATA / "arx" / "adult.csv.gz", sep=";", dtype=str)


def _groups(df: pd.DataFrame, qis) -> dict:
    return df.groupby(qis, dropna=False).size().to_dict()


def arx_prosecutor(sample: pd.DataFrame, qis, threshold: float) -> dict:
    """``RiskModelSampleSummary.getProsecutorRisk`` (population = sample)."""
    r_a = r_b = r_m = 0.0
    smallest, largest = float("inf"), -float("inf")
    n_classes = n_records = 0
    for size in _groups(sample, qis).values():
        if 1.0 / size > threshold:
            r_a += size
        smallest, largest = min(smallest, size), max(largest, size)
        n_classes += 1
        n_records += size
    r_a /= n_records
    r_b = 1.0 / smallest
    r_m = 1.0 / largest
    return {"records_at_risk": r_a, "highest": r_b, "average": n_classes / n_records, "lowest": r_m}


def arx_journalist(sample: pd.DataFrame, population: pd.DataFrame, qis, threshold: float) -> dict:
    """``RiskModelSampleSummary.getJournalistRisk``."""
    in_population = _groups(population, qis)
    r_a = r_c1 = r_c2 = 0.0
    n_records = n_classes = 0
    smallest, largest = float("inf"), -float("inf")
    for key, size in _groups(sample, qis).items():
        population_size = in_population[key]
        if 1.0 / population_size > threshold:
            r_a += size
        smallest, largest = min(smallest, population_size), max(largest, population_size)
        n_classes += 1
        n_records += size
        r_c1 += population_size
        r_c2 += size / population_size
    return {
        "records_at_risk": r_a / n_records,
        "highest": 1.0 / smallest,
        "lowest": 1.0 / largest,
        "average": max(n_classes / r_c1, r_c2 / n_records),
    }


def arx_marketer(sample: pd.DataFrame, population: pd.DataFrame, qis) -> float:
    """``RiskModelSampleSummary.getMarketerRisk``."""
    in_population = _groups(population, qis)
    r_c, n_records = 0.0, 0
    for key, size in _groups(sample, qis).items():
        n_records += size
        r_c += size / in_population[key]
    return r_c / n_records


def test_issue_example_journalist_average_is_arxs():
    """Sample a×100, b×1 against a population a×10000, b×1000: ARX's average
    journalist risk is max(2/11000, (100/10000 + 1/1000)/101) = 1.818e-4."""
    sample = pd.DataFrame({"q": ["a"] * 100 + ["b"]})
    population = pd.DataFrame({"q": ["a"] * 10000 + ["b"] * 1000})
    risk = metrics.reidentification_risk(sample, "q", population=population)
    assert risk.journalist_average_risk == pytest.approx(2 / 11000, rel=1e-15)
    assert risk.marketer_risk == pytest.approx((100 / 10000 + 1 / 1000) / 101, rel=1e-15)
    assert risk.journalist_average_risk == arx_journalist(sample, population, ["q"], 0.09)["average"]


def test_adult_average_risk_before_anonymisation():
    """ARX's TestRiskMetrics.testAverageRisk2 / testHighestIndividualRisk2: the
    adult table with every attribute a quasi-identifier."""
    risk = metrics.reidentification_risk(adult(), ATTRIBUTES)
    assert risk.prosecutor_average_risk == 0.6465751607983555
    assert risk.prosecutor_highest_risk == 1.0
    assert risk.marketer_risk == risk.prosecutor_average_risk


@pytest.mark.parametrize("qis", [["sex", "age", "race"], ["age", "education", "marital-status"], ["native-country", "occupation"]])
@pytest.mark.parametrize("threshold", [0.09, 0.2, 0.5])
def test_prosecutor_equals_arx(qis, threshold):
    sample = adult().sample(3000, random_state=1)
    risk = metrics.reidentification_risk(sample, qis, threshold=threshold)
    reference = arx_prosecutor(sample, qis, threshold)
    assert risk.prosecutor_records_at_risk == pytest.approx(reference["records_at_risk"], abs=1e-12)
    assert risk.prosecutor_highest_risk == pytest.approx(reference["highest"], abs=1e-12)
    assert risk.prosecutor_lowest_risk == pytest.approx(reference["lowest"], abs=1e-12)
    assert risk.prosecutor_average_risk == pytest.approx(reference["average"], abs=1e-12)


@pytest.mark.parametrize("qis", [["sex", "age", "race"], ["age", "education", "marital-status"], ["native-country", "occupation"]])
@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.5])
def test_journalist_and_marketer_equal_arx(qis, fraction):
    """A sample of ARX's adult table against the whole table as its population
    (ARX's superset handle)."""
    population = adult()
    sample = population.sample(frac=fraction, random_state=2)
    risk = metrics.reidentification_risk(sample, qis, population=population)
    reference = arx_journalist(sample, population, qis, 0.09)
    assert risk.journalist_records_at_risk == pytest.approx(reference["records_at_risk"], abs=1e-12)
    assert risk.journalist_highest_risk == pytest.approx(reference["highest"], abs=1e-12)
    assert risk.journalist_lowest_risk == pytest.approx(reference["lowest"], abs=1e-12)
    assert risk.journalist_average_risk == pytest.approx(reference["average"], abs=1e-12)
    assert risk.marketer_risk == pytest.approx(arx_marketer(sample, population, qis), abs=1e-12)


def test_population_equal_to_sample_gives_the_prosecutor_figures():
    sample = adult().sample(2000, random_state=3)
    risk = metrics.reidentification_risk(sample, ["age", "sex"], population=sample)
    assert risk.journalist_average_risk == pytest.approx(risk.prosecutor_average_risk, abs=1e-15)
    assert risk.journalist_highest_risk == risk.prosecutor_highest_risk
