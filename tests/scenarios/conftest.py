"""Shared fixtures: the bundles are built once per session, and baselines run as the sandbox runs them.

The checks use the server's own code wherever it exists — ``competitions.bundles`` reads
the manifests, the task types in ``evaluation.task_types`` check the data, build each run's
/input, validate outputs and compute scores — so a bundle that passes here imports and
runs on the server.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from scenarios import build as scenario_build

ARENA = "discharge-arena"


def _backend() -> str:
    """Docker with the runtime image when an engine has it (required in CI), else the process backend.

    Running the baselines in the runtime image matters: it carries its own numpy, pandas and
    scikit-learn, which need not match the server's.
    """
    from sandbox import RUNTIME_IMAGE, available_backends

    found = available_backends(RUNTIME_IMAGE)
    if os.environ.get("ARENA_REQUIRE_DOCKER") and "docker" not in found:
        pytest.fail(f"ARENA_REQUIRE_DOCKER is set but no Docker engine with {RUNTIME_IMAGE} answers")
    return found[0]


def run_program(folder: Path, input_dir: Path, output_dir: Path, *, task: str, role: str, seed: int = 0, timeout: float = 180):
    """Run ``folder/main.py`` in the sandbox, as the server runs a submission."""
    from sandbox import run
    from sandbox.spec import Limits, RunSpec

    spec = RunSpec(
        submission_dir=folder,
        input_dir=input_dir,
        env={"ARENA_TASK": task, "ARENA_ROLE": role, "ARENA_INPUT": "/input", "ARENA_OUTPUT": "/output", "ARENA_SEED": str(seed)},
        limits=Limits(wall_seconds=timeout, memory_mb=4096),
        labels={"anomed-arena.test": "scenarios"},
    )
    result = run(spec, output_dir=output_dir, backend=_backend())
    assert result.ok, f"{folder.name} failed on the {result.backend} backend: {result.message}\n{result.stderr[-3000:]}"
    return result


def task_data(bundle: Path):
    """The bundle read by the server's reader, and its files as the task types take them."""
    from competitions.bundles import bundle_read
    from evaluation.task_types import Schema, TaskData

    spec = bundle_read(bundle)
    schema = spec.schema if isinstance(spec.schema, Schema) else Schema.from_json(spec.schema)
    return spec, TaskData(files={d.name: bundle / d.file for d in spec.data}, schema=schema, options=dict(spec.options))


class AllPublic:
    """Every id on the public split: tests score whole outputs at once."""

    def split_of(self, ids: pd.Series) -> pd.Series:
        return pd.Series("public", index=ids.index)


@pytest.fixture(autouse=True)
def _private_storage():
    """Scenario tests touch no Django storage; this replaces the suite-wide fixture that needs
    pytest-django, so they also run with ``-p no:django``."""
    yield None


def code_of(baseline) -> str:
    """The baseline's folder name under baselines/ (e.g. ``qi_linkage``)."""
    return Path(baseline.path).name


@pytest.fixture(scope="session")
def bundles(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundles")
    scenario_build.build(out)
    return out


@pytest.fixture(scope="session")
def arena_releases(bundles, tmp_path_factory) -> dict[str, Path]:
    """Each defense baseline's release of the arena's hidden training records, made as the server makes it."""
    from evaluation.task_types import get_task

    bundle = bundles / ARENA
    spec, data = task_data(bundle)
    task = get_task("tabular-anonymization")
    root = tmp_path_factory.mktemp("arena-defenses")

    def one(baseline) -> tuple[str, Path]:
        name = code_of(baseline)
        prepared = task.prepare(data=data, dest=root / name / "input", check=False, seed=7)
        out = root / name / "output"
        run_program(spec.root / baseline.path, prepared.input_dir, out, task=task.name, role="defense", seed=7)
        task.validate(path=out / "release.csv", prepared=prepared)
        return name, out / "release.csv"

    defenses = [b for b in spec.baselines if b.role == "defense"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, defenses))
