"""``arena submit --wait`` against the real server and real sandbox runs: what a crash shows,
progress while a run takes its time, and an arena defense waiting for the attacks on it."""

from __future__ import annotations

import threading
import time

import pytest

from tests.factories.cli import CONSTANT_MEMBERSHIP, IDENTITY_DEFENSE, code_zip, write_arena_bundle

CRASHING_ATTACK = """\
import sys
for i in range(1, 31):
    print(f"loading step {i}", file=sys.stderr)
raise SystemExit("gave up at step 30")
"""

# Crashes only where it meets hidden records (their ids start with trn-), after printing one.
CRASHING_ON_HIDDEN = """\
import csv, os, shutil, sys
with open(os.path.join(os.environ["ARENA_INPUT"], "records.csv")) as fh:
    first = next(csv.DictReader(fh))
if first["record_id"].startswith("trn-"):
    print("SECRET " + ",".join(first.values()), file=sys.stderr)
    raise SystemExit(3)
shutil.copyfile(os.path.join(os.environ["ARENA_INPUT"], "records.csv"), os.path.join(os.environ["ARENA_OUTPUT"], "release.csv"))
"""


def test_a_crash_prints_the_tail_of_the_team_visible_log(arena, live_server, competition, logged_in, tmp_path):
    from submissions.models import Submission

    logged_in("alice")
    assert arena("team", "create", "mia-cli", "Crashers").code == 0

    result = arena("submit", "mia-cli", code_zip(tmp_path / "attack.zip", CRASHING_ATTACK), "--wait")

    assert result.code == 1, result
    submission = Submission.objects.get(is_baseline=False)
    assert submission.status == "failed"
    run = submission.runs.get()
    lines = result.err.splitlines()
    header = f"--- run #{run.pk} ({run.purpose}) stderr, last 20 of 31 lines ---"
    assert header in lines
    shown = lines[lines.index(header) + 1: lines.index(header) + 21]
    assert shown[0] == "loading step 12" and shown[-2] == "loading step 30" and shown[-1] == "gave up at step 30"
    assert "loading step 11" not in lines
    assert f"The whole log: arena submission {submission.pk}" in lines
    assert lines[-1].startswith(f"Submission #{submission.pk} failed")  # the verdict comes last


@pytest.fixture
def arena_inline(live_server, inline, tmp_path):
    from competitions.services import competition_import

    return competition_import(path=write_arena_bundle(tmp_path / "arena-bundle"))


def test_a_crash_on_hidden_data_shows_no_log(arena, arena_inline, logged_in, tmp_path):
    from submissions.models import Submission

    logged_in("alice")
    assert arena("team", "create", "arena-cli", "Leaky").code == 0

    result = arena("submit", "arena-cli", code_zip(tmp_path / "defense.zip", CRASHING_ON_HIDDEN), "--role", "defense",
                   "--wait")

    assert result.code == 1, result
    submission = Submission.objects.get()
    evaluation = submission.runs.get(purpose="evaluation")
    assert evaluation.saw_hidden_data and "SECRET" in evaluation.stderr  # the organizers have it ...
    assert "SECRET" not in result.out + result.err and "trn-" not in result.out + result.err  # ... the team does not
    assert f"Run #{evaluation.pk} (evaluation) saw hidden data: its logs are shown to the organizers only." in result.err


def test_an_arena_defense_waits_for_the_attacks_on_it(arena, arena_inline, logged_in, tmp_path):
    from evaluation.models import ArenaResult
    from submissions.models import Submission

    logged_in("alice")
    assert arena("team", "create", "arena-cli", "Both sides").code == 0
    attack = arena("submit", "arena-cli", code_zip(tmp_path / "mia.zip", CONSTANT_MEMBERSHIP), "--role", "attack",
                   "--task", "membership-inference")
    assert attack.code == 0, attack

    told = arena("submit", "arena-cli", code_zip(tmp_path / "d1.zip", IDENTITY_DEFENSE), "--role", "defense", "--wait",
                 "-m", "first")
    assert told.code == 0, told
    assert "fill in as the attacks run against its release. Wait for them with --wait-attacks" in told.out

    waited = arena("submit", "arena-cli", code_zip(tmp_path / "d2.zip", IDENTITY_DEFENSE + "# again\n"), "--role", "defense",
                   "--wait-attacks")
    assert waited.code == 0, waited
    defense = Submission.objects.get(role="defense", description="")
    assert ArenaResult.objects.filter(defense=defense, status="finished").count() == 1
    assert f"#{defense.pk}  attacks against it: 1 of 1 done" in waited.out
    assert "Arena privacy" in waited.out and "Wait for them with" not in waited.out
    privacy_row = next(line for line in waited.out.splitlines() if line.startswith("Arena privacy"))
    assert privacy_row.split()[2] != "-"  # the worst case over attacks is filled in


def test_progress_shows_the_elapsed_time_against_the_limit(live_server, competition, logged_in, settings, capsys,
                                                           tmp_path, monkeypatch):
    """Evaluation is held back (manual mode) while the CLI polls; the run is then marked running."""
    from arena_cli import progress
    from arena_cli.main import main
    from submissions import services
    from submissions.models import Submission
    from tests.factories.cli import predictions

    settings.ARENA_EVALUATION_MODE = "manual"
    monkeypatch.setattr(progress, "EVERY_SECONDS", 0.5)
    _, answers = competition
    logged_in("alice")
    assert main(["team", "create", "mia-cli", "Patient"]) == 0
    file = predictions(answers, tmp_path / "predictions.csv")
    codes = []
    cli = threading.Thread(target=lambda: codes.append(main(["submit", "mia-cli", str(file), "--wait"])), daemon=True)
    cli.start()
    err = ""
    deadline = time.monotonic() + 20
    while not Submission.objects.filter(is_baseline=False).exists():
        assert time.monotonic() < deadline and cli.is_alive()
        time.sleep(0.05)
    submission = Submission.objects.get(is_baseline=False)
    services.submission_set_status(submission=submission, status="running")
    while "of the 0:30 limit per run" not in err:
        assert time.monotonic() < deadline and cli.is_alive(), err
        time.sleep(0.1)
        err += capsys.readouterr().err
    services.submission_set_status(submission=submission, status="failed", failure_class="time_limit",
                                   error="The program ran past its 30 s limit.")
    cli.join(20)

    assert codes == [1]
    err += capsys.readouterr().err
    assert "  running 0:0" in err  # a plain line: the test's stderr is no terminal
