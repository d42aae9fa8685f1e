"""The arena world the arena's tests share: tiny generated data, real stdlib-only programs
(defenses and attacks), a competition bundle pairing them, and a 4-team arena evaluated inline
by the real pipeline in the ``process`` sandbox, whose ``sandbox_call`` is wrapped to count runs
and to inspect every RunSpec the arena builds. The ``arena`` fixture (tests/conftest.py) is
:func:`arena_make`.
"""

from __future__ import annotations

import csv
import io
import random
import textwrap
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from competitions.models import Competition

COLUMNS = ["age", "sex", "postcode", "diagnosis"]
QIS = ["age", "sex", "postcode"]
# Diverse enough that a non-member rarely matches a member by chance (on ~15 per split).
POSTCODES = [f"{10115 + 7 * i}" for i in range(25)]

# --------------------------------------------------------------------------- programs

IDENTITY_DEFENSE = """
import os, shutil
shutil.copyfile(os.path.join(os.environ["ARENA_INPUT"], "records.csv"), os.path.join(os.environ["ARENA_OUTPUT"], "release.csv"))
"""

GENERALISING_DEFENSE = """
import csv, os
with open(os.path.join(os.environ["ARENA_INPUT"], "records.csv")) as fh:
    rows = list(csv.DictReader(fh))
with open(os.path.join(os.environ["ARENA_OUTPUT"], "release.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["age", "sex", "postcode", "diagnosis"])
    for r in rows:
        lo = int(r["age"]) // 20 * 20
        w.writerow([f"[{lo}, {lo + 19}]", r["sex"], "*", r["diagnosis"]])
"""

SYNTHETIC_DEFENSE = """
import csv, os, random
with open(os.path.join(os.environ["ARENA_INPUT"], "records.csv")) as fh:
    rows = list(csv.DictReader(fh))
rng = random.Random(int(os.environ["ARENA_SEED"]))
cols = ["age", "sex", "postcode", "diagnosis"]
with open(os.path.join(os.environ["ARENA_OUTPUT"], "release.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(cols)
    for _ in rows:
        w.writerow([rng.choice(rows)[c] for c in cols])
"""

# membership inference: one score per candidate
CONSTANT_MIA = """
import csv, os
with open(os.path.join(os.environ["ARENA_INPUT"], "candidates.csv")) as fh:
    ids = [r["candidate_id"] for r in csv.DictReader(fh)]
with open(os.path.join(os.environ["ARENA_OUTPUT"], "predictions.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["candidate_id", "score"])
    for i in ids:
        w.writerow([i, 0.5])
"""

# passes its check run on the public sample, then crashes on every real pair (more candidates)
CRASHING_MIA = """
import csv, os, sys
with open(os.path.join(os.environ["ARENA_INPUT"], "candidates.csv")) as fh:
    ids = [r["candidate_id"] for r in csv.DictReader(fh)]
if len(ids) > 40:
    sys.exit(3)
with open(os.path.join(os.environ["ARENA_OUTPUT"], "predictions.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["candidate_id", "score"])
    for i in ids:
        w.writerow([i, 0.5])
"""

EXACT_MATCH_MIA = """
import csv, os
cols = ["age", "sex", "postcode", "diagnosis"]
inp = os.environ["ARENA_INPUT"]
with open(os.path.join(inp, "release.csv")) as fh:
    seen = {tuple(r[c] for c in cols) for r in csv.DictReader(fh)}
with open(os.path.join(inp, "candidates.csv")) as fh:
    cands = list(csv.DictReader(fh))
with open(os.path.join(os.environ["ARENA_OUTPUT"], "predictions.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["candidate_id", "score"])
    for r in cands:
        w.writerow([r["candidate_id"], 1 if tuple(r[c] for c in cols) in seen else 0])
"""

# attribute inference: guess the diagnosis from the release rows sharing the known columns
MATCHING_AIA = """
import csv, os, collections
inp = os.environ["ARENA_INPUT"]
with open(os.path.join(inp, "release.csv")) as fh:
    release = list(csv.DictReader(fh))
overall = collections.Counter(r["diagnosis"] for r in release).most_common(1)[0][0]
by_key = collections.defaultdict(collections.Counter)
for r in release:
    by_key[(r["age"], r["sex"], r["postcode"])][r["diagnosis"]] += 1
with open(os.path.join(inp, "targets.csv")) as fh:
    targets = list(csv.DictReader(fh))
with open(os.path.join(os.environ["ARENA_OUTPUT"], "guesses.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["target_id", "guess"])
    for t in targets:
        found = by_key.get((t["age"], t["sex"], t["postcode"]))
        w.writerow([t["target_id"], found.most_common(1)[0][0] if found else overall])
"""

# re-identification: link each release row to someone in the register with the same postcode
# (a weak baseline: a postcode is shared by a few people, so most links are wrong)
LINKING_REID = """
import csv, os
inp = os.environ["ARENA_INPUT"]
with open(os.path.join(inp, "register.csv")) as fh:
    register = {}
    for r in csv.DictReader(fh):
        register.setdefault(r["postcode"], []).append(r["identity_id"])
with open(os.path.join(inp, "release.csv")) as fh:
    release = list(csv.DictReader(fh))
with open(os.path.join(os.environ["ARENA_OUTPUT"], "links.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["release_id", "identity_id", "confidence"])
    for r in release:
        people = register.get(r["postcode"])
        if people:
            w.writerow([r["release_id"], people[0], 1 / len(people)])
"""


# --------------------------------------------------------------------------- data and bundle


def _patients(rng: random.Random, n: int, prefix: str) -> list[list]:
    return [
        [f"{prefix}{i:04d}", rng.randint(18, 90), rng.choice(["F", "M"]), rng.choice(POSTCODES),
         rng.choice(["I10", "E11", "J45"])]
        for i in range(n)
    ]


def _csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _program_dir(root: Path, source: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return root


def program_zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        # a fixed timestamp: the same program gives byte-identical archives (the cache's key)
        zf.writestr(zipfile.ZipInfo("main.py", date_time=(2024, 1, 1, 0, 0, 0)), textwrap.dedent(source))
    return buffer.getvalue()


def arena_bundle(root: Path) -> Path:
    """An arena: tabular anonymization against all three attack tasks; one baseline of each of
    the defense, membership-inference and re-identification tasks."""
    rng = random.Random(5)
    train = _patients(rng, 80, "trn-secret-")
    holdout = _patients(rng, 80, "hld-secret-")
    sample = _patients(rng, 40, "smp-")
    header = ["record_id", *COLUMNS]
    _csv(root / "hidden/train.csv", header, train)
    _csv(root / "hidden/holdout.csv", header, holdout)
    _csv(root / "public/sample.csv", header, sample)
    people = [(f"person-{i:04d}", row) for i, row in enumerate(train[:60] + holdout[:20])]
    _csv(root / "public/register.csv", ["identity_id", "name", *QIS],
         [[pid, f"Patient {pid}", row[1], row[2], row[3]] for pid, row in people])
    _csv(root / "hidden/identities.csv", ["record_id", "identity_id"], [[row[0], pid] for pid, row in people[:60]])
    (root / "description.md").write_text("# Arena test\n", encoding="utf-8")
    _program_dir(root / "baselines/identity", IDENTITY_DEFENSE)
    _program_dir(root / "baselines/constant_mia", CONSTANT_MIA)
    _program_dir(root / "baselines/linking_reid", LINKING_REID)
    manifest = {
        "slug": "arena-test",
        "title": "Arena test",
        "description": "description.md",
        "task": "tabular-anonymization",
        "attack_tasks": ["membership-inference", "reidentification", "attribute-inference"],
        "published": True,
        "options": {"candidates_per_group": 30, "targets_per_group": 30},
        "schema": {
            "id_column": "record_id",
            "columns": [{"name": "age", "type": "numeric"}, {"name": "sex", "type": "categorical"},
                        {"name": "postcode", "type": "categorical"}, {"name": "diagnosis", "type": "categorical"}],
            "quasi_identifiers": QIS,
            "sensitive": ["diagnosis"],
        },
        "data": [
            {"name": "train", "file": "hidden/train.csv", "visibility": "hidden"},
            {"name": "holdout", "file": "hidden/holdout.csv", "visibility": "hidden"},
            {"name": "sample", "file": "public/sample.csv", "visibility": "public"},
            {"name": "register", "file": "public/register.csv", "visibility": "public"},
            {"name": "identities", "file": "hidden/identities.csv", "visibility": "hidden"},
        ],
        "phases": [{"name": "open", "start": "2020-01-01T00:00:00Z", "end": None, "max_submissions_per_day": 10,
                    "public_fraction": 0.5, "limits": {"wall_seconds": 60, "memory_mb": 512}}],
        "baselines": [
            {"name": "No protection", "role": "defense", "task": "tabular-anonymization", "path": "baselines/identity"},
            {"name": "Coin flip", "role": "attack", "task": "membership-inference", "path": "baselines/constant_mia"},
            {"name": "Postcode linkage", "role": "attack", "task": "reidentification", "path": "baselines/linking_reid"},
        ],
    }
    (root / "competition.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return root


# --------------------------------------------------------------------------- the harness


@dataclass
class Recorder:
    """Wraps ``evaluation.pipeline.sandbox_call``: counts runs and snapshots what each attack run's /input held."""

    specs: list = field(default_factory=list)
    inputs: list[dict[str, bytes]] = field(default_factory=list)

    def purposes(self) -> list[str]:
        return [s.labels.get("arena.purpose") for s in self.specs]

    def count(self, purpose: str | None = None) -> int:
        return sum(1 for p in self.purposes() if purpose is None or p == purpose)


@dataclass
class Arena:
    competition: Competition
    phase: object
    teams: dict
    users: dict
    recorder: Recorder
    hidden: dict[str, bytes]

    def submit(self, team: str, source: str, *, task: str, description: str = ""):
        from submissions.services import submission_create

        payload = program_zip(source)
        return submission_create(
            competition=self.competition, team=self.teams[team], user=self.users[team], upload=io.BytesIO(payload),
            filename="attack.zip" if task != "tabular-anonymization" else "defense.zip", size=len(payload), task=task,
            description=description,
        )


def arena_make(*, settings, tmp_path: Path, monkeypatch, django_user_model) -> Arena:
    """A published arena with teams alpha, beta, gamma and delta (one user each), evaluated inline."""
    settings.ARENA_EVALUATION_MODE = "inline"
    settings.ARENA_SANDBOX_BACKEND = "process"
    from competitions.models import Dataset
    from competitions.services import competition_import, team_create
    from evaluation import pipeline

    recorder = Recorder()
    real_run = pipeline.sandbox_call

    def recording_run(*, spec, output_dir):
        recorder.specs.append(spec)
        snapshot = {}
        for path in sorted(Path(spec.input_dir).rglob("*")):
            assert not path.is_symlink(), f"{path} is a link"
            if path.is_file():
                snapshot[str(path.relative_to(spec.input_dir))] = path.read_bytes()
        recorder.inputs.append(snapshot)
        return real_run(spec=spec, output_dir=output_dir)

    monkeypatch.setattr(pipeline, "sandbox_call", recording_run)
    # Nobody watches the boards while the arena is built: pushes only invalidate the cache.
    # The test that asserts pushes installs a recording layer.
    from competitions.leaderboards import push

    monkeypatch.setattr(push, "get_channel_layer", lambda: None)

    bundle = arena_bundle(tmp_path / "bundle")
    competition = competition_import(path=bundle)
    hidden = {d.name: (bundle / d.filename).read_bytes() for d in Dataset.objects.filter(competition=competition, visibility="hidden")}
    users, teams = {}, {}
    for name in ("alpha", "beta", "gamma", "delta"):
        users[name] = django_user_model.objects.create_user(username=name, password="a-long-test-password")
        teams[name] = team_create(competition=competition, user=users[name], name=f"Team {name}")
    return Arena(competition, competition.phases.get(), teams, users, recorder, hidden)


def scores_of(submission, split="public") -> dict:
    from submissions.models import Score

    return {s.metric: s for s in Score.objects.filter(submission=submission, split=split)}


def build_three_by_three(arena: Arena):
    """Baselines (1 defense, 2 attacks) plus 2 team defenses and 1 team attack: 3 × 3."""
    d1 = arena.submit("alpha", GENERALISING_DEFENSE, task="tabular-anonymization")
    d2 = arena.submit("beta", SYNTHETIC_DEFENSE, task="tabular-anonymization")
    a1 = arena.submit("gamma", MATCHING_AIA, task="attribute-inference")
    return d1, d2, a1
