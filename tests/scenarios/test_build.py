"""The build: deterministic, complete bundles in the format of docs/bundles.md."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import yaml

from scenarios import build as scenario_build

from .conftest import task_data

REPO = Path(__file__).resolve().parents[2]
SLUGS = {"breast-cancer-membership", "discharge-linkage", "diabetes-attribute", "discharge-arena"}
TOP_FIELDS = ["slug", "title", "description", "scenario", "task", "attack_tasks", "published", "options",
              "schema", "data", "phases", "starting_kit", "baselines"]
PHASE_FIELDS = ["name", "start", "end", "max_submissions_per_day", "max_submissions_total", "max_final_selections",
                "max_team_size", "public_fraction", "check_run", "limits"]


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_building_twice_gives_identical_files(tmp_path):
    # Two builds back to back (not against the session's build): the kits copy evaluation/,
    # which may legitimately change while a long session runs.
    scenario_build.build(tmp_path / "a")
    scenario_build.build(tmp_path / "b")
    first, second = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []
    assert {p.split("/")[0] for p in first} == SLUGS


def test_cli_builds_only_what_it_is_asked(tmp_path):
    done = subprocess.run([sys.executable, "-m", "scenarios.build", "--out", str(tmp_path), "--only", "diabetes-attribute"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["diabetes-attribute"]
    bad = subprocess.run([sys.executable, "-m", "scenarios.build", "--out", str(tmp_path), "--only", "nope"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown scenario nope" in bad.stderr


def test_every_manifest_has_every_field_and_names_existing_files(bundles):
    for slug in SLUGS:
        root = bundles / slug
        doc = yaml.safe_load((root / "competition.yaml").read_text(encoding="utf-8"))
        assert list(doc) == TOP_FIELDS
        assert doc["slug"] == slug
        assert (root / doc["description"]).is_file()
        assert (root / doc["starting_kit"] / "README.md").is_file()
        assert {"id_column", "columns", "quasi_identifiers", "sensitive"} <= set(doc["schema"])
        for item in doc["data"]:
            assert set(item) == {"name", "file", "visibility", "description"} and item["description"]
            assert (root / item["file"]).is_file(), item["file"]
        for phase in doc["phases"]:
            assert list(phase) == PHASE_FIELDS
            assert phase["public_fraction"] == 0.5
            assert phase["limits"] == {"wall_seconds": 300, "memory_mb": 2048, "cpus": 1, "gpus": 0, "output_mb": 50}
        assert doc["baselines"]
        for b in doc["baselines"]:
            assert b["name"] and b["description"] and b["role"] in ("defense", "attack")
            assert (root / b["path"] / "main.py").is_file()
            assert (root / b["path"] / "arena_tables.py").is_file()  # shared helper vendored in


def test_bundles_pass_the_servers_checks(bundles):
    from evaluation.task_types import get_task

    for slug in SLUGS:
        spec, data = task_data(bundles / slug)
        get_task(spec.task).check_data(data)
        for attack in spec.attack_tasks:
            get_task(attack).check_data(data, arena=True)


def test_hidden_files_stay_out_of_public_folders(bundles):
    for slug in SLUGS:
        root = bundles / slug
        doc = yaml.safe_load((root / "competition.yaml").read_text(encoding="utf-8"))
        hidden = {item["file"] for item in doc["data"] if item["visibility"] == "hidden"}
        public = {item["file"] for item in doc["data"] if item["visibility"] == "public"}
        assert hidden and all(f.startswith("hidden/") for f in hidden)
        assert all(f.startswith("data/") for f in public)
        # Nothing under data/ or the kit is a hidden file, by name or by content.
        hidden_sums = {hashlib.sha256((root / f).read_bytes()).hexdigest() for f in hidden}
        for folder in ("data", "starting_kit"):
            for p in (root / folder).rglob("*"):
                if p.is_file():
                    assert hashlib.sha256(p.read_bytes()).hexdigest() not in hidden_sums, p
        assert {p.relative_to(root).as_posix() for p in (root / "hidden").iterdir()} == hidden


def test_kits_carry_the_servers_validation_code(bundles):
    for slug in SLUGS:
        code = bundles / slug / "starting_kit" / "arena_validation" / "evaluation"
        assert (code / "task_types" / "validate.py").read_bytes() == (REPO / "evaluation/task_types/validate.py").read_bytes()
        assert (code / "task_types" / "base.py").is_file() and (code / "metrics" / "__init__.py").is_file()
        # The app's own __init__ may set up Django; the kit's must not import anything.
        assert "import" not in (code / "__init__.py").read_text()
        for path in code.rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "import django" not in text and "from django" not in text, path
