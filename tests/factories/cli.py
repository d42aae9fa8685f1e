"""The small bundles, programs and predictions files the command-line tests submit
(tests/cli): a membership-inference bundle whose predictions file is a complete submission,
and a tiny arena of stdlib-only programs."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import yaml

from tests.factories import COLUMNS, patient_schema, write_csv

PASSWORD = "a-long-test-password"


def write_bundle(root: Path, *, slug: str, per_day: int = 5, candidates: int = 80, seed: int = 3) -> dict:
    """A membership-inference bundle with a starting kit and a baseline; returns the hidden answers."""
    rng = random.Random(seed)

    def patient() -> list:
        return [rng.randint(18, 90), rng.choice(["F", "M"]), rng.choice(["10115", "20095", "80331"]), rng.choice(["I10", "E11", "J45"])]

    members = [patient() for _ in range(candidates // 2)]
    mixed = [(m, 1) for m in members] + [(patient(), 0) for _ in range(candidates - candidates // 2)]
    rng.shuffle(mixed)
    answers = {f"c{i:04d}": member for i, (_, member) in enumerate(mixed)}
    write_csv(root / "data/release.csv", COLUMNS, members)
    write_csv(root / "data/candidates.csv", ["candidate_id", *COLUMNS], [[f"c{i:04d}", *r] for i, (r, _) in enumerate(mixed)])
    write_csv(root / "data/population.csv", COLUMNS, [patient() for _ in range(30)])
    write_csv(root / "hidden/membership.csv", ["candidate_id", "is_member"], [[k, v] for k, v in answers.items()])
    # The baseline guesses: members score a little higher on average than non-members.
    write_csv(root / "baselines/guess.csv", ["candidate_id", "score"],
               [[k, round(min(1.0, 0.35 * v + rng.random() * 0.65), 4)] for k, v in answers.items()])
    (root / "description.md").write_text("# CLI test\n\nTell members from non-members.\n", encoding="utf-8")
    (root / "starting_kit").mkdir(exist_ok=True)
    (root / "starting_kit/README.md").write_text("Write predictions.csv: candidate_id,score\n", encoding="utf-8")
    manifest = {
        "slug": slug,
        "title": f"CLI test {slug}",
        "description": "description.md",
        "task": "membership-inference",
        "published": True,
        "schema": patient_schema(),
        "data": [
            {"name": "release", "file": "data/release.csv", "visibility": "public"},
            {"name": "candidates", "file": "data/candidates.csv", "visibility": "public"},
            {"name": "population", "file": "data/population.csv", "visibility": "public"},
            {"name": "membership", "file": "hidden/membership.csv", "visibility": "hidden"},
        ],
        "phases": [{
            "name": "development", "start": "2020-01-01T00:00:00Z", "end": None,
            "max_submissions_per_day": per_day, "max_submissions_total": None, "max_final_selections": 1,
            "max_team_size": 3, "public_fraction": 0.5, "limits": {"wall_seconds": 30, "memory_mb": 512},
        }],
        "starting_kit": "starting_kit",
        "baselines": [{"name": "Noisy guess", "role": "attack", "path": "baselines/guess.csv",
                       "description": "Scores from a coin that leans towards members."}],
    }
    (root / "competition.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return answers


def predictions(answers: dict, path: Path, *, perfect: bool = True) -> Path:
    rng = random.Random(11)
    lines = ["candidate_id,score"] + [f"{k},{float(v) if perfect else round(rng.random(), 4)}" for k, v in answers.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path



# ---------------------------------------------------------------------------- an arena

IDENTITY_DEFENSE = """\
import os, shutil
shutil.copyfile(os.path.join(os.environ["ARENA_INPUT"], "records.csv"), os.path.join(os.environ["ARENA_OUTPUT"], "release.csv"))
"""
CONSTANT_MEMBERSHIP = """\
import csv, os
with open(os.path.join(os.environ["ARENA_INPUT"], "candidates.csv")) as fh:
    ids = [row["candidate_id"] for row in csv.DictReader(fh)]
with open(os.path.join(os.environ["ARENA_OUTPUT"], "predictions.csv"), "w") as out:
    out.write("candidate_id,score\\n" + "".join(f"{i},0.5\\n" for i in ids))
"""


def code_zip(path: Path, main_py: str) -> Path:

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("main.py", main_py)
    return path


def write_arena_bundle(root: Path, *, slug: str = "arena-cli", seed: int = 5) -> Path:
    """A defense task against two attack tasks, without baselines (importing runs nothing).
    Hidden record ids start with ``trn-``/``hld-``, public ones with ``smp-``."""
    rng = random.Random(seed)

    def patients(n: int, prefix: str) -> list[list]:
        return [[f"{prefix}{i:04d}", rng.randint(18, 90), rng.choice(["F", "M"]), rng.choice(["10115", "20095", "80331"]),
                 rng.choice(["I10", "E11", "J45"])] for i in range(n)]

    header = ["record_id", *COLUMNS]
    write_csv(root / "hidden/train.csv", header, patients(40, "trn-"))
    write_csv(root / "hidden/holdout.csv", header, patients(40, "hld-"))
    write_csv(root / "data/sample.csv", header, patients(30, "smp-"))
    (root / "description.md").write_text("# CLI arena\n", encoding="utf-8")
    manifest = {
        "slug": slug,
        "title": f"CLI arena {slug}",
        "description": "description.md",
        "task": "tabular-anonymization",
        "attack_tasks": ["membership-inference", "attribute-inference"],
        "published": True,
        "options": {"candidates_per_group": 10, "targets_per_group": 10},
        "schema": patient_schema(),
        "data": [
            {"name": "train", "file": "hidden/train.csv", "visibility": "hidden"},
            {"name": "holdout", "file": "hidden/holdout.csv", "visibility": "hidden"},
            {"name": "sample", "file": "data/sample.csv", "visibility": "public"},
        ],
        "phases": [{"name": "open", "start": "2020-01-01T00:00:00Z", "end": None, "max_submissions_per_day": 5,
                    "public_fraction": 0.5, "limits": {"wall_seconds": 60, "memory_mb": 512}}],
    }
    (root / "competition.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return root
