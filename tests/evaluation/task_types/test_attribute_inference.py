import json

import pandas as pd
import pytest

from evaluation.task_types import OutputInvalid, Target, TaskData, TaskDataInvalid, get_task
from evaluation.task_types.attribute_inference import correct_guesses

TASK = get_task("attribute-inference")
QIS = ["age", "sex", "zip"]


def write(frame, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def fixed_data(tmp_path, records, defense_data):
    """The training records released unchanged; 100 member and 100 control targets."""
    members, controls = records["train"].iloc[:100], records["holdout"].iloc[:100]
    targets = pd.concat([members, controls], ignore_index=True)
    targets.insert(0, "target_id", [f"t{i:03d}" for i in range(len(targets))])
    secrets = pd.DataFrame(
        {"target_id": targets["target_id"], "secret": targets["diagnosis"], "group": ["member"] * 100 + ["control"] * 100}
    )
    columns = list(defense_data.schema.columns)
    files = {
        "release": write(records["train"][columns], tmp_path / "fixed" / "release.csv"),
        "targets": write(targets[["target_id", *QIS]], tmp_path / "fixed" / "targets.csv"),
        "secrets": write(secrets, tmp_path / "fixed" / "secrets.csv"),
    }
    return TaskData(files=files, schema=defense_data.schema)


def lookup_attack(input_dir):
    """Guess the diagnosis of the release row sharing the target's quasi-identifiers, else the mode."""
    release = pd.read_csv(input_dir / "release.csv", dtype=str)
    targets = pd.read_csv(input_dir / "targets.csv", dtype=str)
    known = release.drop_duplicates(QIS)[[*QIS, "diagnosis"]]
    guesses = targets.merge(known, on=QIS, how="left")
    guesses["guess"] = guesses["diagnosis"].fillna(release["diagnosis"].mode()[0])
    return guesses[["target_id", "guess"]]


def test_inputs_name_the_secret_and_hide_it(tmp_path, fixed_data):
    TASK.check_data(fixed_data)
    prepared = TASK.prepare(data=fixed_data, dest=tmp_path / "input", check=False, seed=1)
    names = sorted(p.name for p in (tmp_path / "input").iterdir())
    assert names == ["release.csv", "schema.json", "targets.csv", "task.json"]
    assert json.loads((tmp_path / "input" / "task.json").read_text()) == {
        "secret": "diagnosis",
        "type": "categorical",
        "tolerance": 0.05,
    }
    assert "diagnosis" not in (tmp_path / "input" / "targets.csv").read_text()
    assert prepared.context["secret"] == "diagnosis"


def test_lookup_attack_on_an_unprotected_release_has_high_risk(tmp_path, fixed_data, splits, storable):
    prepared = TASK.prepare(data=fixed_data, dest=tmp_path / "input", check=False, seed=1)
    path = write(lookup_attack(tmp_path / "input"), tmp_path / "guesses.csv")
    scores = TASK.score(output=TASK.validate(path=path, prepared=prepared), prepared=prepared, splits=splits)
    storable(scores, TASK)
    for split in ("public", "private"):
        found = scores[split]
        assert found["member_accuracy"].value > 0.9
        assert found["control_accuracy"].value < 0.6
        assert found["inference_risk"].value > 0.6
        assert found["inference_risk"].ci_low <= found["inference_risk"].value <= found["inference_risk"].ci_high
        assert 0.05 < found["baseline_accuracy"].value < 0.6
        assert found["baseline_accuracy"].detail["guess"] in {"I10", "E11", "J45"}


def test_guessing_the_mode_carries_no_risk(tmp_path, fixed_data, splits):
    prepared = TASK.prepare(data=fixed_data, dest=tmp_path / "input", check=False, seed=1)
    ids = prepared.expected_ids
    path = write(pd.DataFrame({"target_id": ids, "guess": ["I10"] * len(ids)}), tmp_path / "guesses.csv")
    scores = TASK.score(output=TASK.validate(path=path, prepared=prepared), prepared=prepared, splits=splits)
    for split in ("public", "private"):
        assert scores[split]["inference_risk"].value < 0.25


def test_numeric_secret_within_tolerance_counts():
    guesses = pd.Series(["100", "104.9", "106", "0", "5"])
    secrets = pd.Series(["100", "100", "100", "0", ""])
    assert correct_guesses(guesses, secrets, kind="numeric", tolerance=0.05).tolist() == [True, True, False, True, False]
    dates = correct_guesses(pd.Series(["2020-01-02", "2020-01-03"]), pd.Series(["2020-01-02", "2020-01-02"]), kind="date", tolerance=0.05)
    assert dates.tolist() == [True, False]


def test_malformed_guesses(tmp_path, fixed_data):
    prepared = TASK.prepare(data=fixed_data, dest=tmp_path / "input", check=False, seed=1)
    ids = prepared.expected_ids
    rows = [f"{i},I10" for i in ids[2:199]] + [f"{ids[2]},E11", "t999,E11", f"{ids[0]},"]
    path = tmp_path / "guesses.csv"
    path.write_text("target_id,guess\n" + "\n".join(rows) + "\n")
    with pytest.raises(OutputInvalid) as caught:
        TASK.validate(path=path, prepared=prepared)
    message = str(caught.value)
    assert f"line 199, column target_id: '{ids[2]}' appears again (first on line 2)" in message
    assert "line 200, column target_id: 't999' is not an id of targets.csv" in message
    assert "line 201, column guess: is empty" in message
    assert "column target_id: has no row for 2 of the 200 targets" in message


def test_numeric_secret_guesses_must_be_numbers(tmp_path, fixed_data):
    data = TaskData(files=fixed_data.files, schema=fixed_data.schema, options={"secret": "length_of_stay"})
    secrets = pd.read_csv(fixed_data.files["secrets"], dtype=str)
    secrets["secret"] = "4"
    secrets.to_csv(fixed_data.files["secrets"], index=False)
    prepared = TASK.prepare(data=data, dest=tmp_path / "input", check=False, seed=1)
    ids = prepared.expected_ids
    path = write(pd.DataFrame({"target_id": ids, "guess": ["four"] + ["4"] * (len(ids) - 1)}), tmp_path / "guesses.csv")
    with pytest.raises(OutputInvalid, match=r"guesses.csv line 2, column guess: 'four' is not a number"):
        TASK.validate(path=path, prepared=prepared)


def test_arena_targets_are_fresh_per_pair_and_hide_the_secret(tmp_path, arena_data, identity_release, records, splits):
    TASK.check_data(arena_data, arena=True)
    first = TASK.prepare(data=arena_data, dest=tmp_path / "a", check=False, seed=2, target=Target(identity_release, "d1"))
    again = TASK.prepare(data=arena_data, dest=tmp_path / "b", check=False, seed=2, target=Target(identity_release, "d1"))
    other = TASK.prepare(data=arena_data, dest=tmp_path / "c", check=False, seed=2, target=Target(identity_release, "d2"))
    assert first.answers["secrets"].equals(again.answers["secrets"])
    assert not set(first.expected_ids) & set(other.expected_ids)
    targets = pd.read_csv(tmp_path / "a" / "targets.csv", dtype=str)
    assert list(targets.columns) == ["target_id", *QIS]
    hidden_ids = set(records["train"]["record_id"]) | set(records["holdout"]["record_id"])
    for name in ("release.csv", "targets.csv"):
        text = (tmp_path / "a" / name).read_text()
        assert not any(record_id in text for record_id in hidden_ids)
    assert set(first.answers["secrets"]["group"].value_counts()) == {300}

    path = write(lookup_attack(tmp_path / "a"), tmp_path / "guesses.csv")
    scores = TASK.score(output=TASK.validate(path=path, prepared=first), prepared=first, splits=splits)
    assert scores["public"]["inference_risk"].value > 0.5


def test_check_data_needs_a_secret(tmp_path, fixed_data):
    from dataclasses import replace

    no_secret = TaskData(files=fixed_data.files, schema=replace(fixed_data.schema, sensitive=()))
    with pytest.raises(TaskDataInvalid, match="needs a secret column"):
        TASK.check_data(no_secret)
