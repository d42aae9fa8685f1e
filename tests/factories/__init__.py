"""The test suite's factories, all in this package: small, real competition bundles written on
the fly (here), rows written straight to the database (:mod:`tests.factories.records`) and the
arena's world of real programs and data (:mod:`tests.factories.arena`)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import yaml


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _patient(rng: random.Random) -> list:
    return [rng.randint(18, 90), rng.choice(["F", "M"]), rng.choice(["10115", "20095", "80331", "50667"]), rng.choice(["I10", "E11", "J45"])]


COLUMNS = ["age", "sex", "postcode", "diagnosis"]
QUASI_IDENTIFIERS = ["age", "sex", "postcode"]


def patient_schema(**extra) -> dict:
    """The bundles' schema: the COLUMNS (age numeric), the quasi-identifiers, the diagnosis as sensitive."""
    return {
        "id_column": "record_id",
        "columns": [{"name": name, "type": "numeric" if name == "age" else "categorical"} for name in COLUMNS],
        "quasi_identifiers": list(QUASI_IDENTIFIERS),
        "sensitive": ["diagnosis"],
        **extra,
    }


def _distinct_patients(rng: random.Random, count: int) -> list[list]:
    """Patients whose quasi-identifiers all differ: a record links to exactly one person."""
    seen: set[tuple] = set()
    people: list[list] = []
    while len(people) < count:
        patient = _patient(rng)
        if tuple(patient[:3]) not in seen:
            seen.add(tuple(patient[:3]))
            people.append(patient)
    return people


def _write_manifest(root: Path, manifest: dict, overrides: dict) -> Path:
    manifest.update(overrides)
    (root / "competition.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return root


def bundle_membership(root: Path, *, slug: str = "mia-test", candidates: int = 60, seed: int = 7, **overrides) -> Path:
    """A membership-inference bundle: a release of the members, mixed candidates, hidden answers."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    members = [_patient(rng) for _ in range(candidates // 2)]
    others = [_patient(rng) for _ in range(candidates - candidates // 2)]
    mixed = [(m, 1) for m in members] + [(o, 0) for o in others]
    rng.shuffle(mixed)
    write_csv(root / "data/release.csv", COLUMNS, members)
    write_csv(root / "data/candidates.csv", ["candidate_id", *COLUMNS], [[f"c{i:04d}", *r] for i, (r, _) in enumerate(mixed)])
    write_csv(root / "data/population.csv", COLUMNS, [_patient(rng) for _ in range(40)])
    write_csv(root / "hidden/membership.csv", ["candidate_id", "is_member"], [[f"c{i:04d}", m] for i, (_, m) in enumerate(mixed)])
    (root / "description.md").write_text("# Membership test\n\nFind the members.\n", encoding="utf-8")
    (root / "starting_kit").mkdir(exist_ok=True)
    (root / "starting_kit/README.md").write_text("Write predictions.csv\n", encoding="utf-8")
    manifest = {
        "slug": slug,
        "title": "Membership inference test",
        "description": "description.md",
        "task": "membership-inference",
        "published": True,
        "schema": patient_schema(),
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
    return _write_manifest(root, manifest, overrides)


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
        write_csv(root / f"{folder}/{name}.csv", header, [[f"r{offset + i:05d}", *_patient(rng)] for i in range(count)])
    (root / "description.md").write_text("# Anonymize\n", encoding="utf-8")
    manifest = {
        "slug": slug,
        "title": "Anonymization test",
        "description": "description.md",
        "task": "tabular-anonymization",
        "published": True,
        "schema": patient_schema(target="diagnosis"),
        "data": [
            {"name": "train", "file": "hidden/train.csv", "visibility": "hidden"},
            {"name": "holdout", "file": "hidden/holdout.csv", "visibility": "hidden"},
            {"name": "sample", "file": "data/sample.csv", "visibility": "public"},
        ],
        "phases": [{"name": "main", "start": "2020-01-01T00:00:00Z", "max_submissions_per_day": 20,
                    "public_fraction": 0.5, "check_run": True, "limits": {"wall_seconds": 60, "memory_mb": 1024}}],
    }
    return _write_manifest(root, manifest, overrides)


def _attack_bundle(root: Path, *, slug: str, title: str, task: str, tables: dict[str, tuple[str, list[str], list[list]]],
                   overrides: dict) -> Path:
    """Write a fixed-release attack bundle: ``tables`` maps dataset name -> (visibility, header, rows)."""
    data = []
    for name, (visibility, header, rows) in tables.items():
        file = f"{'data' if visibility == 'public' else 'hidden'}/{name}.csv"
        write_csv(root / file, header, rows)
        data.append({"name": name, "file": file, "visibility": visibility})
    (root / "description.md").write_text(f"# {title}\n", encoding="utf-8")
    manifest = {
        "slug": slug, "title": title, "description": "description.md", "task": task, "published": True,
        "schema": patient_schema(), "data": data,
        "phases": [{"name": "development", "start": "2020-01-01T00:00:00Z", "max_submissions_per_day": 50,
                    "public_fraction": 0.5, "limits": {"wall_seconds": 30, "memory_mb": 512}}],
    }
    return _write_manifest(root, manifest, overrides)


def bundle_reidentification(root: Path, *, slug: str = "reid-test", rows: int = 40, seed: int = 13, **overrides) -> Path:
    """A re-identification bundle: a de-identified release and a named register.

    Every person's quasi-identifiers are unique, so matching them links each release row whose
    person is in the register to exactly that person: the first quarter of the release rows
    has no one in the register, and the register holds people who are not in the release.
    """
    rng = random.Random(seed)
    people = _distinct_patients(rng, rows + rows // 2)
    release_ids = [f"r{i:04d}" for i in range(rows)]
    registered = list(range(rows // 4, len(people)))
    identity_of = dict(zip(registered, (f"person-{n:04d}" for n in rng.sample(range(len(registered)), len(registered))), strict=True))
    register = [[identity_of[i], f"Patient {identity_of[i][-4:]}", *people[i][:3]] for i in registered]
    rng.shuffle(register)
    return _attack_bundle(root, slug=slug, title="Re-identification test", task="reidentification", overrides=overrides, tables={
        "release": ("public", ["release_id", *COLUMNS], [[release_ids[i], *people[i]] for i in range(rows)]),
        "register": ("public", ["identity_id", "name", *QUASI_IDENTIFIERS], register),
        "truth": ("hidden", ["release_id", "identity_id"], [[release_ids[i], identity_of[i]] for i in range(rows) if i in identity_of]),
    })


def bundle_attribute_inference(root: Path, *, slug: str = "aia-test", rows: int = 40, seed: int = 17, **overrides) -> Path:
    """An attribute-inference bundle: guess the diagnosis of target patients from a release.

    Half the targets (members) are in the release with unique quasi-identifiers, so their
    diagnosis can be looked up; the other half (controls) are not in it.
    """
    rng = random.Random(seed)
    people = _distinct_patients(rng, rows)
    targets = [(person, "member" if i < rows // 2 else "control") for i, person in enumerate(people)]
    rng.shuffle(targets)
    return _attack_bundle(root, slug=slug, title="Attribute inference test", task="attribute-inference", overrides=overrides, tables={
        "release": ("public", COLUMNS, people[: rows // 2]),
        "targets": ("public", ["target_id", *QUASI_IDENTIFIERS], [[f"t{i:04d}", *p[:3]] for i, (p, _) in enumerate(targets)]),
        "secrets": ("hidden", ["target_id", "secret", "group"], [[f"t{i:04d}", p[3], g] for i, (p, g) in enumerate(targets)]),
    })


def code_archive(path: Path, main_py: str) -> Path:
    """A code submission: a zip with main.py at its root."""
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("main.py", main_py)
    return path


def upload(content: bytes, name: str = "predictions.csv"):
    """An uploaded CSV file as the API receives it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/csv")
