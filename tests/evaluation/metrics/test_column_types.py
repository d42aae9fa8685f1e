"""``column_types``: a numeric-coded category, a number or a date stored as text
is read as declared by every metric."""

import numpy as np
import pandas as pd
import pytest

from evaluation import metrics


def test_numeric_coded_category_takes_the_categorical_distance():
    # diagnosis groups coded 1..4: as numbers t-closeness uses the ordered distance
    table = pd.DataFrame({"q": ["a"] * 4 + ["b"] * 4, "group": [1, 1, 2, 2, 3, 3, 4, 4]})
    ordered = metrics.t_closeness(table, "q", "group")
    categorical = metrics.t_closeness(table, "q", "group", column_types={"group": "categorical"})
    assert ordered == pytest.approx((0.25 + 0.5 + 0.25) / 3)  # Σ|cumulative diff| / (m − 1)
    assert categorical == pytest.approx(0.5)  # half the total variation
    assert metrics.t_closeness(table.astype({"group": str}), "q", "group") == categorical


def test_date_strings_are_dates_in_distances():
    release = pd.DataFrame({"admitted": ["2024-01-02", "2024-03-01"]})
    reference = pd.DataFrame({"admitted": ["2024-01-01", "2024-01-31", "2024-03-01"]})
    as_text = metrics.closest_record_distances(release, reference, ["admitted"])
    as_dates = metrics.closest_record_distances(release, reference, ["admitted"], column_types={"admitted": "date"})
    np.testing.assert_array_equal(as_text, [1.0, 0.0])  # text: a mismatch is a mismatch
    np.testing.assert_allclose(as_dates, [1 / 60, 0.0])  # one day of a 60-day range


def test_numbers_stored_as_text_are_ordered_for_the_risks():
    original = pd.DataFrame({"age": ["30", "41", "52", "63"] * 10, "sex": ["F", "M"] * 20})
    found = metrics.inference_risk(
        original, original, original, aux_cols=["age"], secret="sex", n_attacks=20, seed=0, column_types={"age": "numeric"}
    )
    assert found.attack_rate.n_attacks == 20


def test_values_that_are_not_of_the_declared_type_are_named():
    table = pd.DataFrame({"q": ["a", "b"], "age": ["30", "thirty"]})
    with pytest.raises(ValueError, match=r"'age'.*declared numeric.*'thirty'"):
        metrics.k_anonymity(table, ["q", "age"], column_types={"age": "numeric"})
    with pytest.raises(ValueError, match="column_types must map"):
        metrics.k_anonymity(table, "q", column_types={"q": "text"})
