"""Small, real competition bundles written on the fly for tests."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import yaml


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _patient(rng: random.Random) -> list:
    return [rng.randint(18, 90), rng.choice(["F", "M"]), rng.choice(["10115", "20095", "80331", "50667"]), rng.choice(["I10", "E11", "J45"])]


COLUMNS = ["age", "sex", "postcode", "diagnosis"]


def bundle_membership(root: Path, *, slug: str = "mia-test", candidates: int = 60, seed: int = 7, **overrides) -> Path:
    """A membership-inference bundle: a release of the members, mixed candidates, hidden answers."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    members = [_patient(rng) for _ in range(candidates // 2)]
    others = [_patient(rng) for _ in range(candidates - candidates // 2)]
    mixed = [(m, 1) for m in members] + [(o, 0) for o in others]
    rng.shuffle(mixed)
    _write_csv(root / "data/release.csv", COLUMNS, members)
    _write_csv(root / "data/candidates.csv", ["candidate_id", *COLUMNS], [[f"c{i:04d}", *r] for i, (r, _) in enumerate(mixed)])
    _write_csv(root / "data/population.csv", COLUMNS, [_patient(rng) for _ in range(40)])
    _write_csv(root / "hidden/membership.csv", ["candidate_id", "is_member"], [[f"c{i:04d}", m] for i, (_, m) in enumerate(mixed)])
    (root / "description.md").write_text("# Membership test\n\nFind the members.\n", encoding="utf-8")
    (root / "starting_kit").mkdir(exist_ok=True)
    (root / "starting_kit/README.md").write_text("Write predictions.csv\n", encoding="utf-8")
    manifest = {
        "slug": slug,
        "title": "Membership inference test",
        "description": "description.md",
        "task": "membership-inference",
        "published": True,
        "schema": {
            "id_column": "record_id",
            "columns": [
                {"name": "age", "type": "numeric"},
                {"name": "sex", "type": "categorical"},
                {"name": "postcode", "type": "categorical"},
                {"name": "diagnosis", "type": "categorical"},
            ],
            "quasi_identifiers": ["age", "sex", "postcode"],
            "sensitive": ["diagnosis"],
        },
        "data": [
            {"name": "release", "file": "data/release.csv", "visibility": "public", "description": "The release."},
            {"name": "candidates", "file": "data/candidates.csv", "visibility": "public"},
            {"name": "population", "file": "data/population.csv", "visibility": "public"},
            {"name": "membership", "file": "hidden/membership.csv", "visibility": "hidden"},
        ],
        "phases": [
            {
                "name": "development",
                "start": "2020-01-01T00:00:00Z",
                "end": None,
                "max_submissions_per_day": 3,
                "max_submissions_total": 5,
                "max_final_selections": 1,
                "max_team_size": 2,
                "public_fraction": 0.5,
                "limits": {"wall_seconds": 30, "memory_mb": 512},
            }
        ],
        "starting_kit": "starting_kit",
    }
    manifest.update(overrides)
    (root / "competition.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return root


def predictions_for(competition, *, perfect: bool = True, seed: int = 1) -> bytes:
    """A predictions.csv for a membership competition: perfect (from the hidden answers) or random."""
    from competitions import filestore

    membership = competition.datasets.get(name="membership")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = filestore.copy_to(membership.storage_path, Path(tmp) / "m.csv", encrypted=True, sha256=membership.sha256)
        rows = list(csv.DictReader(open(path, encoding="utf-8")))
    rng = random.Random(seed)
    lines = ["candidate_id,score"]
    for row in rows:
        score = float(row["is_member"]) if perfect else rng.random()
        lines.append(f"{row['candidate_id']},{score}")
    return ("\n".join(lines) + "\n").encode()


def bundle_tabular(root: Path, *, slug: str = "anon-test", rows: int = 300, seed: int = 11, **overrides) -> Path:
    """A tabular-anonymization bundle: hidden train and holdout, a public sample."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    header = ["record_id", *COLUMNS]
    for name, folder, count, offset in (("train", "hidden", rows, 0), ("holdout", "hidden", rows // 2, 10_000),
                                        ("sample", "data", rows // 3, 20_000)):
        _write_csv(root / f"{folder}/{name}.csv", header, [[f"r{offset + i:05d}", *_patient(rng)] for i in range(count)])
    (root / "description.md").write_text("# Anonymize\n", encoding="utf-8")
    manifest = {
        "slug": slug,
        "title": "Anonymization test",
        "description": "description.md",
        "task": "tabular-anonymization",
        "published": True,
        "schema": {
            "id_column": "record_id",
            "columns": [
                {"name": "age", "type": "numeric"},
                {"name": "sex", "type": "categorical"},
                {"name": "postcode", "type": "categorical"},
                {"name": "diagnosis", "type": "categorical"},
            ],
            "quasi_identifiers": ["age", "sex", "postcode"],
            "sensitive": ["diagnosis"],
            "target": "diagnosis",
        },
        "data": [
            {"name": "train", "file": "hidden/train.csv", "visibility": "hidden"},
            {"name": "holdout", "file": "hidden/holdout.csv", "visibility": "hidden"},
            {"name": "sample", "file": "data/sample.csv", "visibility": "public"},
        ],
        "phases": [{"name": "main", "start": "2020-01-01T00:00:00Z", "max_submissions_per_day": 20,
                    "public_fraction": 0.5, "check_run": True, "limits": {"wall_seconds": 60, "memory_mb": 1024}}],
    }
    manifest.update(overrides)
    (root / "competition.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return root


def code_archive(path: Path, main_py: str) -> Path:
    """A code submission: a zip with main.py at its root."""
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("main.py", main_py)
    return path
