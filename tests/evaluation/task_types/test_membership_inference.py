import numpy as np
import pandas as pd
import pytest

from evaluation.task_types import OutputInvalid, Target, TaskData, TaskDataInvalid, get_task

TASK = get_task("membership-inference")


def write(frame, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def fixed_data(tmp_path, records, defense_data):
    """A fixed competition: the training records released as they are, 200 candidates."""
    train, holdout = records["train"], records["holdout"]
    members, non_members = train.iloc[:100], holdout.iloc[:100]
    candidates = pd.concat([members, non_members], ignore_index=True)
    candidates.insert(0, "candidate_id", [f"c{i:03d}" for i in range(len(candidates))])
    membership = pd.DataFrame({"candidate_id": candidates["candidate_id"], "is_member": [1] * 100 + [0] * 100})
    columns = list(defense_data.schema.columns)
    files = {
        "release": write(train[columns], tmp_path / "fixed" / "release.csv"),
        "candidates": write(candidates.drop(columns=["record_id"]), tmp_path / "fixed" / "candidates.csv"),
        "population": write(records["sample"][columns], tmp_path / "fixed" / "population.csv"),
        "membership": write(membership, tmp_path / "fixed" / "membership.csv"),
    }
    return TaskData(files=files, schema=defense_data.schema)


def predictions(path, ids, scores):
    return write(pd.DataFrame({"candidate_id": ids, "score": scores}), path)


def test_fixed_release_inputs_and_answers(tmp_path, fixed_data):
    TASK.check_data(fixed_data)
    prepared = TASK.prepare(data=fixed_data, dest=tmp_path / "input", check=False, seed=1)
    assert sorted(p.name for p in (tmp_path / "input").iterdir()) == [
        "candidates.csv",
        "population.csv",
        "release.csv",
        "schema.json",
    ]
    assert len(prepared.expected_ids) == 200
    assert "is_member" not in (tmp_path / "input" / "candidates.csv").read_text()
    assert not TASK.sees_hidden_data(check=False)
    assert TASK.accepts_file and TASK.primary_metric.key == "tpr_at_fpr_0_1"


def test_perfect_attack_scores_one_and_random_attack_about_half(tmp_path, fixed_data, splits, storable):
    prepared = TASK.prepare(data=fixed_data, dest=tmp_path / "input", check=False, seed=1)
    truth = prepared.answers["membership"].set_index("candidate_id")["is_member"]
    ids = truth.index.tolist()

    perfect = TASK.validate(path=predictions(tmp_path / "p.csv", ids, truth.to_numpy() * 0.9 + 0.05), prepared=prepared)
    scores = TASK.score(output=perfect, prepared=prepared, splits=splits)
    storable(scores, TASK)
    for split in ("public", "private"):
        assert scores[split]["auc"].value == pytest.approx(1.0)
        assert scores[split]["tpr_at_fpr_0_1"].value == pytest.approx(1.0)
        assert scores[split]["membership_advantage"].value == pytest.approx(1.0)
        assert scores[split]["epsilon_lower_bound"].value > 1.0
        roc = scores[split]["auc"].detail["roc"]
        assert roc[0] == [0.0, 0.0] and roc[-1] == [1.0, 1.0]
    sizes = [scores[s]["auc"].detail["members"] + scores[s]["auc"].detail["non_members"] for s in ("public", "private")]
    assert sum(sizes) == 200 and min(sizes) > 60

    rng = np.random.default_rng(0)
    random = TASK.validate(path=predictions(tmp_path / "r.csv", ids, rng.random(len(ids))), prepared=prepared)
    scores = TASK.score(output=random, prepared=prepared, splits=splits)
    for split in ("public", "private"):
        assert 0.3 < scores[split]["auc"].value < 0.7
        assert scores[split]["epsilon_lower_bound"].value < 1.0


def expect_invalid(tmp_path, prepared, text, *, line=None, column=None, says=""):
    path = tmp_path / "predictions.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OutputInvalid) as caught:
        TASK.validate(path=path, prepared=prepared)
    error = caught.value
    assert error.file == "predictions.csv"
    assert str(error).startswith("predictions.csv")
    if line is not None:
        assert error.line == line
    if column is not None:
        assert error.column == column
    assert says in str(error)
    return error


@pytest.fixture
def small(tmp_path):
    """Three candidates are enough to check the format rules."""
    from evaluation.task_types.base import Prepared

    return Prepared(input_dir=tmp_path, expected_ids=["a", "b", "c"])


def test_missing_and_empty_files(tmp_path, small):
    with pytest.raises(OutputInvalid, match="predictions.csv: file not found.*candidate_id,score"):
        TASK.validate(path=tmp_path / "predictions.csv", prepared=small)
    expect_invalid(tmp_path, small, "", says="file is empty")


def test_wrong_columns(tmp_path, small):
    expect_invalid(tmp_path, small, "candidate_id,prob\na,0.5\n", line=1, says="misses the column score")
    expect_invalid(tmp_path, small, "candidate_id,score,extra\na,0.5,1\n", line=1, says="unknown column extra")
    expect_invalid(tmp_path, small, "candidate_id,score,score\na,0.5,1\n", line=1, says="repeats the column 'score'")


def test_wrong_row_counts(tmp_path, small):
    expect_invalid(tmp_path, small, "candidate_id,score\na,0.5\nb,0.5\n", column="candidate_id", says="no row for 1 of the 3 candidates: 'c'")
    expect_invalid(tmp_path, small, "candidate_id,score\na,0.5\nb,0.5\nc,0.5\nd,0.5\n", line=5, says="too many rows")
    expect_invalid(tmp_path, small, "candidate_id,score\na,0.5,9\nb,0.5\nc,0.5\n", line=2, says="has 3 fields but the header has 2")


def test_bad_scores_are_reported_with_line_and_column(tmp_path, small):
    error = expect_invalid(
        tmp_path, small, "candidate_id,score\na,abc\nb,NaN\nc,1.5\n", line=2, column="score", says="'abc' is not a number in [0, 1]"
    )
    assert error.total == 3
    assert "line 3, column score: 'NaN' is not a number in [0, 1]" in str(error)
    assert "line 4, column score: '1.5' is not a number in [0, 1]" in str(error)
    expect_invalid(tmp_path, small, "candidate_id,score\na,\nb,0\nc,1\n", line=2, column="score", says="is empty")
    expect_invalid(tmp_path, small, "candidate_id,score\na,-0.1\nb,0\nc,inf\n", line=2, column="score")


def test_duplicate_and_unknown_ids(tmp_path, small):
    error = expect_invalid(
        tmp_path, small, "candidate_id,score\na,0.1\na,0.2\nzz,0.3\n", line=3, column="candidate_id", says="appears again (first on line 2)"
    )
    assert "line 4, column candidate_id: 'zz' is not an id of candidates.csv" in str(error)


def test_scores_are_read_with_their_lines_and_spaces_trimmed(tmp_path, small):
    path = tmp_path / "predictions.csv"
    path.write_text("\ufeffcandidate_id , score\nb, 0.25\n\na,1\nc,0e0\n", encoding="utf-8")
    frame = TASK.validate(path=path, prepared=small)
    assert frame["candidate_id"].tolist() == ["b", "a", "c"]
    assert frame["score"].tolist() == [0.25, 1.0, 0.0]
    assert frame.index.tolist() == [2, 4, 5]


def test_arena_candidates_are_fresh_per_pair_and_reproducible(tmp_path, arena_data, identity_release, records):
    TASK.check_data(arena_data, arena=True)
    assert TASK.sees_hidden_data(check=False, arena=True)
    target_a = Target(release=identity_release, key="sha-a")
    target_b = Target(release=identity_release, key="sha-b")
    first = TASK.prepare(data=arena_data, dest=tmp_path / "a1", check=False, seed=5, target=target_a)
    again = TASK.prepare(data=arena_data, dest=tmp_path / "a2", check=False, seed=5, target=target_a)
    other = TASK.prepare(data=arena_data, dest=tmp_path / "b", check=False, seed=5, target=target_b)

    assert (tmp_path / "a1" / "candidates.csv").read_bytes() == (tmp_path / "a2" / "candidates.csv").read_bytes()
    assert first.answers["membership"].equals(again.answers["membership"])
    assert not set(first.expected_ids) & set(other.expected_ids)

    hidden_ids = set(records["train"]["record_id"]) | set(records["holdout"]["record_id"])
    for name in ("release.csv", "candidates.csv", "population.csv"):
        text = (tmp_path / "a1" / name).read_text()
        assert "is_member" not in text and "record_id" not in text
        assert not any(record_id in text for record_id in hidden_ids)
    answers = first.answers["membership"]
    assert answers["is_member"].sum() == len(answers) - answers["is_member"].sum() == 300
    # members really are training records: their split keys are training ids
    assert set(answers.loc[answers["is_member"] == 1, "split_key"]) <= set(records["train"]["record_id"])


def test_arena_attack_on_an_unprotected_release_finds_the_members(tmp_path, arena_data, identity_release, splits):
    prepared = TASK.prepare(
        data=arena_data, dest=tmp_path / "in", check=False, seed=3, target=Target(release=identity_release, key="k")
    )
    release = pd.read_csv(tmp_path / "in" / "release.csv", dtype=str)
    candidates = pd.read_csv(tmp_path / "in" / "candidates.csv", dtype=str)
    columns = list(release.columns)
    in_release = candidates[columns].apply(tuple, axis=1).isin(set(release.apply(tuple, axis=1)))
    path = predictions(tmp_path / "p.csv", candidates["candidate_id"], in_release.astype(float))
    scores = TASK.score(output=TASK.validate(path=path, prepared=prepared), prepared=prepared, splits=splits)
    assert scores["public"]["auc"].value > 0.95 and scores["private"]["auc"].value > 0.95


def test_arena_check_run_uses_public_data_only(tmp_path, records, identity_release, defense_data):
    sample_only = TaskData(files={"sample": defense_data.files["sample"]}, schema=defense_data.schema)
    TASK.prepare(data=sample_only, dest=tmp_path / "check", check=True, seed=1, target=Target(identity_release, "k"))
    assert not TASK.sees_hidden_data(check=True, arena=True)
    text = (tmp_path / "check" / "release.csv").read_text()
    assert not any(record_id in text for record_id in records["train"]["record_id"])


def test_check_data_names_the_problem(tmp_path, fixed_data):
    partial = TaskData(files={k: v for k, v in fixed_data.files.items() if k != "membership"}, schema=fixed_data.schema)
    with pytest.raises(TaskDataInvalid, match="needs the dataset membership"):
        TASK.check_data(partial)
    bad = pd.read_csv(fixed_data.files["membership"], dtype=str)
    bad.loc[3, "is_member"] = "yes"
    bad.to_csv(fixed_data.files["membership"], index=False)
    with pytest.raises(TaskDataInvalid, match="is_member must be 0 or 1, found 'yes' \\(row 5\\)"):
        TASK.check_data(fixed_data)
