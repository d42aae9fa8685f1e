import dataclasses
import json

import pandas as pd
import pytest

from evaluation import metrics
from evaluation.task_types import OutputInvalid, TaskData, TaskDataInvalid, get_task
from evaluation.task_types.base import RULES
from evaluation.task_types.csvio import Problems
from evaluation.task_types.values import parse_release

TASK = get_task("tabular-anonymization")


@pytest.fixture
def prepared(tmp_path, defense_data):
    TASK.check_data(defense_data)
    return TASK.prepare(data=defense_data, dest=tmp_path / "input", check=False, seed=4)


def write(frame, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def generalise(train: pd.DataFrame) -> pd.DataFrame:
    """Ten-year age bands, zip suppressed, dates to the year, rare diagnoses merged into a set."""
    out = train.copy()
    age = out["age"].astype(int)
    out["age"] = [f"[{a // 10 * 10}, {a // 10 * 10 + 10})" for a in age]
    out["zip"] = "*"
    out["admitted"] = [f"[{d[:4]}-01-01, {d[:4]}-12-31]" for d in out["admitted"]]
    out["diagnosis"] = out["diagnosis"].where(out["diagnosis"].isin(["I10", "E11", "J45"]), "{C50|F32|K35}")
    return out


def test_records_are_the_training_data_and_the_check_run_the_sample(tmp_path, defense_data, records):
    prepared = TASK.prepare(data=defense_data, dest=tmp_path / "real", check=False, seed=1)
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["records.csv", "schema.json"]
    assert pd.read_csv(tmp_path / "real" / "records.csv", dtype=str).equals(records["train"])
    assert TASK.sees_hidden_data(check=False)
    assert len(prepared.context["record_ids"]) == 300

    check = TASK.prepare(data=defense_data, dest=tmp_path / "check", check=True, seed=1)
    assert pd.read_csv(tmp_path / "check" / "records.csv", dtype=str).equals(records["sample"])
    assert not TASK.sees_hidden_data(check=True)
    assert check.answers == {}
    with pytest.raises(ValueError, match="check run is not scored"):
        TASK.score(output=pd.DataFrame(), prepared=check, splits=None)


def test_identity_release_is_useful_and_unsafe(tmp_path, prepared, records, splits, storable):
    output = TASK.validate(path=write(records["train"], tmp_path / "release.csv"), prepared=prepared)
    scores = TASK.score(output=output, prepared=prepared, splits=splits)
    storable(scores, TASK)
    for split in ("public", "private"):
        found = scores[split]
        assert found["k_anonymity"].value == 1
        assert found["prosecutor_risk"].value == 1.0
        assert found["records_at_risk"].value > 0.9
        assert found["marginal_fidelity_1way"].value > 0.8
        assert found["marginal_fidelity_2way"].value > 0.6
        assert found["correlation_difference"].value < 0.2
        assert 0.6 < found["ml_utility"].value <= 1.0
        assert found["ml_utility"].detail["ratio"] == pytest.approx(1.0)  # as useful as the real data
        # Every row is a training record; DCR compares train and holdout at equal size, so
        # half the training records are left out and ~3/4 of the rows end up closer to train.
        dcr = found["distance_to_closest_record"]
        assert dcr.value > 0.65
        assert dcr.detail["median_distance_train"] < dcr.detail["median_distance_holdout"] / 2
        assert found["singling_out_risk"].value > 0.3
        assert found["linkability_risk"].value > 0.5
        assert found["inference_risk"].value > 0.5
        for key, value in found.items():
            assert value.value is not None, (split, key, value.detail)


def test_generalised_release_is_safer(tmp_path, prepared, records, splits):
    output = TASK.validate(path=write(generalise(records["train"]).drop(columns=["record_id"]), tmp_path / "release.csv"), prepared=prepared)
    scores = TASK.score(output=output, prepared=prepared, splits=splits)
    identity = TASK.score(
        output=TASK.validate(path=write(records["train"], tmp_path / "identity.csv"), prepared=prepared),
        prepared=prepared,
        splits=splits,
    )
    found = scores["public"]
    assert found["k_anonymity"].value >= 1
    assert found["records_at_risk"].value < identity["public"]["records_at_risk"].value
    assert found["prosecutor_risk"].detail["classes"] < identity["public"]["prosecutor_risk"].detail["classes"]
    assert found["linkability_risk"].value < identity["public"]["linkability_risk"].value
    dcr, identity_dcr = found["distance_to_closest_record"], identity["public"]["distance_to_closest_record"]
    assert dcr.detail["median_distance_train"] > identity_dcr.detail["median_distance_train"]
    assert found["k_anonymity"].detail["generalised"]["zip"] == {"suppressed": 300}
    assert found["marginal_fidelity_1way"].value > 0.5


def test_release_on_holdout_records_is_no_closer_to_training(tmp_path, prepared, records, splits):
    """Fresh records of the population (a perfect synthesiser's output) leak nothing of train."""
    fresh = records["sample"].drop(columns=["record_id"])
    scores = TASK.score(output=TASK.validate(path=write(fresh, tmp_path / "r.csv"), prepared=prepared), prepared=prepared, splits=splits)
    for split in ("public", "private"):
        assert scores[split]["distance_to_closest_record"].value < 0.7
        assert scores[split]["linkability_risk"].value < 0.3


def test_splits_use_holdout_parts(tmp_path, prepared, records, splits):
    output = TASK.validate(path=write(records["train"], tmp_path / "release.csv"), prepared=prepared)
    scores = TASK.score(output=output, prepared=prepared, splits=splits)
    sizes = [scores[s]["ml_utility"].detail["test_rows"] for s in ("public", "private")]
    assert sum(sizes) == 300 and min(sizes) > 100
    assert scores["public"]["ml_utility"].value != scores["private"]["ml_utility"].value


def invalid(tmp_path, prepared, text):
    path = tmp_path / "release.csv"
    path.write_text(text)
    with pytest.raises(OutputInvalid) as caught:
        TASK.validate(path=path, prepared=prepared)
    assert caught.value.file == "release.csv"
    return caught.value


HEADER = "age,sex,zip,admitted,length_of_stay,diagnosis,readmitted\n"


def test_bad_generalised_values_name_line_and_column(tmp_path, prepared):
    error = invalid(
        tmp_path,
        prepared,
        HEADER
        + '"[40, 30]",F,*,2020-01-05,3,I10,no\n'
        + '"[30, 40)",F,*,2020-13-05,3,{I10|,no\n'
        + 'old,M,10115,"[2021-01-01, 2021-12-31]",3,I10,no\n'
        + '*,M,10115,2021,"[3, ]",{},no\n',
    )
    message = str(error)
    assert error.line == 2 and error.column == "age"
    assert "line 2, column age: '[40, 30]' has its lower bound 40 above its upper bound 30" in message
    assert "line 3, column admitted: '2020-13-05' is not a calendar date" in message
    assert "line 3, column diagnosis: '{I10|' opens a set with { but does not close it" in message
    assert "line 4, column age: 'old' is not a number, an interval such as [30, 40), or * (suppressed)" in message
    assert "line 5, column admitted: '2021' is not an ISO date" in message
    assert "line 5, column length_of_stay: '[3, ]' is not an interval [lo, hi] or [lo, hi) of two numbers" in message
    assert "line 5, column diagnosis: '{}' is not a set of values {a|b|c}: a member is empty" in message


def test_unquoted_interval_gets_a_hint(tmp_path, prepared):
    error = invalid(tmp_path, prepared, HEADER + "[30, 40),F,*,2020-01-05,3,I10,no\n")
    assert error.line == 2
    assert "has 8 fields but the header has 7" in str(error) and "must be in double quotes" in str(error)


def test_release_shape_errors(tmp_path, prepared):
    assert "misses the column readmitted" in str(invalid(tmp_path, prepared, "age,sex,zip,admitted,length_of_stay,diagnosis\n1,F,*,*,*,*\n"))
    assert "at least 1 expected" in str(invalid(tmp_path, prepared, HEADER))
    error = invalid(tmp_path, prepared, "record_id," + HEADER + "nobody,30,F,*,*,*,*,no\n")
    assert "line 2, column record_id: 'nobody' is not an id of records.csv" in str(error)


def test_each_problem_names_its_rule_and_the_first_problem_names_the_error(tmp_path, prepared):
    # A release is derived from hidden records: its team learns the rule's name only, which
    # must be one of the fixed names and quote nothing the file holds.
    error = invalid(
        tmp_path,
        prepared,
        "record_id," + HEADER
        + 'p00001,"[40, 30]",F,*,2020-01-05,3,I10,no\n'
        + "p00001,SECRET-age,F,*,2020-01-05,3,I10,no\n"
        + "SECRET-id,30,F,*,2020-13-05,3,{SECRET-dx|,no\n",
    )
    assert "SECRET-age" in str(error) and "p00001" in str(error)  # organizers see the values
    assert [(p.line, p.column, p.rule) for p in error.problems] == [
        (2, "age", "bad-interval"),
        (3, "record_id", "duplicate-id"),
        (3, "age", "not-a-number"),
        (4, "record_id", "unknown-id"),
        (4, "admitted", "not-a-date"),
        (4, "diagnosis", "bad-set"),
    ]
    assert error.rule == "bad-interval" and all(p.rule in RULES for p in error.problems)

    header = invalid(tmp_path, prepared, "SECRET-a,SECRET-a," + HEADER + "x,x,1,F,*,*,*,*,no\n")
    assert "SECRET-a" in str(header) and header.rule == "duplicate-column"
    assert invalid(tmp_path, prepared, HEADER.replace("age,", "")).rule == "missing-column"
    assert invalid(tmp_path, prepared, "").rule == "file-empty"


def test_row_cap(tmp_path, prepared):
    rows = prepared.context["max_rows"]
    path = tmp_path / "release.csv"
    with path.open("w") as handle:
        handle.write(HEADER)
        handle.write("*,*,*,*,*,*,*\n" * (rows + 1))
    with pytest.raises(OutputInvalid, match=f"release.csv line {rows + 2}: too many rows: at most {rows}"):
        TASK.validate(path=path, prepared=prepared)


def test_fully_suppressed_release_still_scores(tmp_path, prepared, splits, storable):
    path = tmp_path / "release.csv"
    path.write_text(HEADER + "*,*,*,*,*,*,*\n" * 50)
    scores = TASK.score(output=TASK.validate(path=path, prepared=prepared), prepared=prepared, splits=splits)
    storable(scores, TASK)
    assert scores["public"]["k_anonymity"].value == 50
    assert scores["public"]["prosecutor_risk"].value == pytest.approx(0.02)
    assert scores["public"]["marginal_fidelity_1way"].value < 0.2
    assert scores["public"]["ml_utility"].value is None or scores["public"]["ml_utility"].value <= 0.6


def test_check_data_catches_organizer_mistakes(tmp_path, defense_data, records):
    missing = TaskData(files={k: v for k, v in defense_data.files.items() if k != "holdout"}, schema=defense_data.schema)
    with pytest.raises(TaskDataInvalid, match="needs the dataset holdout"):
        TASK.check_data(missing)
    broken = records["holdout"].copy()
    broken.loc[4, "age"] = "forty"
    write(broken, defense_data.files["holdout"])
    with pytest.raises(TaskDataInvalid, match=r"dataset 'holdout', column age \(numeric\): 'forty' on line 6 is not a number"):
        TASK.check_data(defense_data)
    no_ids = records["holdout"].drop(columns=["record_id"])
    write(no_ids, defense_data.files["holdout"])
    with pytest.raises(TaskDataInvalid, match="dataset 'holdout' misses the column record_id"):
        TASK.check_data(defense_data)


# ----------------------------------------------------------------------------- hierarchies

# ICD-10 chapters above the test's codes, then everything
CHAPTERS = {"I10": "I00-I99", "E11": "E00-E90", "J45": "J00-J99", "C50": "C00-D48", "F32": "F00-F99", "K35": "K00-K93"}
HIERARCHY = tuple((code, chapter, "any") for code, chapter in CHAPTERS.items())


@pytest.fixture
def prepared_with_hierarchy(tmp_path, defense_data):
    data = TaskData(
        files=defense_data.files,
        schema=dataclasses.replace(defense_data.schema, hierarchies={"diagnosis": HIERARCHY}),
    )
    TASK.check_data(data)
    return TASK.prepare(data=data, dest=tmp_path / "input", check=False, seed=4)


def test_the_hierarchy_travels_in_schema_json(prepared_with_hierarchy):
    written = json.loads((prepared_with_hierarchy.input_dir / "schema.json").read_text())
    diagnosis = next(c for c in written["columns"] if c["name"] == "diagnosis")
    assert diagnosis["hierarchy"][0] == ["I10", "I00-I99", "any"]
    # and the validation a starting kit runs rebuilds it from the input folder alone
    again = TASK.prepared_from_input(prepared_with_hierarchy.input_dir)
    assert again.context["schema"].hierarchy("diagnosis").groups()["I00-I99"] == {"I10"}


def test_a_release_may_generalise_to_a_group_of_the_hierarchy(tmp_path, prepared_with_hierarchy, records, splits):
    release = records["train"].drop(columns=["record_id"]).copy()
    # every other row of the rarer codes to its chapter (the other half keeps the code, so a
    # chapter's plain value is that code), five rows to the root
    rare = ~release["diagnosis"].isin(["I10", "E11"]) & (release.index % 2 == 0)
    rare[release.index[:5]] = False
    release.loc[rare, "diagnosis"] = release.loc[rare, "diagnosis"].map(CHAPTERS)
    release.loc[release.index[:5], "diagnosis"] = "any"  # the root: withheld, as *
    output = TASK.validate(path=write(release, tmp_path / "release.csv"), prepared=prepared_with_hierarchy)
    scores = TASK.score(output=output, prepared=prepared_with_hierarchy, splits=splits)
    generalised = scores["public"]["k_anonymity"].detail["generalised"]["diagnosis"]
    assert generalised == {"group": int(rare.sum()), "suppressed": 5}
    t = scores["public"]["t_closeness"]
    assert t.detail["distance"] == {"diagnosis": "hierarchical (height 2)"}
    assert t.detail["rows_without_value"] == {"diagnosis": 5}
    assert 0 < t.value <= 1
    # the classes of k-anonymity see the group label as one value, the same for {J45} spelt out
    parsed = parse_release(pd.DataFrame({c: ["J00-J99", "{J45}", "any", "J45"] for c in release.columns}),
                           prepared_with_hierarchy.context["schema"], Problems("r"))
    assert parsed.classes["diagnosis"].tolist() == ["J00-J99", "J00-J99", "*", "J45"]
    assert parsed.values["diagnosis"].fillna("missing").tolist() == ["J45", "J45", "missing", "J45"]


def test_values_outside_the_hierarchy_break_its_rule(tmp_path, prepared_with_hierarchy):
    error = invalid(
        tmp_path,
        prepared_with_hierarchy,
        HEADER + "34,F,10115,2020-01-05,3,I99,no\n" + "34,F,10115,2020-01-05,3,{I10|X00},no\n" + "34,F,10115,2020-01-05,3,J00-J99,no\n",
    )
    assert error.rule == "not-in-hierarchy" and error.rule in RULES
    assert "line 2, column diagnosis: 'I99' is not a value or a group of the hierarchy of diagnosis" in str(error)
    assert "line 3, column diagnosis: '{I10|X00}'" in str(error)
    assert "line 4" not in str(error)


def test_records_outside_the_hierarchy_are_refused_at_import(defense_data):
    partial = TaskData(
        files=defense_data.files,
        schema=dataclasses.replace(defense_data.schema, hierarchies={"diagnosis": HIERARCHY[:3] + (("K35", "K00-K93", "any"),)}),
    )
    with pytest.raises(TaskDataInvalid, match=r"dataset '\w+', column diagnosis: '(C50|F32)' on line \d+ is not one of the values"):
        TASK.check_data(partial)


def test_t_closeness_is_the_hierarchys_on_the_release(tmp_path, prepared_with_hierarchy, records, splits):
    """The score equals the library's on the release's classes, and the equal distance
    without a hierarchy is never smaller (every pair of codes is at most 1 apart)."""
    release = generalise(records["train"]).drop(columns=["record_id"])
    release["diagnosis"] = records["train"]["diagnosis"]
    path = write(release, tmp_path / "release.csv")
    scores = TASK.score(output=TASK.validate(path=path, prepared=prepared_with_hierarchy), prepared=prepared_with_hierarchy, splits=splits)
    qis = list(prepared_with_hierarchy.context["schema"].quasi_identifiers)
    parsed = parse_release(pd.read_csv(path, dtype=str, keep_default_na=False), prepared_with_hierarchy.context["schema"], Problems("r"))
    table = pd.concat([parsed.classes[qis], parsed.values[["diagnosis"]]], axis=1)
    expected = metrics.t_closeness(table, qis, "diagnosis", hierarchies={"diagnosis": HIERARCHY})
    assert scores["public"]["t_closeness"].value == pytest.approx(expected, abs=1e-12)
    assert scores["public"]["t_closeness"].value == scores["private"]["t_closeness"].value  # a property of the release
    assert metrics.t_closeness(table, qis, "diagnosis", column_types={"diagnosis": "categorical"}) >= expected > 0


def test_t_closeness_without_a_hierarchy_is_ordered_or_equal(tmp_path, prepared, records, splits):
    output = TASK.validate(path=write(records["train"], tmp_path / "release.csv"), prepared=prepared)
    t = TASK.score(output=output, prepared=prepared, splits=splits)["public"]["t_closeness"]
    assert t.detail["distance"] == {"diagnosis": "equal"}
    assert t.detail["rows_without_value"] == {}
    assert 0 < t.value <= 1
