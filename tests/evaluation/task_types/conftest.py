"""Small generated medical tables for the task-type tests."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# Tests are imported by path (--import-mode=importlib); make the project importable
# when pytest runs without the Django plugin, which would otherwise add it.
ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from evaluation.splits import KeyedSplits  # noqa: E402
from evaluation.task_types.base import Schema, TaskData  # noqa: E402

SCHEMA = Schema(
    id_column="record_id",
    columns={
        "age": "numeric",
        "sex": "categorical",
        "zip": "categorical",
        "admitted": "date",
        "length_of_stay": "numeric",
        "diagnosis": "categorical",
        "readmitted": "categorical",
    },
    quasi_identifiers=("age", "sex", "zip"),
    sensitive=("diagnosis",),
    target="readmitted",
)
DIAGNOSES = ["I10", "E11", "J45", "C50", "F32", "K35"]


def make_records(n: int, seed: int, prefix: str) -> pd.DataFrame:
    """``n`` patients as text, the way the organizer's CSV files hold them."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 91, n)
    diagnosis = np.where(age > 60, rng.choice(DIAGNOSES[:3], n), rng.choice(DIAGNOSES, n))
    stay = np.clip(np.round(rng.gamma(2.0, 3.0, n) + (diagnosis == "C50") * 5), 1, 60).astype(int)
    readmission_risk = np.where(np.isin(diagnosis, ["C50", "E11"]), 0.7, 0.1) + 0.01 * stay
    readmitted = np.where(rng.random(n) < readmission_risk, "yes", "no")
    admitted = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1400, n), unit="D")
    return pd.DataFrame(
        {
            "record_id": [f"{prefix}{i:05d}" for i in range(n)],
            "age": age.astype(str),
            "sex": rng.choice(["F", "M"], n),
            "zip": rng.choice([f"{z:05d}" for z in range(10115, 10145)], n),
            "admitted": admitted.strftime("%Y-%m-%d"),
            "length_of_stay": stay.astype(str),
            "diagnosis": diagnosis,
            "readmitted": readmitted,
        }
    )


def write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def records():
    return {
        "train": make_records(300, 1, "p"),
        "holdout": make_records(300, 2, "h"),
        "sample": make_records(120, 3, "s"),
    }


@pytest.fixture
def splits():
    return KeyedSplits(b"competition secret", 0.5)


@pytest.fixture
def defense_data(tmp_path, records):
    files = {name: write(frame, tmp_path / "data" / f"{name}.csv") for name, frame in records.items()}
    return TaskData(files=files, schema=SCHEMA)


@pytest.fixture
def register(records):
    """An identified register: 200 of the 300 training patients plus 100 other people."""
    rng = np.random.default_rng(7)
    train = records["train"]
    known = train.sample(200, random_state=5)
    others = make_records(100, 8, "x")
    people = pd.concat([known, others], ignore_index=True).sample(frac=1.0, random_state=9).reset_index(drop=True)
    people["identity_id"] = [f"person-{i:04d}" for i in rng.permutation(len(people))]
    people["name"] = [f"Patient {i}" for i in range(len(people))]
    identities = people[people["record_id"].isin(set(train["record_id"]))][["record_id", "identity_id"]]
    return people[["identity_id", "name", "age", "sex", "zip"]], identities


@pytest.fixture
def arena_data(tmp_path, records, register):
    """An arena bundle's data: the defense's datasets plus the register and identities."""
    register_table, identities = register
    files = {name: write(frame, tmp_path / "data" / f"{name}.csv") for name, frame in records.items()}
    files["register"] = write(register_table, tmp_path / "data" / "register.csv")
    files["identities"] = write(identities, tmp_path / "data" / "identities.csv")
    return TaskData(files=files, schema=SCHEMA)


@pytest.fixture
def identity_release(tmp_path, records):
    """A 'defense' that publishes the training records unchanged, ids included."""
    return write(records["train"], tmp_path / "defense" / "release.csv")


@pytest.fixture
def storable():
    """Checks scores as the server stores them: both splits, JSON-serialisable details,
    finite numbers or None."""
    import json
    import math

    def check(scores, task):
        assert set(scores) == {"public", "private"}
        for split, values in scores.items():
            assert set(values) == {m.key for m in task.metrics}, split
            for key, score in values.items():
                json.dumps(score.detail, allow_nan=False)
                for number in (score.value, score.ci_low, score.ci_high):
                    assert number is None or (isinstance(number, float) and math.isfinite(number)), (key, number)

    return check
