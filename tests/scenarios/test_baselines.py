"""Every baseline runs under the sandbox contract on its bundle's data and writes a valid output.

Inputs are built by the task types themselves (``prepare``), exactly as the server builds
/input; outputs are checked with the task types' ``validate``.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from .conftest import ARENA, AllPublic, code_of, run_program, task_data

FIXED = ["breast-cancer-membership", "discharge-linkage", "diabetes-attribute"]


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def run_attack(spec, data, baseline, task_name, dest, target=None, seed=3):
    from evaluation.task_types import get_task

    task = get_task(task_name)
    prepared = task.prepare(data=data, dest=dest / "input", check=False, seed=seed, target=target)
    run_program(spec.root / baseline.path, prepared.input_dir, dest / "output", task=task_name, role="attack", seed=seed)
    output = task.validate(path=dest / "output" / task.output_name, prepared=prepared)
    return task.score(output=output, prepared=prepared, splits=AllPublic())["public"]


@pytest.mark.parametrize("slug", FIXED)
def test_attack_baselines_on_the_fixed_releases(bundles, tmp_path, slug):
    spec, data = task_data(bundles / slug)
    scores = {}
    for baseline in spec.baselines:
        scores[code_of(baseline)] = run_attack(spec, data, baseline, spec.task, tmp_path / code_of(baseline))
    if slug == "discharge-linkage":
        assert scores["qi_linkage"]["reidentification_rate"].value > 0.85
        assert scores["qi_linkage"]["confident_precision"].value > 0.9
    if slug == "diabetes-attribute":
        # The homogeneity of 5-anonymous classes leaks: members are guessed better than controls.
        s = scores["nn_attribute"]
        assert s["member_accuracy"].value > s["control_accuracy"].value


def test_attacks_are_deterministic(bundles, tmp_path):
    spec, data = task_data(bundles / "breast-cancer-membership")
    outputs = []
    for run in ("a", "b"):
        for baseline in spec.baselines:
            run_attack(spec, data, baseline, spec.task, tmp_path / run / code_of(baseline))
            outputs.append(hashlib.sha256((tmp_path / run / code_of(baseline) / "output/predictions.csv").read_bytes()).hexdigest())
    assert outputs[: len(spec.baselines)] == outputs[len(spec.baselines):]


def test_defense_baselines_on_the_public_sample(bundles, tmp_path):
    """The check run: each defense on the public sample."""
    from evaluation.task_types import get_task

    spec, data = task_data(bundles / ARENA)
    task = get_task("tabular-anonymization")
    for baseline in (b for b in spec.baselines if b.role == "defense"):
        prepared = task.prepare(data=data, dest=tmp_path / code_of(baseline) / "input", check=True, seed=1)
        out = tmp_path / code_of(baseline) / "output"
        run_program(spec.root / baseline.path, prepared.input_dir, out, task=task.name, role="defense", seed=1)
        release = task.validate(path=out / "release.csv", prepared=prepared)
        assert len(release) == len(read(prepared.input_dir / "records.csv"))


def test_defense_releases_of_the_training_records(arena_releases):
    releases = {name: read(path) for name, path in arena_releases.items()}
    raw = releases["no_protection"]
    assert len(raw) == 12_000
    for name in ("mondrian_k_anonymity", "mdav_microaggregation"):
        r = releases[name]
        assert list(r.columns) == list(raw.columns) and sorted(r["record_id"]) == sorted(raw["record_id"])
        # Really k-anonymous: every quasi-identifier combination is shared by at least 5 rows.
        assert r.groupby(["birth_date", "sex", "postcode"]).size().min() >= 5
        # Only the quasi-identifiers change.
        merged = r.merge(raw, on="record_id", suffixes=("", "_raw"))
        assert (merged["diagnosis"] == merged["diagnosis_raw"]).all()
    assert releases["mondrian_k_anonymity"]["birth_date"].str.startswith("[").mean() > 0.5
    for name in ("gaussian_copula", "dp_marginals"):
        r = releases[name]
        assert "record_id" not in r.columns and len(r) == 12_000
        assert set(r["diagnosis"]) <= set(raw["diagnosis"])
        # Synthetic rows are not copies of the training rows.
        columns = list(r.columns)
        copies = r.merge(raw[columns].drop_duplicates(), on=columns, how="inner")
        assert len(copies) < 0.01 * len(r)


def test_arena_attacks_on_every_defense(bundles, arena_releases, tmp_path):
    from evaluation.task_types import Target

    spec, data = task_data(bundles / ARENA)
    attacks = [b for b in spec.baselines if b.role == "attack"]
    pairs = [(defense, release, attack) for defense, release in arena_releases.items() for attack in attacks]

    def one(pair):
        defense, release, attack = pair
        target = Target(release=release, key=hashlib.sha256(release.read_bytes()).hexdigest())
        return (defense, code_of(attack)), run_attack(
            spec, data, attack, attack.task, tmp_path / defense / code_of(attack), target=target)

    with ThreadPoolExecutor(max_workers=2) as pool:
        scores = dict(pool.map(one, pairs))

    link = {d: scores[d, "qi_linkage"]["reidentification_rate"].value for d in arena_releases}
    # The classic result: on the unprotected release birth date, sex and postcode name almost
    # everyone; 5-anonymity leaves each row hidden among at least five register entries.
    assert link["no_protection"] >= 0.85
    assert link["mondrian_k_anonymity"] <= 0.10
    assert link["mdav_microaggregation"] <= 0.10
    dcr = {d: scores[d, "dcr_membership"]["auc"].value for d in arena_releases}
    assert dcr["no_protection"] > 0.95  # members sit in the release at distance zero
    assert dcr["dp_marginals"] < 0.6
    # Copying the records leaks diagnoses: guessing members beats guessing controls.
    nn = scores["no_protection", "nn_attribute"]
    assert nn["member_accuracy"].value > nn["control_accuracy"].value + 0.3
