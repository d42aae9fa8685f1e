"""breast-cancer-membership: who was in the data behind a synthetic biopsy dataset?

The Wisconsin Diagnostic Breast Cancer data (569 fine-needle aspirates, 30 cell-nucleus
measurements and the diagnosis; it ships with scikit-learn) is split at random into members,
non-member candidates and an auxiliary population. The organizer's release is synthetic
data generated from the members alone by the Gaussian-copula baseline, the same code that
runs as a defense in the arena. Attacks score candidates for membership.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

from scenarios import baselines, kits
from scenarios.bundle import Baseline, Bundle, Table, schema_json, write
from scenarios.tables import as_text, fresh_ids

SLUG = "breast-cancer-membership"
SEED = 20260101
MEMBERS, NON_MEMBERS = 200, 200  # the remaining 169 records form the auxiliary population


def load() -> tuple[pd.DataFrame, dict]:
    raw = load_breast_cancer(as_frame=True)
    features = raw.data.rename(columns=lambda c: c.replace(" ", "_"))
    frame = as_text(features)
    frame["diagnosis"] = np.where(raw.target.to_numpy() == 0, "malignant", "benign")
    # Public domains (docs/bundles.md): the data set is public and its documentation lists
    # every measurement's range; widened to round numbers, so no bound sits on a record.
    columns = [{"name": c, "type": "numeric", "min": 0, "max": _round_up(2 * features[c].max())} for c in features.columns]
    columns.append({"name": "diagnosis", "type": "categorical", "categories": ["benign", "malignant"]})
    schema = {
        "id_column": "record_id",
        "columns": columns,
        # What someone holding a candidate's biopsy report would know first: the mean measurements.
        "quasi_identifiers": [c for c in features.columns if c.startswith("mean_")],
        "sensitive": ["diagnosis"],
        "target": "diagnosis",
    }
    return frame, schema


def _round_up(x: float) -> float:
    """The next 1, 2 or 5 times a power of ten at or above ``x``."""
    power = 10.0 ** np.floor(np.log10(x))
    step = next(m for m in (1, 2, 5, 10) if m * power >= x)
    return float(step * power) if step * power < 1 or not float(step * power).is_integer() else int(step * power)


def bundle() -> tuple[Bundle, dict]:
    frame, schema = load()
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(frame))
    members = frame.iloc[order[:MEMBERS]].reset_index(drop=True)
    non_members = frame.iloc[order[MEMBERS:MEMBERS + NON_MEMBERS]].reset_index(drop=True)
    population = frame.iloc[order[MEMBERS + NON_MEMBERS:]].reset_index(drop=True)

    copula = baselines.load("gaussian_copula")
    release = copula.synthesize(members, {**schema, "types": {c["name"]: c["type"] for c in schema["columns"]}}, rng)

    candidates = pd.concat([members, non_members], ignore_index=True)
    is_member = np.r_[np.ones(len(members), dtype=int), np.zeros(len(non_members), dtype=int)]
    shuffle = rng.permutation(len(candidates))
    candidates, is_member = candidates.iloc[shuffle].reset_index(drop=True), is_member[shuffle]
    candidate_ids = fresh_ids(rng, len(candidates), "C", 5)
    candidates.insert(0, "candidate_id", candidate_ids)
    population.insert(0, "record_id", fresh_ids(rng, len(population), "P", 5))
    membership = pd.DataFrame({"candidate_id": candidate_ids, "is_member": is_member})

    stats = {
        "records": len(frame), "members": len(members), "non_members": len(non_members),
        "candidates": len(candidates), "population": len(population), "release": len(release),
        "malignant": int((frame["diagnosis"] == "malignant").sum()),
    }
    text = Template((Path(__file__).parent / "description.md").read_text(encoding="utf-8")).substitute(stats)
    b = Bundle(
        slug=SLUG,
        title="Membership inference on synthetic breast-cancer biopsies",
        scenario="breast-cancer",
        task="membership-inference",
        description=text,
        schema=schema,
        tables=[
            Table("release", release, "public", "Synthetic biopsy records generated from the members by a Gaussian copula."),
            Table("candidates", candidates, "public", "Members and non-members, mixed, each with a fresh candidate_id."),
            Table("population", population, "public", "Further records from the same clinic, none of them a candidate."),
            Table("membership", membership, "hidden", "candidate_id, is_member (1: the record was used to make the release)."),
        ],
        baselines=[
            Baseline("Distance to closest record", "attack", "dcr_membership",
                     "Scores each candidate by how much closer it lies to the synthetic data than the population does."),
            Baseline("Density-ratio membership attack", "attack", "density_membership",
                     "Gaussian mixtures on release and population; score is the logistic of their log density ratio."),
            Baseline("Shadow-model membership attack", "attack", "shadow_membership",
                     "A random forest learns membership from features of a record against a release, trained on stand-in releases of the population."),
            Baseline("Column-extreme membership attack", "attack", "extreme_membership",
                     "One statistic: a candidate extreme in the population on some column is a member when the release holds a value close to its own there."),
        ],
        check_run=False,  # the inputs are public: a check run would repeat the real run
    )
    return b, stats


def build(dest: Path) -> dict:
    b, stats = bundle()
    write(b, dest, kit=lambda folder: kits.write_kit(
        folder, slug=b.slug, title=b.title, task=b.task, attack_tasks=[], schema=schema_json(b.schema),
        inputs={b.task: {"release.csv": "data/release.csv", "candidates.csv": "data/candidates.csv",
                         "population.csv": "data/population.csv"}},
        accepts_file=True))
    return stats
