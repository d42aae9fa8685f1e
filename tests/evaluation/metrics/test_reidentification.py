
import numpy as np
import pandas as pd
import pytest

from evaluation import metrics


@pytest.fixture
def sample():
    # classes of sizes 1, 2, 3 and 4 (n = 10)
    return pd.DataFrame({"zip": ["a"] + ["b"] * 2 + ["c"] * 3 + ["d"] * 4, "sex": ["F"] * 10})


def test_prosecutor_risk_by_hand(sample):
    risk = metrics.reidentification_risk(sample, ["zip", "sex"])
    assert risk.prosecutor_highest_risk == 1.0
    assert risk.prosecutor_average_risk == pytest.approx(4 / 10)  # classes / records
    assert risk.prosecutor_records_at_risk == 1.0  # every record risk ≥ 1/4 > 0.09
    assert risk.sample_uniqueness == pytest.approx(0.1)
    assert (risk.n_records, risk.n_classes) == (10, 4)
    assert risk.journalist_highest_risk is None


def test_records_at_risk_use_a_strict_threshold(sample):
    # record risks: 1, 1/2 (×2), 1/3 (×3), 1/4 (×4)
    assert metrics.reidentification_risk(sample, "zip", threshold=0.3).prosecutor_records_at_risk == pytest.approx(0.6)
    assert metrics.reidentification_risk(sample, "zip", threshold=0.5).prosecutor_records_at_risk == pytest.approx(0.1)


def test_journalist_risk_by_hand(sample):
    # population class sizes F: a 2, b 4, c 3, d 10, plus classes absent from the sample
    population = pd.DataFrame(
        {"zip": ["a"] * 2 + ["b"] * 4 + ["c"] * 3 + ["d"] * 10 + ["e"] * 5, "sex": ["F"] * 24}
    )
    risk = metrics.reidentification_risk(sample, ["zip", "sex"], population=population)
    assert risk.journalist_highest_risk == pytest.approx(1 / 2)
    # (1·1/2 + 2·1/4 + 3·1/3 + 4·1/10) / 10
    assert risk.journalist_average_risk == pytest.approx(0.24)
    assert risk.journalist_records_at_risk == 1.0
    strict = metrics.reidentification_risk(sample, ["zip", "sex"], threshold=0.3, population=population)
    assert strict.journalist_records_at_risk == pytest.approx(0.4)  # a (1 record, 1/2), c (3 records, 1/3)


def test_population_lacking_sample_records_counts_them(sample):
    population = pd.DataFrame({"zip": ["d"] * 8, "sex": ["F"] * 8})
    risk = metrics.reidentification_risk(sample, ["zip", "sex"], population=population)
    assert risk.journalist_highest_risk == 1.0  # class a is only in the sample
    assert risk.journalist_average_risk == pytest.approx((1 + 1 + 1 + 4 / 8) / 10)


def test_missing_values_form_a_class():
    df = pd.DataFrame({"zip": ["a", "a", np.nan, None], "age": [1.0, 1.0, np.nan, np.nan]})
    risk = metrics.reidentification_risk(df, ["zip", "age"])
    assert risk.prosecutor_highest_risk == 0.5
    assert risk.sample_uniqueness == 0.0


def test_a_million_records(patients):
    # Its speed (target: under 1 s) is printed by benchmarks/metrics_vs_peers.py, not asserted here.
    df = patients(1_000_000, 3)
    risk = metrics.reidentification_risk(df, ["age", "sex", "postcode"], population=df)
    sizes = df.groupby(["age", "sex", "postcode"]).size()
    assert risk.prosecutor_highest_risk == pytest.approx(1 / sizes.min())
    assert risk.prosecutor_average_risk == pytest.approx(len(sizes) / len(df))
    assert risk.journalist_average_risk == pytest.approx(risk.prosecutor_average_risk)
