import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evaluation.task_types import TASK_TYPES, OutputInvalid, get_task
from evaluation.task_types.csvio import Problems, read_output
from evaluation.task_types.validate import main

ROOT = Path(__file__).resolve().parents[3]


def test_registry_knows_the_four_tasks_and_their_contracts():
    assert sorted(TASK_TYPES) == ["attribute-inference", "membership-inference", "reidentification", "tabular-anonymization"]
    for name in TASK_TYPES:
        task = get_task(name)
        assert task.name == name
        assert sum(m.primary for m in task.metrics) == 1
        assert all(m.direction in ("higher", "lower") for m in task.metrics)
        assert len({m.key for m in task.metrics}) == len(task.metrics)
        assert set(task.data_names.values()) <= {"public", "hidden"}
        assert task.accepts_file == (task.role == "attack")
    with pytest.raises(KeyError, match="unknown task type 'nope'; known: attribute-inference"):
        get_task("nope")


def read(path, **kwargs):
    return read_output(path, required=["id", "score"], max_rows=kwargs.pop("max_rows", 10), **kwargs)


def test_size_cap(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("id,score\n" + "a,0.5\n" * 100)
    with pytest.raises(OutputInvalid, match="out.csv: file is 0.0 MiB, more than the 0 MiB allowed"):
        read(path, max_bytes=100)


def test_not_utf8(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes("id,score\nMüller,0.5\n".encode("latin-1"))
    with pytest.raises(OutputInvalid, match="out.csv line 2: is not UTF-8 text"):
        read(path)


def test_rows_with_too_few_fields_and_folder_instead_of_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("id,score\na,0.5\nb\n")
    with pytest.raises(OutputInvalid, match="out.csv line 3: has 1 fields but the header has 2"):
        read(path)
    with pytest.raises(OutputInvalid, match="is not a regular file"):
        read(tmp_path)


def test_quoted_newlines_keep_line_numbers_true(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text('id,score\n"a\nb",0.5\nc,0.1\n')
    frame = read(path)
    assert frame.index.tolist() == [3, 4]  # a record ends on the line it closes on


def test_many_problems_are_counted_and_the_first_few_shown(tmp_path):
    frame = pd.DataFrame({"score": ["x"] * 50}, index=pd.RangeIndex(2, 52, name="line"))
    problems = Problems("out.csv")
    problems.add_rows(frame, [True] * 50, "score", lambda v: f"{v!r} is not a number")
    with pytest.raises(OutputInvalid) as caught:
        problems.raise_if_any()
    error = caught.value
    assert error.total == 50 and len(error.problems) == 10
    assert str(error).startswith("out.csv: 50 problems (the first 10 shown):\n  line 2, column score: 'x' is not a number")


@pytest.fixture
def membership_input(tmp_path):
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "schema.json").write_text(
        '{"id_column": "record_id", "columns": [{"name": "age", "type": "numeric"}], "quasi_identifiers": ["age"]}'
    )
    pd.DataFrame({"candidate_id": ["a", "b"], "age": ["30", "40"]}).to_csv(folder / "candidates.csv", index=False)
    return folder


def test_validate_cli_accepts_a_good_file(tmp_path, membership_input, capsys):
    good = tmp_path / "predictions.csv"
    good.write_text("candidate_id,score\na,0.9\nb,0.1\n")
    assert main(["membership-inference", str(good), "--input", str(membership_input)]) == 0
    assert capsys.readouterr().out.strip() == "OK predictions.csv: 2 rows"


def test_validate_cli_reports_problems_with_exit_status_1(tmp_path, membership_input, capsys):
    bad = tmp_path / "predictions.csv"
    bad.write_text("candidate_id,score\na,2\n")
    assert main(["membership-inference", str(bad), "--input", str(membership_input)]) == 1
    err = capsys.readouterr().err
    assert "line 2, column score: '2' is not a number in [0, 1]" in err
    assert "has no row for 1 of the 2 candidates: 'b'" in err


def test_validate_cli_says_when_the_inputs_are_missing(tmp_path, capsys):
    assert main(["reidentification", str(tmp_path / "links.csv"), "--input", str(tmp_path / "nowhere")]) == 2
    assert "cannot read the inputs" in capsys.readouterr().err


def test_validate_cli_runs_as_a_module(tmp_path, membership_input):
    good = tmp_path / "predictions.csv"
    good.write_text("candidate_id,score\na,0.9\nb,0.1\n")
    done = subprocess.run(
        [sys.executable, "-m", "evaluation.task_types.validate", "membership-inference", str(good), "--input", str(membership_input)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "OK predictions.csv: 2 rows" in done.stdout


def test_defense_release_validates_from_a_prepared_input_folder(tmp_path, defense_data, records, capsys):
    task = get_task("tabular-anonymization")
    task.prepare(data=defense_data, dest=tmp_path / "input", check=True, seed=1)
    release = tmp_path / "release.csv"
    records["sample"].drop(columns=["record_id"]).to_csv(release, index=False)
    assert main(["tabular-anonymization", str(release), "--input", str(tmp_path / "input")]) == 0
    assert "OK release.csv: 120 rows" in capsys.readouterr().out
