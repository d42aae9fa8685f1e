import numpy as np
import pandas as pd
import pytest

from evaluation.task_types.base import OutputInvalid, Schema
from evaluation.task_types.csvio import Problems
from evaluation.task_types.values import parse_release, typed

SCHEMA = Schema(
    id_column="id",
    columns={"age": "numeric", "born": "date", "diagnosis": "categorical"},
    quasi_identifiers=("age", "born"),
)


def release(rows):
    frame = pd.DataFrame(rows, columns=list(SCHEMA.columns))
    frame.index = pd.RangeIndex(2, 2 + len(frame), name="line")
    return frame


def parse(rows):
    problems = Problems("release.csv")
    parsed = parse_release(release(rows), SCHEMA, problems)
    problems.raise_if_any()
    return parsed


def test_generalised_values_become_points_for_utility():
    parsed = parse(
        [
            ["[30, 40)", "[1980-01-01, 1980-12-31]", "{C50|I10}"],
            ["*", "*", "*"],
            ["", "", ""],
            ["42.5", "1990-06-15", "I10"],
            ["[0,0]", "1990-06-15", "{K35|F32}"],
        ]
    )
    values = parsed.values
    assert values["age"].tolist()[0] == 35.0 and values["age"].tolist()[3:] == [42.5, 0.0]
    assert np.isnan(values["age"].iloc[1]) and np.isnan(values["age"].iloc[2])
    assert values["born"].iloc[0] == pd.Timestamp("1980-07-01 12:00")
    assert values["born"].isna().tolist() == [False, True, True, False, False]
    # a set becomes its member that appears most often plainly; none appearing: missing
    assert values["diagnosis"].tolist()[0] == "I10"
    assert values["diagnosis"].iloc[1:3].isna().all() and pd.isna(values["diagnosis"].iloc[4])
    assert parsed.generalised["age"] == {"interval": 2, "suppressed": 1, "missing": 1}
    assert values["born"].dtype == "datetime64[ns]"


def test_the_same_generalisation_spelt_differently_is_one_class():
    parsed = parse(
        [
            ["[30, 40)", "[1980-01-01,1980-12-31]", "{C50|I10}"],
            ["[30.0,40)", "[1980-01-01, 1980-12-31]", "{ I10 | C50 }"],
            ["30", "1980-01-01", "*"],
            ["30.0", "1980-01-01", "*"],
        ]
    )
    classes = parsed.classes
    assert classes.iloc[0].tolist() == classes.iloc[1].tolist()
    assert classes.iloc[2].tolist() == classes.iloc[3].tolist()
    assert classes.iloc[0]["diagnosis"] == "{C50|I10}"


@pytest.mark.parametrize(
    "cell, column, says",
    [
        ("[40, 30]", "age", "lower bound 40 above its upper bound 30"),
        ("[30, 30)", "age", "is empty: in [lo, hi)"),
        ("(30, 40]", "age", "is not an interval [lo, hi] or [lo, hi) of two numbers"),
        ("thirty", "age", "is not a number, an interval"),
        ("nan", "age", "is not a number"),
        ("1980-02-30", "born", "is not a calendar date"),
        ("[1980-01-01, 1980-13-01]", "born", "has a bound that is not a calendar date"),
        ("80", "born", "is not an ISO date (YYYY-MM-DD)"),
        ("{I10|", "diagnosis", "does not close it"),
        ("{I10||C50}", "diagnosis", "a member is empty"),
    ],
)
def test_bad_generalised_values(cell, column, says):
    row = {"age": "30", "born": "1980-01-01", "diagnosis": "I10"}
    row[column] = cell
    with pytest.raises(OutputInvalid) as caught:
        parse([list(row.values())])
    assert caught.value.line == 2 and caught.value.column == column
    assert says in str(caught.value)


def test_typed_plain_records():
    frame = pd.DataFrame({"age": ["30", ""], "born": ["1980-01-01", "x"], "diagnosis": ["I10", ""]})
    out = typed(frame, SCHEMA)
    assert out["age"].tolist()[0] == 30.0 and np.isnan(out["age"].iloc[1])
    assert out["born"].iloc[0] == pd.Timestamp("1980-01-01") and pd.isna(out["born"].iloc[1])
    assert out["diagnosis"].iloc[0] == "I10" and pd.isna(out["diagnosis"].iloc[1])
