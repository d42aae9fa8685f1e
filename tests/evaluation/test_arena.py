"""The arena end to end: defenses and attacks scored against each other, on tiny generated data.

Every submission here is a real program run by the ``process`` sandbox backend (stdlib-only
Python), evaluated inline by the real pipeline. ``evaluation.pipeline.sandbox_call`` is wrapped
to count runs and to inspect every RunSpec the arena builds.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import textwrap
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.django_db(transaction=True)

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
    competition: object
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


@pytest.fixture
def arena(settings, tmp_path, monkeypatch, django_user_model):
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


def _scores(submission, split="public") -> dict:
    from submissions.models import Score

    return {s.metric: s for s in Score.objects.filter(submission=submission, split=split)}


def _build_three_by_three(arena: Arena):
    """Baselines (1 defense, 2 attacks) plus 2 team defenses and 1 team attack: 3 × 3."""
    d1 = arena.submit("alpha", GENERALISING_DEFENSE, task="tabular-anonymization")
    d2 = arena.submit("beta", SYNTHETIC_DEFENSE, task="tabular-anonymization")
    a1 = arena.submit("gamma", MATCHING_AIA, task="attribute-inference")
    return d1, d2, a1


# --------------------------------------------------------------------------- tests


def test_matrix_row_column_caching_and_no_hidden_file_in_attack_inputs(arena):
    from evaluation import selectors
    from evaluation.models import ArenaResult
    from submissions.models import Run, Submission

    d1, d2, a1 = _build_three_by_three(arena)
    submissions = Submission.objects.filter(competition=arena.competition)
    assert set(submissions.values_list("status", flat=True)) == {Submission.FINISHED}, [
        (s.pk, s.status, s.error, [(r.stdout, r.stderr) for r in s.runs.all()]) for s in submissions]

    # 3 defenses × 3 attacks, baselines counted: 9 pairs, all run once in the sandbox.
    assert ArenaResult.objects.count() == 9
    assert set(ArenaResult.objects.values_list("status", flat=True)) == {ArenaResult.FINISHED}
    assert arena.recorder.count("arena") == 9
    assert Run.objects.filter(purpose=Run.ARENA, saw_hidden_data=True).count() == 9
    matrix = selectors.arena_matrix(phase=arena.phase)
    assert len(matrix["defenses"]) == 3 and len(matrix["rows"]) == 3
    assert matrix["counts"] == {"pairs": 9, "finished": 9, "pending": 0, "failed": 0}
    assert all(cell["status"] == "finished" for row in matrix["rows"] for cell in row["cells"])
    for row in matrix["rows"]:
        for cell, column in zip(row["cells"], matrix["defenses"]):
            # Only a release that keeps the record ids says which row is whose: a generalised or
            # synthetic release without them has no re-identifiable row, so that rate is undefined.
            linkable = column["baseline"]
            assert (cell["value"] is not None) is (linkable or row["attack"]["task"] != "reidentification"), (row, cell)
    assert [d["baseline"] for d in matrix["defenses"]] == [True, False, False]

    # A fourth attack is one new row: exactly 3 pair runs (plus its check run on the public sample).
    before = arena.recorder.count()
    a4 = arena.submit("delta", EXACT_MATCH_MIA, task="membership-inference")
    a4.refresh_from_db()
    assert a4.status == Submission.FINISHED
    assert arena.recorder.count() - before == 4
    assert arena.recorder.purposes()[before:].count("arena") == 3
    assert ArenaResult.objects.filter(attack=a4, status=ArenaResult.FINISHED).count() == 3

    # An identical resubmission reuses every cached pair and its passed check: no sandbox run at all.
    before = arena.recorder.count()
    again = arena.submit("delta", EXACT_MATCH_MIA, task="membership-inference")
    again.refresh_from_db()
    assert again.status == Submission.FINISHED
    assert arena.recorder.count() == before
    reused = ArenaResult.objects.filter(attack=again)
    assert reused.count() == 3 and all(r.reused_from_id and r.run_id is None for r in reused)
    for r in reused:
        assert r.scores == ArenaResult.objects.get(attack=a4, defense=r.defense).scores
    assert _scores(again)["tpr_at_fpr_0_1"].value == _scores(a4)["tpr_at_fpr_0_1"].value

    # Every attack run's /input held only what the attack task wrote: no hidden file, no hidden id.
    hidden_hashes = {hashlib.sha256(content).hexdigest() for content in arena.hidden.values()}
    hidden_ids = set()
    for name in ("train", "holdout", "identities"):
        for row in csv.DictReader(io.StringIO(arena.hidden[name].decode())):
            hidden_ids.add(row["record_id"])
    attack_runs = [(spec, files) for spec, files in zip(arena.recorder.specs, arena.recorder.inputs)
                   if spec.env["ARENA_ROLE"] == "attack"]
    assert len(attack_runs) == 12 + 4  # 12 pairs; check runs of the 2 attack baselines, a1 and a4
    for spec, files in attack_runs:
        data_dir = Path(spec.input_dir).parent / "data"
        assert not Path(spec.input_dir).resolve().is_relative_to(data_dir.resolve())
        for name, content in files.items():
            assert Path(name).stem not in {"train", "holdout", "identities", "membership", "truth", "secrets"}, name
            assert hashlib.sha256(content).hexdigest() not in hidden_hashes, name
            text = content.decode("utf-8")
            leaked = [i for i in hidden_ids if i in text]
            assert not leaked, f"{name} of a {spec.env['ARENA_TASK']} run holds hidden ids {leaked[:3]}"
            assert "trn-secret-" not in text and "hld-secret-" not in text


def test_defense_privacy_is_its_worst_attack_and_a_stronger_attack_is_pushed(arena, monkeypatch):
    from competitions.leaderboards import push
    from evaluation import arena as arena_module
    from evaluation import selectors
    from evaluation.models import ArenaResult
    from submissions.models import Submission

    _build_three_by_three(arena)
    baseline = Submission.objects.get(competition=arena.competition, role="defense", is_baseline=True)

    def check_worst_case(defense):
        scores = _scores(defense)
        strongest = []
        for task in arena.competition.attack_tasks:
            key, _label, _direction = arena_module.primary_metric(competition=arena.competition, task=task)
            values = [r.value("public", key) for r in ArenaResult.objects.filter(defense=defense, attack_task=task, status="finished")]
            values = [v for v in values if v is not None]
            worst = scores[arena_module.worst_key(task)]
            if values:
                assert worst.value == pytest.approx(max(values))
                strongest.append(arena_module.normalised_success(key, max(values)))
            else:
                assert worst.value is None
        assert scores["arena_privacy"].value == pytest.approx(1 - max(strongest))
        return scores

    before = check_worst_case(baseline)
    # Only the coin-flip membership attack so far: TPR at FPR 0.1 is at chance on the unprotected release.
    assert before["worst_membership_inference"].value <= 0.5

    messages = []

    class RecordingLayer:
        """Records each push with the board its watchers get: the one the pusher just cached."""

        async def group_send(self, group, message):
            from asgiref.sync import sync_to_async

            from competitions.leaderboards.selectors import leaderboard_snapshot

            board = message.get("leaderboard")
            if board is None:
                board = await sync_to_async(leaderboard_snapshot)(
                    phase=arena.phase, split=message["split"], task=message["task"])
            messages.append((group, {**message, "leaderboard": board}))

    monkeypatch.setattr(push, "get_channel_layer", lambda: RecordingLayer())
    strong = arena.submit("delta", EXACT_MATCH_MIA, task="membership-inference")
    after = check_worst_case(baseline)
    assert after["worst_membership_inference"].value > before["worst_membership_inference"].value
    assert after["worst_membership_inference"].detail["attack"]["submission"] == strong.pk
    assert after["arena_privacy"].value < before["arena_privacy"].value

    # The defense leaderboard was pushed with the new worst case and privacy.
    boards = [m["leaderboard"] for group, m in messages
              if group == "leaderboard-arena-test" and m["leaderboard"]["task"] == "tabular-anonymization"
              and m["leaderboard"]["split"] == "public"]
    assert boards, "no defense leaderboard push"
    row = next(r for r in boards[-1]["rows"] if r["submission"] == baseline.pk)
    assert row["scores"]["worst_membership_inference"]["value"] == pytest.approx(after["worst_membership_inference"].value, abs=1e-4)
    assert row["scores"]["arena_privacy"]["value"] == pytest.approx(after["arena_privacy"].value, abs=1e-4)
    metric_keys = {m["key"] for m in boards[-1]["metrics"]}
    assert {"worst_membership_inference", "worst_reidentification", "worst_attribute_inference", "arena_privacy"} <= metric_keys

    # The attack's own scores: mean over all defenses, over the teams' only, and its best.
    results = list(ArenaResult.objects.filter(attack=strong, status="finished").select_related("defense"))
    values = [r.value("public", "tpr_at_fpr_0_1") for r in results]
    strong_scores = _scores(strong)
    assert strong_scores["tpr_at_fpr_0_1"].value == pytest.approx(sum(values) / len(values))
    teams = [r.value("public", "tpr_at_fpr_0_1") for r in results if not r.defense.is_baseline]
    assert strong_scores["arena_success_teams"].value == pytest.approx(sum(teams) / len(teams))
    assert strong_scores["arena_success_max"].value == pytest.approx(max(values))
    attack_boards = [m["leaderboard"] for _, m in messages if m["leaderboard"]["task"] == "membership-inference"]
    assert any(r["submission"] == strong.pk for r in attack_boards[-1]["rows"])

    # An attack that fails against every defense fails itself; the defenses' worst case is unchanged.
    crashing = arena.submit("beta", CRASHING_MIA, task="membership-inference")
    crashing.refresh_from_db()
    assert crashing.status == Submission.FAILED and crashing.failure_class == "exit_code"
    assert "all 3 defense(s)" in crashing.error
    assert set(ArenaResult.objects.filter(attack=crashing).values_list("status", flat=True)) == {"failed"}
    assert _scores(baseline)["worst_membership_inference"].value == after["worst_membership_inference"].value
    assert crashing.pk not in [row["attack"]["submission"] for row in selectors.arena_matrix(phase=arena.phase)["rows"]]

    # Pareto front: every defense has a privacy value; the front is non-dominated.
    front = selectors.arena_pareto_front(phase=arena.phase)
    points = {p["submission"]: p for p in front["points"]}
    assert len(points) == 3 and all(p["privacy"] is not None and p["utility"] is not None for p in points.values())
    on_front = [points[i] for i in front["front"]]
    assert on_front and all(p["on_front"] for p in on_front)
    for p in points.values():
        dominated = any(q["utility"] >= p["utility"] and q["privacy"] >= p["privacy"]
                        and (q["utility"] > p["utility"] or q["privacy"] > p["privacy"]) for q in points.values())
        assert p["on_front"] is (not dominated)


def test_identifiability_report_for_every_finished_defense_and_arena_metric_rows(arena, client_for, api_client,
                                                                                 django_user_model, tmp_path):
    from evaluation import identifiability
    from submissions.models import Submission

    d1, d2, _ = _build_three_by_three(arena)
    defenses = Submission.objects.filter(competition=arena.competition, role="defense", status="finished")
    assert defenses.count() == 3
    for defense in defenses:
        report = identifiability.identifiability_report(defense=defense)
        assert [c["criterion"] for c in report["criteria"]] == ["singling_out", "linkability", "inference"]
        for criterion in report["criteria"]:
            assert criterion["explanation"]
            if criterion["available"]:
                assert criterion["ci_low"] is not None and criterion["ci_high"] is not None
                assert criterion["ci_low"] <= criterion["value"] <= criterion["ci_high"] + 1e-9
        thresholds = {t["threshold"]: t for t in report["k_anonymity"]["thresholds"]}
        assert set(thresholds) == {0.05, 0.09, 0.2}
        assert "European Medicines Agency" in thresholds[0.09]["source"] and "Health Canada" in thresholds[0.09]["source"]
        assert thresholds[0.09]["k_needed"] == 12 and thresholds[0.05]["k_needed"] == 20 and thresholds[0.2]["k_needed"] == 5
        k, risk = report["k_anonymity"]["k"], report["k_anonymity"]["prosecutor_risk"]
        assert risk == pytest.approx(1 / k)
        for t in thresholds.values():
            assert t["max_risk_within"] is (risk <= t["threshold"])
        assert {s["task"] for s in report["strongest_attacks"]} == set(arena.competition.attack_tasks)
        assert "not legal advice" in report["disclaimer"]
        assert report["summary"]
    # the unprotected baseline copies the records: k = 1, every record is at risk
    baseline = defenses.get(is_baseline=True)
    report = identifiability.identifiability_report(defense=baseline)
    assert report["k_anonymity"]["k"] == 1 and not any(t["max_risk_within"] for t in report["k_anonymity"]["thresholds"])
    mia = next(s for s in report["strongest_attacks"] if s["task"] == "membership-inference")
    assert mia["attack"]["baseline"] is True and mia["value"] is not None

    # The API: the public split of every finished defense for everyone; the private split for
    # the team after the reveal, and for organizers.
    url = f"/api/v1/submissions/{d1.pk}/report/"
    assert client_for(arena.users["alpha"]).get(url).status_code == 200
    assert client_for(arena.users["beta"]).get(url).status_code == 200
    assert api_client.get(url).status_code == 200
    assert client_for(arena.users["beta"]).get(url + "?split=private").status_code == 403
    response = api_client.get(f"/api/v1/submissions/{baseline.pk}/report/")
    assert response.status_code == 200 and response.json()["baseline"] is True
    hidden = client_for(arena.users["alpha"]).get(url + "?split=private")
    assert hidden.status_code == 403 and hidden.json()["error"]
    organizer = django_user_model.objects.create_user(username="organizer", password="a-long-test-password")
    arena.competition.organizers.add(organizer)
    assert client_for(organizer).get(url + "?split=private").status_code == 200
    attack = Submission.objects.filter(competition=arena.competition, role="attack").first()
    assert client_for(organizer).get(f"/api/v1/submissions/{attack.pk}/report/").status_code == 404


    # The derived metrics are ranked like the others (rows made at import) and left out of exports.
    from competitions.bundles import bundle_read
    from competitions.models import Metric
    from competitions.services import competition_export

    keys = set(Metric.objects.filter(competition=arena.competition).values_list("task", "key"))
    assert {("tabular-anonymization", "worst_membership_inference"), ("tabular-anonymization", "worst_reidentification"),
            ("tabular-anonymization", "worst_attribute_inference"), ("tabular-anonymization", "arena_privacy"),
            ("membership-inference", "arena_success_teams"), ("reidentification", "arena_success_max")} <= keys
    assert not Metric.objects.filter(competition=arena.competition, primary=True, key__startswith="arena_").exists()
    spec = bundle_read(competition_export(competition=arena.competition, dest=tmp_path / "exported"))
    assert not any(m.key.startswith(("worst_", "arena_")) for m in spec.metrics)
