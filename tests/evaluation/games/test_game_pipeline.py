"""The membership game through the pipeline: a finished defense's game is queued at low
priority, played through the sandbox, stored as score rows, and told on the scenario page
and in the identifiability report.

Programs are stdlib-only Python run by the ``process`` backend, evaluated inline.
"""

from __future__ import annotations

import random
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.factories import write_csv
from tests.factories.arena import CONSTANT_MIA, IDENTITY_DEFENSE

pytestmark = pytest.mark.django_db(transaction=True)

COLUMNS = ["age", "sex", "stay"]

# The game contract (evaluation/games/files.py): member when the target's row is in the release.
EXACT_MATCH_GAME = """
import csv, os
inp = os.environ["ARENA_INPUT"]
with open(os.path.join(inp, "target.csv")) as fh:
    target = next(csv.DictReader(fh))
rows = []
for name in sorted(os.listdir(os.path.join(inp, "releases"))):
    with open(os.path.join(inp, "releases", name)) as fh:
        found = any(all(r[c] == target[c] for c in ("age", "sex", "stay")) for r in csv.DictReader(fh))
    rows.append((name[:-4], 1.0 if found else 0.0))
with open(os.path.join(os.environ["ARENA_OUTPUT"], "predictions.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["release_id", "score"])
    w.writerows(rows)
"""


def _program(root: Path, source: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text(textwrap.dedent(source), encoding="utf-8")


def game_bundle(root: Path, **game) -> Path:
    rng = random.Random(3)

    def people(prefix: str, n: int) -> list[list]:
        return [[f"{prefix}{i:03d}", rng.randint(20, 80), rng.choice("FM"), rng.randint(1, 9)] for i in range(n)]

    train, holdout = people("t", 40), people("h", 40)
    train[7][3] = 297  # the one very long stay
    write_csv(root / "hidden/train.csv", ["record_id", *COLUMNS], train)
    write_csv(root / "hidden/holdout.csv", ["record_id", *COLUMNS], holdout)
    write_csv(root / "public/sample.csv", ["record_id", *COLUMNS], people("s", 30))
    (root / "description.md").write_text("# Game test\n", encoding="utf-8")
    _program(root / "baselines/identity", IDENTITY_DEFENSE)
    _program(root / "baselines/constant_mia", CONSTANT_MIA)
    _program(root / "baselines/exact_game", EXACT_MATCH_GAME)
    manifest = {
        "slug": "game-test", "title": "Game test", "description": "description.md",
        "task": "tabular-anonymization", "attack_tasks": ["membership-inference"], "published": True,
        "options": {"candidates_per_group": 20,
                    "membership_game": {"runs": 3, "targets": 2, "training_size": 20, "pool": ["train", "holdout"],
                                        "attacks": ["Exact match"], **game}},
        "schema": {"id_column": "record_id",
                   "columns": [{"name": "age", "type": "numeric"}, {"name": "sex", "type": "categorical"},
                               {"name": "stay", "type": "numeric"}],
                   "quasi_identifiers": ["age", "sex"], "sensitive": []},
        "data": [
            {"name": "train", "file": "hidden/train.csv", "visibility": "hidden"},
            {"name": "holdout", "file": "hidden/holdout.csv", "visibility": "hidden"},
            {"name": "sample", "file": "public/sample.csv", "visibility": "public"},
        ],
        "phases": [{"name": "main", "start": "2020-01-01T00:00:00Z", "max_submissions_per_day": 20, "public_fraction": 0.5,
                    "check_run": False, "limits": {"wall_seconds": 60, "memory_mb": 512}}],
        "baselines": [
            {"name": "Identity", "role": "defense", "path": "baselines/identity", "description": "Copies the records."},
            {"name": "Constant", "role": "attack", "task": "membership-inference", "path": "baselines/constant_mia",
             "description": "0.5 for everyone."},
            {"name": "Exact match", "role": "attack", "task": "membership-inference", "path": "baselines/exact_game",
             "description": "Plays the membership game."},
        ],
    }
    (root / "competition.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return root


@pytest.fixture
def game_competition(settings, tmp_path):
    settings.ARENA_EVALUATION_MODE = "inline"
    settings.ARENA_SANDBOX_BACKEND = "process"
    from competitions.services import competition_import

    return competition_import(path=game_bundle(tmp_path / "bundle"))


def test_a_finished_defense_plays_its_game_and_the_long_stay_is_exposed(game_competition, client):
    from submissions.models import Run, Score, Submission

    defense = Submission.objects.get(competition=game_competition, baseline_name="Identity")
    assert defense.status == Submission.FINISHED
    scores = {s.metric: s for s in Score.objects.filter(submission=defense, split=Score.PUBLIC)}
    worst = scores["game_worst_advantage"]
    # A copied release always shows whether the patient was in: advantage 1 for every target.
    assert worst.value == 1.0 and worst.ci_low > 0
    assert scores["game_average_advantage"].value == 1.0
    assert worst.detail["worst"]["trait"] == "a very high stay"
    assert "record_id" not in worst.detail["worst"] and "297" not in str(worst.detail)
    # 2 targets × 3 pairs × 2 training sets, and 2 folds per target for the attack.
    game_runs = Run.objects.filter(purpose=Run.GAME)
    assert game_runs.filter(submission=defense).count() == 12
    assert game_runs.filter(submission__baseline_name="Exact match", target=defense).count() == 4
    assert all(r.saw_hidden_data for r in game_runs)

    page = client.get(f"/competitions/{game_competition.slug}/scenario/").content.decode()
    assert "The most exposed patient" in page and "A patient with a very high stay is revealed" in page
    assert "Ranked by the most exposed patient" in page and "Ranked by the average patient" in page
    report = client.get(f"/api/v1/submissions/{defense.pk}/report/").json()
    game = report["membership_game"]
    assert game["played"] and game["worst"]["value"] == 1.0
    assert "revealed" in report["summary"]
    board = client.get(f"/api/v1/competitions/{game_competition.slug}/leaderboard/?phase=main&task=tabular-anonymization").json()
    row = next(r for r in board["rows"] if r["team"] == "Identity")
    assert row["scores"]["game_worst_advantage"]["value"] == 1.0


def test_game_jobs_wait_on_their_own_queue_behind_evaluations(settings, game_competition):
    from evaluation import queue
    from submissions.models import Submission

    settings.ARENA_EVALUATION_MODE = "rq"
    defense = Submission.objects.get(competition=game_competition, baseline_name="Identity")
    games = queue.rq_queue(queue.GAME_QUEUE)
    games.empty()
    try:
        queue.job_enqueue(function="evaluation.jobs.play_membership_game", args=(defense.pk,), phase=defense.phase,
                          low_priority=True, timeout=100)
        assert [job.args for job in games.get_jobs()] == [(defense.pk,)]
        assert queue.rq_queue(queue.CPU_QUEUE).count == 0
    finally:
        games.empty()


def test_a_game_that_names_no_pool_or_an_unknown_attack_is_refused(tmp_path):
    from competitions.bundles import BundleInvalid, bundle_read

    with pytest.raises(BundleInvalid) as caught:
        bundle_read(game_bundle(tmp_path / "b", pool=["nowhere"], attacks=["Ghost"]))
    assert caught.value.as_dict() == {
        "options.membership_game.pool[0]": "'nowhere' is not a dataset of this bundle",
        "options.membership_game.attacks[0]": "'Ghost' is not a baseline attack of this bundle",
    }


def test_a_server_starting_hands_its_thread_the_games_still_to_play(settings, game_competition):
    from evaluation import queue
    from submissions.models import Score, Submission

    defense = Submission.objects.get(competition=game_competition, baseline_name="Identity")
    assert queue.games_unplayed() == []  # played inline when the defense finished
    Score.objects.filter(submission=defense, metric__startswith="game_").delete()
    assert queue.games_unplayed() == [defense.pk]
    settings.ARENA_EVALUATION_MODE = "thread"
    queue.embedded_worker_start()
    queue.embedded_worker_wait()
    assert Score.objects.filter(submission=defense, metric="game_worst_advantage", split=Score.PUBLIC).get().value == 1.0
    assert queue.games_unplayed() == []
