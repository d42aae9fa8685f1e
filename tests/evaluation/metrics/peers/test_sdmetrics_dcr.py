"""SDMetrics' distance-to-closest-record test cases (SDMetrics 0.2x,
``tests/unit/single_table/privacy/test_dcr_utils.py`` and
``tests/integration/single_table/privacy/test_dcr_overfitting_protection.py``),
ported as data: SDMetrics is not a dependency (it pins its own pandas).

The project runs with SDMetrics' conventions, each an option of its own
(docs/metrics.md): ranges from the reference table with clipping
(``ranges="reference"``), per-row distances averaged over the columns
(``mean=True``), ties counted as closer to holdout (``ties="holdout"``), tables
compared at their given sizes (``equal_sizes=False``). Column types come from
``column_types`` as SDMetrics' metadata gives them (an integer-coded category, a
date stored as text, a boolean).
"""

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from evaluation import metrics

SDMETRICS = {"ranges": "reference", "ties": "holdout", "equal_sizes": False, "mean": True}
TYPES = {
    "num_col": "numeric",
    "cat_col": "categorical",
    "cat_int_col": "categorical",
    "bool_col": "categorical",
    "datetime_str_col": "date",
    "datetime_col": "date",
}


def real_data():
    return pd.DataFrame(
        {
            "num_col": [10, 20, np.nan, 40, 50, 60],
            "cat_col": ["A", "B", "A", None, "B", "C"],
            "cat_int_col": [1, 2, 1, None, 2, 3],
            "bool_col": [True, False, True, False, None, False],
            "datetime_str_col": ["2025-01-01", "2025-01-31", "2025-01-10", "2025-01-21", None, "2025-01-12"],
            "datetime_col": [
                datetime(2025, 1, 1), datetime(2025, 1, 31), datetime(2025, 1, 10), datetime(2025, 1, 21), pd.NaT, datetime(2025, 1, 12)
            ],
        }
    )


def synthetic_data():
    return pd.DataFrame(
        {
            "num_col": [10, 25, 30, 21, 7, np.nan],
            "cat_col": ["C", None, "A", None, "B", "C"],
            "cat_int_col": [3, None, 1, None, 2, 3],
            "bool_col": [False, True, True, False, True, None],
            "datetime_str_col": ["2025-01-10", "2025-01-22", None, "2025-01-02", "2025-01-30", "2025-01-06"],
            "datetime_col": [
                datetime(2025, 1, 10), datetime(2025, 1, 22), pd.NaT, datetime(2025, 1, 2), datetime(2025, 1, 30), datetime(2025, 1, 6)
            ],
        }
    )


def test_calculate_dcr():
    """``test_calculate_dcr``: SDMetrics states the distances to six decimals."""
    columns = list(TYPES)
    distances = metrics.closest_record_distances(synthetic_data(), real_data(), columns, column_types=TYPES)
    np.testing.assert_allclose(distances, [0.188888, 0.2277777, 0.4, 0.274444, 0.221111, 0.4], atol=1e-6)
    same = metrics.closest_record_distances(synthetic_data(), synthetic_data(), columns, column_types=TYPES)
    np.testing.assert_array_equal(same, np.zeros(6))


def test_calculate_dcr_on_the_shared_numeric_column():
    """``test_calculate_dcr_different_cols_in_metadata``: only ``num_col`` is
    shared, and its distances are exact."""
    distances = metrics.closest_record_distances(synthetic_data(), real_data(), ["num_col"])
    np.testing.assert_allclose(distances, [0.0, 0.1, 0.2, 0.02, 0.06, 0.0], rtol=0, atol=1e-15)


def test_process_dcr_chunk_first_row():
    """``test__process_dcr_chunk``: the first two synthetic rows without the date
    string column; SDMetrics' ranges (50 and 30 days) are the reference's."""
    columns = [c for c in TYPES if c != "datetime_str_col"]
    distances = metrics.closest_record_distances(synthetic_data().iloc[:2], real_data(), columns, column_types=TYPES)
    assert len(distances) == 2
    assert distances[0] == pytest.approx(0.213333, abs=1e-6)


@pytest.mark.parametrize(
    ("synthetic", "expected"),
    [((3.0, datetime(2025, 1, 2)), 1.0), ((5.0, datetime(2025, 1, 1)), 0.0), ((3.0, datetime(2025, 1, 1)), 0.5)],
)
def test_calculate_dcr_with_zero_range(synthetic, expected):
    """``test_calculate_dcr_with_zero_range``: a column constant in the reference
    counts 1 for any difference."""
    real = pd.DataFrame({"num_col": [5.0], "date_col": [datetime(2025, 1, 1)]})
    synth = pd.DataFrame({"num_col": [synthetic[0]], "date_col": [synthetic[1]]})
    assert metrics.closest_record_distances(synth, real, ["num_col", "date_col"])[0] == expected


def test_shuffled_rows_give_the_same_distances():
    """``test_calculate_dcr_with_shuffled_data``."""
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"num_col": rng.integers(1, 101, 20)})
    synthetic = pd.DataFrame({"num_col": rng.integers(1, 101, 20)})
    first = metrics.closest_record_distances(synthetic, real, ["num_col"]).sum()
    second = metrics.closest_record_distances(synthetic.sample(frac=1, random_state=1), real.sample(frac=1, random_state=2), ["num_col"]).sum()
    assert first == pytest.approx(second, abs=1e-6)


def _demo(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "score": rng.normal(70, 10, n).round(1),
            "degree": rng.choice(["Sci&Tech", "Comm&Mgmt", "Others"], n),
            "work_experience": rng.choice([True, False], n),
            "start_date": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
        }
    )


def test_overfitting_protection_end_to_end():
    """``test_end_to_end_with_demo`` on a table of the same kinds of columns: with
    ties counted as closer to holdout, a release equal to holdout (or to all
    three tables) is never closer to training, one equal to training always is."""
    train, holdout, synthetic = _demo(60, 1), _demo(60, 2), _demo(60, 3)
    columns = list(train.columns)

    def share(train_table, release, holdout_table, **options):
        return metrics.distance_to_closest_record(release, train_table, holdout_table, columns, **{**SDMETRICS, **options}).value

    assert share(train, synthetic, synthetic) == 0.0
    assert share(synthetic, synthetic, holdout) == 1.0
    assert share(synthetic, synthetic, synthetic) == 0.0
    # the project's default counts a tie as half: the train = release = holdout
    assert share(synthetic, synthetic, synthetic, ties="half") == 0.5
    assert 0.0 < share(train, synthetic, holdout) < 1.0


def test_overfitting_protection_numeric_only():
    """``test_compute_breakdown_drop_all_columns``: on the numeric column the
    release equals training."""
    train = pd.DataFrame({"num_col": [1.0, 2.0]})
    synthetic = pd.DataFrame({"num_col": [1.0, 2.0]})
    holdout = pd.DataFrame({"num_col": [3.0, 4.0]})
    result = metrics.distance_to_closest_record(synthetic, train, holdout, ["num_col"], **SDMETRICS)
    assert result.value == 1.0
    assert min(2 * (1 - result.value), 1.0) == 0.0  # SDMetrics' score


@pytest.mark.parametrize("ranges", ["all", "reference", "pair"])
def test_per_row_distances_are_returned_for_every_convention(ranges):
    train, holdout, synthetic = _demo(40, 4), _demo(40, 5), _demo(30, 6)
    result = metrics.distance_to_closest_record(synthetic, train, holdout, list(train.columns), ranges=ranges)
    assert result.distances_train.shape == result.distances_holdout.shape == (30,)
    assert result.median_distance_train == float(np.median(result.distances_train))
    closer = np.mean(result.distances_train < result.distances_holdout) + 0.5 * np.mean(result.distances_train == result.distances_holdout)
    assert result.value == pytest.approx(closer, abs=1e-15)
