"""Write a competition bundle folder: competition.yaml and every file it names.

The layout is the one docs/bundles.md describes. Public tables go under ``data/``, hidden
ones under ``hidden/`` — never inside ``data/`` or the starting kit, which are what the
public download serves.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from competitions.bundles import hierarchy_files_write
from scenarios import baselines as baseline_code
from scenarios.tables import write_csv

PHASE_START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@dataclass
class Table:
    name: str  # the dataset name the task type asks for
    frame: pd.DataFrame
    visibility: str  # "public" | "hidden"
    description: str

    @property
    def file(self) -> str:
        folder = "data" if self.visibility == "public" else "hidden"
        return f"{folder}/{self.name}.csv"


@dataclass
class Baseline:
    name: str
    role: str  # "defense" | "attack"
    code: str  # folder name under scenarios/baselines/
    description: str
    task: str | None = None  # needed where a competition has several tasks for the role


@dataclass
class Bundle:
    slug: str
    title: str
    scenario: str
    task: str
    description: str  # Markdown
    schema: dict
    tables: list[Table]
    baselines: list[Baseline]
    attack_tasks: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    check_run: bool = True


def phases(*, check_run: bool) -> list[dict]:
    """One open-ended phase: scenarios serve as standing benchmarks, not dated contests."""
    return [
        {
            "name": "development",
            "start": PHASE_START,
            "end": None,
            "max_submissions_per_day": 5,
            "max_submissions_total": 100,
            "max_final_selections": 2,
            "max_team_size": 5,
            "public_fraction": 0.5,
            "check_run": check_run,
            "limits": {"wall_seconds": 300, "memory_mb": 2048, "cpus": 1, "gpus": 0, "output_mb": 50},
        }
    ]


class _Dumper(yaml.SafeDumper):
    """Block-style YAML, timestamps written as ISO 8601 with 'Z' like docs/bundles.md."""


def _timestamp(dumper: yaml.SafeDumper, value: dt.datetime):
    text = value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", text)


_Dumper.add_representer(dt.datetime, _timestamp)


def manifest(bundle: Bundle, *, starting_kit: bool) -> dict:
    doc: dict[str, Any] = {
        "slug": bundle.slug,
        "title": bundle.title,
        "description": "description.md",
        "scenario": bundle.scenario,
        "task": bundle.task,
        "attack_tasks": list(bundle.attack_tasks),
        "published": True,
        "options": dict(bundle.options),
        "schema": bundle.schema,
        "data": [
            {"name": t.name, "file": t.file, "visibility": t.visibility, "description": t.description}
            for t in bundle.tables
        ],
        "phases": phases(check_run=bundle.check_run),
    }
    if starting_kit:
        doc["starting_kit"] = "starting_kit"
    doc["baselines"] = []
    for b in bundle.baselines:
        entry = {"name": b.name, "role": b.role}
        if b.task:
            entry["task"] = b.task
        entry["path"] = f"baselines/{b.code}"
        entry["description"] = b.description
        doc["baselines"].append(entry)
    return doc


def write(bundle: Bundle, dest: Path, *, kit=None) -> Path:
    """Write ``bundle`` into the empty folder ``dest``; ``kit(folder)`` fills the starting kit."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    (dest / "description.md").write_text(bundle.description, encoding="utf-8")
    for t in bundle.tables:
        write_csv(t.frame, dest / t.file)
    for b in bundle.baselines:
        baseline_code.materialise(b.code, dest / "baselines" / b.code)
    if kit is not None:
        kit(dest / "starting_kit")
    doc = manifest(bundle, starting_kit=kit is not None)
    doc["schema"] = hierarchy_files_write(bundle.schema, dest)  # the hierarchies as files of the bundle
    text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    (dest / "competition.yaml").write_text(text, encoding="utf-8")
    return dest


def schema_json(schema: dict) -> dict:
    """What /input/schema.json holds (docs/task-types.md)."""
    return {
        "id_column": schema["id_column"],
        "columns": [{k: c[k] for k in ("name", "type", "min", "max", "categories", "hierarchy") if k in c} for c in schema["columns"]],
        "quasi_identifiers": list(schema.get("quasi_identifiers") or []),
        "sensitive": list(schema.get("sensitive") or []),
        "target": schema.get("target"),
    }
