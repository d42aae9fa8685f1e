"""Faults injected into a running stack; after each, every submission is judged (tests/faults/driver.py).

Each test breaks one thing for real (tests/faults/scenarios.py) — a worker ``kill -9``, Redis or
PostgreSQL stopped and started, the engine gone from under a worker, a container killed from
outside — while a small batch of good programs runs, then asserts 0 lost, 0 stuck, 0 run twice
at once, 0 duplicate scores, 0 wrongly failed, 0 wrongly charged, and that nothing finished
went back to the queue. Limits are the defaults (a 600 s wall limit), so a run that waits for
its time limit to pass before it is requeued shows as stuck. Recovery times are printed
(``-s``); ``benchmarks/faults.py`` tabulates them for batches of 40.
"""

from __future__ import annotations

import glob

import pytest

from tests.faults import scenarios
from tests.faults.driver import Batch, competition_create, verdict
from tests.faults.stack import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.redis, pytest.mark.slow]


def _report(outcome: scenarios.Outcome) -> None:
    losses = ", ".join(f"{k} {len(v)}" for k, v in outcome.verdict.losses.items())
    recovery = "-" if outcome.recovery is None else f"{outcome.recovery:.1f} s"
    print(f"\n{outcome.fault}: {outcome.verdict.submissions} submissions; {losses}; recovery {recovery}")


def test_a_killed_worker_s_run_is_requeued_by_its_heartbeat_and_its_leftovers_removed(clean_stack, tmp_path):
    stack = clean_stack
    outcome = scenarios.worker_kill_one(stack, tmp_path)
    _report(outcome)
    outcome.verdict.assert_clean()
    assert outcome.recovery is not None, "the killed worker's submission never ran again"
    ((victim, submission_id),) = outcome.notes["victims"].items()

    # Its scratch (with the decrypted hidden data) and its containers do not outlive the reaper.
    def leftovers():
        scratch = glob.glob(str(stack.base / "scratch" / victim)) + glob.glob(f"/tmp/arena-eval-{submission_id}-*")
        containers = [c.id for c in stack.containers() if c.labels.get("arena.submission") == str(submission_id)
                      and c.status != "running"]
        return scratch + containers

    wait_for(lambda: not leftovers(), timeout=45, what="the dead worker's scratch and containers to go", every=1)


def test_all_workers_killed_and_restarted_evaluate_each_submission_once(clean_stack, tmp_path):
    outcome = scenarios.worker_kill_all(clean_stack, tmp_path)
    _report(outcome)
    outcome.verdict.assert_clean()


def test_a_redis_restart_neither_stops_workers_nor_requeues_finished_submissions(clean_stack, tmp_path):
    outcome = scenarios.redis_restart(clean_stack, tmp_path)
    _report(outcome)
    outcome.verdict.assert_clean()
    assert not outcome.notes["dead workers"], "workers died with Redis"


def test_a_postgresql_restart_loses_nothing_and_workers_resume(clean_stack, tmp_path):
    outcome = scenarios.postgres_restart(clean_stack, tmp_path)
    _report(outcome)
    outcome.verdict.assert_clean()
    assert not outcome.notes["dead workers"], "workers died with PostgreSQL"


def test_an_upload_while_redis_is_down_is_accepted_whole_and_evaluated_later(clean_stack, tmp_path):
    outcome = scenarios.upload_while_redis_down(clean_stack, tmp_path)
    _report(outcome)
    assert outcome.notes["answers"] == [201], outcome.notes["web log"]
    outcome.verdict.assert_clean()


def test_a_worker_without_an_engine_refuses_to_start(clean_stack):
    done = clean_stack.manage("evaluation_worker", "cpu", "--name", "no-engine", check=False, timeout=60,
                              DOCKER_HOST="unix:///nonexistent/docker.sock")
    assert done.returncode == 3, done.stderr[-2000:]
    assert "no Docker engine answers" in done.stderr and "does not start" in done.stderr


def test_a_worker_whose_engine_dies_stops_taking_jobs_and_others_run_them(clean_stack, tmp_path):
    outcome = scenarios.engine_gone(clean_stack, tmp_path)
    _report(outcome)
    outcome.verdict.assert_clean()
    assert outcome.notes["doomed exit"] == 3 and outcome.notes["healthy alive"]
    assert outcome.recovery is not None, "no submission ran after the engine went away"


def test_a_container_killed_from_outside_blames_no_team(clean_stack, tmp_path):
    outcome = scenarios.container_killed(clean_stack, tmp_path)
    _report(outcome)
    outcome.verdict.assert_clean()


def test_cancels_while_queued_and_running_and_after_a_requeue_are_not_charged(clean_stack, tmp_path):
    stack = clean_stack
    competition = competition_create(stack, tmp_path)
    team = competition.teams[0]
    batch = Batch(stack, competition)
    stack.worker_start()
    first, second, third = (s.submission_id for s in batch.submit_many(team, 3, sleep=4.0))
    assert batch.cancel(team, third) == 200  # queued: cancelled, not charged
    ((_, running),) = scenarios._kill_busy(stack, count=1).items()
    assert running == first
    batch.wait_status(first, ("queued",), timeout=60)  # requeued after its worker died
    assert batch.cancel(team, first) == 200
    stack.worker_start(wait=False)
    batch.wait_status(second, ("running", "scoring", "finished"), timeout=90)
    assert batch.cancel(team, second) == 409  # taken by a worker: too late to cancel
    batch.wait_settled(timeout=scenarios.SETTLE)
    result = verdict(batch)
    result.assert_clean()
    assert batch.statuses() == {first: "cancelled", second: "finished", third: "cancelled"}


def test_parallel_submissions_across_two_servers_stop_exactly_at_the_quota(clean_stack, tmp_path):
    competition = competition_create(clean_stack, tmp_path, per_day=10)
    batch = Batch(clean_stack, competition)
    sent = batch.submit_many(competition.teams[0], 30, sleep=0.0, parallel=15)
    codes = sorted(s.status_code for s in sent)
    assert codes.count(201) == 10 and codes.count(429) == 20, codes


def test_a_team_with_100_queued_submissions_does_not_hold_back_another(clean_stack, tmp_path):
    outcome = scenarios.fair_share(clean_stack, tmp_path)
    notes = outcome.notes
    print(f"\nfair share: the other team's first submission started {notes['waited']:.1f} s after it was accepted "
          f"(a run takes {notes['run']} s), after {notes['taken before']} of the 100 queued")
    # With one worker: at most the run in progress finishes first; no queued one goes ahead.
    assert notes["taken before"] == 0
    assert notes["detail"].get("queue_position") == 0 and notes["detail"].get("estimated_start")
