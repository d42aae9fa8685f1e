"""Upload to leaderboard through RQ with a real worker and a real container."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from competitions.models import Competition
from competitions.services import competition_import, team_create
from submissions.models import Run, Submission
from tests.factories import bundle_membership, bundle_tabular, code_archive

ATTACK = '''
import csv, os
inp, out = os.environ["ARENA_INPUT"], os.environ["ARENA_OUTPUT"]
release = {tuple(r[c] for c in ("age", "sex", "postcode")) for r in csv.DictReader(open(inp + "/release.csv"))}
print("release rows:", len(release))
with open(out + "/predictions.csv", "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["candidate_id", "score"])
    for r in csv.DictReader(open(inp + "/candidates.csv")):
        w.writerow([r["candidate_id"], 1.0 if (r["age"], r["sex"], r["postcode"]) in release else 0.0])
'''

DEFENSE = '''
import os, pandas as pd
inp, out = os.environ["ARENA_INPUT"], os.environ["ARENA_OUTPUT"]
records = pd.read_csv(inp + "/records.csv", dtype=str)
print("records seen:", len(records))
records["age"] = records["age"].astype(int).map(lambda a: f"[{a // 10 * 10}, {a // 10 * 10 + 10})")
records["postcode"] = "*"
records.drop(columns=["record_id"]).to_csv(out + "/release.csv", index=False)
'''

BROKEN_DEFENSE = '''
import os, pandas as pd
records = pd.read_csv(os.environ["ARENA_INPUT"] + "/records.csv", dtype=str)
if len(records) > 150:   # only the hidden data is this large: the check run on the sample passes
    records.loc[0, "age"] = "SECRET-" + records.loc[0, "record_id"]
records.drop(columns=["record_id"]).to_csv(os.environ["ARENA_OUTPUT"] + "/release.csv", index=False)
'''


def _work(redis_url: str) -> None:
    """What production runs: the evaluation worker, until the queue is empty."""
    from django.core.management import call_command

    call_command("evaluation_worker", "cpu", "--burst")


def _sandbox_leftovers(submission_id: int) -> list:
    """Containers and volumes of this submission's runs still on the engine."""
    import docker

    from sandbox.runner import backend_instance

    backend_instance("docker").wait_for_cleanup()  # removal runs in the background after each run
    client = docker.from_env()
    selector = {"label": f"arena.submission={submission_id}"}
    return client.containers.list(all=True, filters=selector) + client.volumes.list(filters=selector)


@pytest.mark.django_db(transaction=True)
def test_code_submission_from_upload_to_leaderboard_through_rq(rq_setup, tmp_path, make_user, client_for):
    competition_import(path=bundle_membership(tmp_path / "bundle"))
    user = make_user()
    team_create(competition=Competition.objects.get(slug="mia-test"), user=user, name="Linkers")
    client = client_for(user)
    archive = code_archive(tmp_path / "attack.zip", ATTACK)
    response = client.post("/api/v1/competitions/mia-test/submissions/",
                           {"file": SimpleUploadedFile("attack.zip", archive.read_bytes())}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "code"

    _work(rq_setup)

    detail = client.get(f"/api/v1/submissions/{response.json()['id']}/").json()
    assert detail["status"] == "finished", detail
    assert 0.5 < detail["public_scores"]["auc"]["value"] <= 1.0  # the release holds the members' QIs
    run = detail["runs"][0]
    assert run["backend"] == "docker" and run["wall_seconds"] > 0 and run["peak_memory_bytes"]
    assert run["logs_visible"] and "release rows: 30" in run["stdout"]  # inputs are public: logs are the team's
    board = client.get("/api/v1/competitions/mia-test/leaderboard/").json()
    assert [(r["rank"], r["team"]) for r in board["rows"]] == [(1, "Linkers")]
    assert _sandbox_leftovers(detail["id"]) == []


@pytest.mark.django_db(transaction=True)
def test_defense_check_run_then_hidden_run_with_logs_for_organizers_only(rq_setup, tmp_path, make_user, client_for):
    competition = competition_import(path=bundle_tabular(tmp_path / "bundle"))
    user, organizer = make_user(), make_user()
    competition.organizers.add(organizer)
    team_create(competition=competition, user=user, name="Shield")
    client = client_for(user)
    archive = code_archive(tmp_path / "defense.zip", DEFENSE)
    sub = client.post("/api/v1/competitions/anon-test/submissions/",
                      {"file": SimpleUploadedFile("defense.zip", archive.read_bytes())}, format="multipart").json()

    _work(rq_setup)

    detail = client.get(f"/api/v1/submissions/{sub['id']}/").json()
    assert detail["status"] == "finished", detail
    assert detail["public_scores"]["k_anonymity"]["value"] >= 1
    runs = {r["purpose"]: r for r in detail["runs"]}
    assert runs["check"]["logs_visible"] and "records seen: 100" in runs["check"]["stdout"]
    assert runs["evaluation"]["logs_visible"] is False and runs["evaluation"]["stdout"] is None
    as_organizer = client_for(organizer).get(f"/api/v1/submissions/{sub['id']}/").json()
    evaluation = next(r for r in as_organizer["runs"] if r["purpose"] == "evaluation")
    assert "records seen: 300" in evaluation["stdout"]
    stored = Submission.objects.get(pk=sub["id"])
    assert stored.release_sha256 and stored.release_path.endswith(".enc")
    assert _sandbox_leftovers(sub["id"]) == []  # the check run's container and volume too


@pytest.mark.django_db(transaction=True)
def test_invalid_output_on_hidden_data_withholds_the_value(rq_setup, tmp_path, make_user, client_for):
    competition = competition_import(path=bundle_tabular(tmp_path / "bundle"))
    user = make_user()
    team_create(competition=competition, user=user, name="Leaky")
    client = client_for(user)
    archive = code_archive(tmp_path / "broken.zip", BROKEN_DEFENSE)
    sub = client.post("/api/v1/competitions/anon-test/submissions/",
                      {"file": SimpleUploadedFile("broken.zip", archive.read_bytes())}, format="multipart").json()

    _work(rq_setup)

    detail = client.get(f"/api/v1/submissions/{sub['id']}/").json()
    assert detail["status"] == "failed" and detail["failure_class"] == "invalid_output"
    assert detail["rule"] == "not-a-number" and "line" not in detail["error"] and detail["error_detail"] is None
    assert "SECRET" not in detail["error"] and "r0000" not in detail["error"]
    organizer_message = Run.objects.get(submission_id=sub["id"], purpose=Run.EVALUATION).message
    assert "SECRET" in organizer_message and "release.csv line 2, column age" in organizer_message


@pytest.mark.django_db(transaction=True)
def test_a_queued_submission_whose_job_was_lost_is_queued_again_by_the_reaper(rq_setup, tmp_path, make_user, client_for):
    """A job lost before it marked its submission running (a worker killed between dequeue and
    start, a database error) leaves the submission queued with nothing to run it; the reaper
    (``manage.py reap_stale_runs``) finds it and queues it again, and it is then evaluated."""
    import datetime as dt
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone
    from redis import Redis
    from rq import Queue

    competition_import(path=bundle_membership(tmp_path / "bundle"))
    user = make_user()
    team_create(competition=Competition.objects.get(slug="mia-test"), user=user, name="Linkers")
    client = client_for(user)
    archive = code_archive(tmp_path / "attack.zip", ATTACK)
    response = client.post("/api/v1/competitions/mia-test/submissions/",
                           {"file": SimpleUploadedFile("attack.zip", archive.read_bytes())}, format="multipart")
    assert response.status_code == 201, response.json()
    submission = Submission.objects.get(pk=response.json()["id"])

    from evaluation.waiting import submission_owner

    queue = Queue(submission_owner(submission=submission).queue_name, connection=Redis.from_url(rq_setup))
    assert queue.count == 1
    out = StringIO()
    call_command("reap_stale_runs", stdout=out)  # its job waits: nothing to do
    assert "0 orphaned" in out.getvalue() and queue.count == 1
    queue.empty()  # the job is lost
    call_command("reap_stale_runs", stdout=out)  # too young to call lost: its job may be on its way
    assert queue.count == 0
    Submission.objects.filter(pk=submission.pk).update(created=timezone.now() - dt.timedelta(minutes=5))
    out = StringIO()
    call_command("reap_stale_runs", stdout=out)
    assert "1 orphaned" in out.getvalue() and queue.count == 1

    _work(rq_setup)
    submission.refresh_from_db()
    assert submission.status == Submission.FINISHED
    assert submission.scores.filter(split="public").exists()


@pytest.mark.django_db(transaction=True)
def test_an_arena_pair_whose_job_was_never_sent_is_queued_again_by_the_reaper(rq_setup, settings, tmp_path, make_user):
    """A pair scheduled while its job could not be sent (Redis away when the attack's row was
    scheduled) waits as queued with nothing to run it, and its attack's row never settles. The
    reaper finds it, sends its job once, and the attack finishes through the real worker."""
    import datetime as dt
    from io import BytesIO, StringIO

    from django.core.management import call_command
    from django.utils import timezone

    from evaluation import jobs, queue
    from evaluation.arena import PAIR_JOB
    from evaluation.models import ArenaResult
    from submissions.services import submission_create
    from tests.factories.arena import program_zip
    from tests.factories.cli import CONSTANT_MEMBERSHIP, IDENTITY_DEFENSE, write_arena_bundle

    competition = competition_import(path=write_arena_bundle(tmp_path / "bundle"))
    user = make_user()
    team = team_create(competition=competition, user=user, name="Both sides")

    def submit(source: str, task: str) -> Submission:
        payload = program_zip(source)
        return submission_create(competition=competition, team=team, user=user, upload=BytesIO(payload),
                                 filename="program.zip", size=len(payload), task=task)

    # No job leaves while the defense and the attack's check run are evaluated, as when Redis
    # does not answer: each is evaluated by calling its job, and the pairs get no job.
    settings.ARENA_EVALUATION_MODE = "manual"
    defense = submit(IDENTITY_DEFENSE, "tabular-anonymization")
    jobs.evaluate_submission(defense.pk)
    defense.refresh_from_db()
    assert defense.status == Submission.FINISHED
    attack = submit(CONSTANT_MEMBERSHIP, "membership-inference")
    jobs.evaluate_submission(attack.pk)
    attack.refresh_from_db()
    pair = ArenaResult.objects.get(attack=attack, defense=defense)
    assert attack.status == Submission.SCORING and pair.status == ArenaResult.QUEUED

    settings.ARENA_EVALUATION_MODE = "rq"
    assert queue.waiting_job_args(PAIR_JOB) == set()
    out = StringIO()
    call_command("reap_stale_runs", stdout=out)  # too young to call lost: its job may be on its way
    assert "0 orphaned arena pair(s)" in out.getvalue()
    ArenaResult.objects.filter(pk=pair.pk).update(created=timezone.now() - dt.timedelta(minutes=5))
    call_command("reap_stale_runs", stdout=(out := StringIO()))
    assert "1 orphaned arena pair(s)" in out.getvalue()
    assert queue.waiting_job_args(PAIR_JOB) == {(attack.pk, defense.pk)}
    call_command("reap_stale_runs", stdout=(out := StringIO()))  # its job waits now: sent once
    assert "0 orphaned arena pair(s)" in out.getvalue()

    _work(rq_setup)
    pair.refresh_from_db()
    attack.refresh_from_db()
    assert pair.status == ArenaResult.FINISHED and attack.status == Submission.FINISHED
    # a second job for the same pair (sent twice in a race with a worker) changes nothing
    runs = Run.objects.count()
    jobs.evaluate_arena_pair(attack.pk, defense.pk)
    assert Run.objects.count() == runs
