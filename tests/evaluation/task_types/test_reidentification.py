import pandas as pd
import pytest

from evaluation.task_types import OutputInvalid, Target, TaskData, TaskDataInvalid, get_task

TASK = get_task("reidentification")
QIS = ["age", "sex", "zip"]


def write(frame, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def qi_linkage(input_dir, *, confidence_for_unique=0.9):
    """The classic attack: join release and register on the quasi-identifiers."""
    release = pd.read_csv(input_dir / "release.csv", dtype=str)
    register = pd.read_csv(input_dir / "register.csv", dtype=str)
    matches = release[["release_id", *QIS]].merge(register[["identity_id", *QIS]], on=QIS)
    counts = matches.groupby("release_id")["identity_id"].transform("size")
    matches["confidence"] = confidence_for_unique / counts
    return matches.drop_duplicates("release_id")[["release_id", "identity_id", "confidence"]]


@pytest.fixture
def fixed_data(tmp_path, records, register, defense_data):
    """A fixed competition: 300 training records released with their QIs unchanged."""
    register_table, identities = register
    release = records["train"].copy()
    release.insert(0, "release_id", [f"r{i:04d}" for i in range(len(release))])
    truth = release[["release_id", "record_id"]].merge(identities, on="record_id")[["release_id", "identity_id"]]
    files = {
        "release": write(release.drop(columns=["record_id"]), tmp_path / "fixed" / "release.csv"),
        "register": write(register_table, tmp_path / "fixed" / "register.csv"),
        "truth": write(truth, tmp_path / "fixed" / "truth.csv"),
    }
    return TaskData(files=files, schema=defense_data.schema)


def test_linkage_on_an_unprotected_release_reidentifies_most_people(tmp_path, fixed_data, splits, storable):
    TASK.check_data(fixed_data)
    prepared = TASK.prepare(data=fixed_data, dest=tmp_path / "input", check=False, seed=1)
    assert sorted(p.name for p in (tmp_path / "input").iterdir()) == ["register.csv", "release.csv", "schema.json"]
    links = write(qi_linkage(tmp_path / "input"), tmp_path / "links.csv")
    output = TASK.validate(path=links, prepared=prepared)
    scores = TASK.score(output=output, prepared=prepared, splits=splits)
    storable(scores, TASK)
    identifiable = sum(scores[s]["reidentification_rate"].detail["n"] for s in ("public", "private"))
    assert identifiable == 200  # the register holds 200 of the 300 released patients
    for split in ("public", "private"):
        rate = scores[split]["reidentification_rate"]
        assert rate.value > 0.8
        assert rate.ci_low < rate.value < rate.ci_high
        precision = scores[split]["precision"]
        assert precision.value > 0.8
        assert precision.detail["successes"] == rate.detail["successes"] <= precision.detail["n"]
        assert scores[split]["confident_precision"].value >= scores[split]["precision"].value
        curve = rate.detail["curve"]
        assert curve[0]["threshold"] == 0.0 and curve[-1]["threshold"] == 1.0


def test_no_links_is_a_valid_empty_claim(tmp_path, fixed_data, splits):
    prepared = TASK.prepare(data=fixed_data, dest=tmp_path / "input", check=False, seed=1)
    path = tmp_path / "links.csv"
    path.write_text("release_id,identity_id,confidence\n")
    scores = TASK.score(output=TASK.validate(path=path, prepared=prepared), prepared=prepared, splits=splits)
    assert scores["public"]["reidentification_rate"].value == 0.0
    assert scores["public"]["precision"].value is None  # nothing claimed, nothing to be precise about


def test_malformed_links(tmp_path, fixed_data):
    prepared = TASK.prepare(data=fixed_data, dest=tmp_path / "input", check=False, seed=1)
    path = tmp_path / "links.csv"
    path.write_text(
        "release_id,identity_id,confidence\n"
        "r0001,person-0001,0.5\n"
        "r0001,person-0002,0.5\n"
        "r9999,person-0003,0.5\n"
        "r0002,nobody,0.5\n"
        "r0003,person-0004,high\n"
    )
    with pytest.raises(OutputInvalid) as caught:
        TASK.validate(path=path, prepared=prepared)
    message = str(caught.value)
    assert caught.value.total == 4
    assert "line 3, column release_id: 'r0001' appears again (first on line 2)" in message
    assert "line 4, column release_id: 'r9999' is not an id of release.csv" in message
    assert "line 5, column identity_id: 'nobody' is not an id of register.csv" in message
    assert "line 6, column confidence: 'high' is not a number in [0, 1]" in message

    path.write_text("release_id,person,confidence\n")
    with pytest.raises(OutputInvalid, match=r"links.csv line 1: the header misses the column identity_id"):
        TASK.validate(path=path, prepared=prepared)


def test_arena_release_ids_are_fresh_and_truth_comes_from_identities(tmp_path, arena_data, identity_release, records, splits):
    TASK.check_data(arena_data, arena=True)
    target = Target(release=identity_release, key="defense-1")
    first = TASK.prepare(data=arena_data, dest=tmp_path / "a", check=False, seed=9, target=target)
    again = TASK.prepare(data=arena_data, dest=tmp_path / "b", check=False, seed=9, target=target)
    other = TASK.prepare(data=arena_data, dest=tmp_path / "c", check=False, seed=9, target=Target(identity_release, "defense-2"))
    assert (tmp_path / "a" / "release.csv").read_bytes() == (tmp_path / "b" / "release.csv").read_bytes()
    assert list(again.expected_ids) == list(first.expected_ids)
    assert not set(first.expected_ids) & set(other.expected_ids)

    release_text = (tmp_path / "a" / "release.csv").read_text()
    assert "record_id" not in release_text
    assert not any(record_id in release_text for record_id in records["train"]["record_id"])
    assert not (tmp_path / "a" / "identities.csv").exists()
    assert first.answers["rows"]["identity_id"].notna().sum() == 200

    links = write(qi_linkage(tmp_path / "a"), tmp_path / "links.csv")
    scores = TASK.score(output=TASK.validate(path=links, prepared=first), prepared=first, splits=splits)
    assert scores["public"]["reidentification_rate"].value > 0.8


def test_arena_synthetic_release_without_ids_cannot_be_reidentified(tmp_path, arena_data, records, splits):
    synthetic = records["holdout"].drop(columns=["record_id"])  # stand-in for synthetic rows
    path = write(synthetic, tmp_path / "synthetic" / "release.csv")
    prepared = TASK.prepare(data=arena_data, dest=tmp_path / "in", check=False, seed=1, target=Target(path, "syn"))
    assert prepared.answers["rows"]["identity_id"].isna().all()
    links = write(qi_linkage(tmp_path / "in"), tmp_path / "links.csv")
    scores = TASK.score(output=TASK.validate(path=links, prepared=prepared), prepared=prepared, splits=splits)
    for split in ("public", "private"):
        assert scores[split]["reidentification_rate"].value is None
        assert scores[split]["precision"].value == 0.0


def test_check_data_reports_missing_columns(tmp_path, fixed_data):
    register = pd.read_csv(fixed_data.files["register"], dtype=str).drop(columns=["zip"])
    register.to_csv(fixed_data.files["register"], index=False)
    with pytest.raises(TaskDataInvalid, match="dataset 'register' misses the column zip"):
        TASK.check_data(fixed_data)
