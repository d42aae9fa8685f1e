"""The game attacks run under the sandbox contract: a round written as the pipeline writes it
(evaluation/games/files.py), the baseline in the runtime image, its predictions read back.
On releases of the Gaussian copula with and without an outlier, they tell them apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.games import AttackRound, targets_select
from evaluation.games.files import predictions_read, round_write
from scenarios import baselines
from scenarios.breast_cancer.generate import load
from scenarios.games import baseline_defense

from .conftest import run_program


@pytest.mark.parametrize("attack", ["shadow_membership", "extreme_membership"])
def test_game_attack_in_the_sandbox_spots_an_outlier_in_copula_releases(tmp_path, attack):
    frame, schema = load()
    pool = frame.copy()
    pool.insert(0, "record_id", [f"B{i:03d}" for i in range(len(frame))])
    types = {c["name"]: c["type"] for c in schema["columns"]}
    target = targets_select(pool=pool, types=types, id_column="record_id", n_outliers=1, n_controls=0)[0]
    defense = baseline_defense("gaussian_copula", schema)
    others = pool.drop(index=target.position)
    releases, labels = [], []
    for i in range(48):
        base = others.sample(150, random_state=i)
        training = base if i % 2 else pd.concat([base.iloc[:-1], pool.iloc[[target.position]]])
        releases.append(defense(training.drop(columns=["record_id"]), i))
        labels.append(i % 2 == 0)
    game_round = AttackRound(target=pool.iloc[target.position].drop("record_id"), population=others.drop(columns=["record_id"]),
                             releases=releases[:16], shadow=list(zip(releases[16:], labels[16:], strict=True)))
    ids = round_write(game_round, tmp_path / "input", schema=schema)
    folder = baselines.materialise(attack, tmp_path / "code")
    run_program(folder, tmp_path / "input", tmp_path / "output", task="membership-inference", role="attack")
    scores = predictions_read(tmp_path / "output" / "predictions.csv", ids)
    truth = np.array(labels[:16])
    assert scores[truth].mean() > scores[~truth].mean() + 0.25


def test_a_defense_finds_the_public_domains_in_its_schema_json(bundles, tmp_path):
    """The DP baseline takes its domain from /input/schema.json: the server must pass it on."""
    import json

    from evaluation.task_types import get_task

    from .conftest import ARENA, task_data

    _, data = task_data(bundles / ARENA)
    prepared = get_task("tabular-anonymization").prepare(data=data, dest=tmp_path / "input", check=True, seed=1)
    columns = {c["name"]: c for c in json.loads((prepared.input_dir / "schema.json").read_text())["columns"]}
    assert columns["length_of_stay"] == {"name": "length_of_stay", "type": "numeric", "min": 0, "max": 365}
    assert "04103" in columns["postcode"]["categories"] and columns["sex"]["categories"] == ["F", "M"]
