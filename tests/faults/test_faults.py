"""Faults injected into a running stack; after each, every submission is judged (tests/faults/driver.py).

Each test breaks one thing for real — a worker ``kill -9``, Redis or PostgreSQL stopped and
started, the engine gone from under a worker, a container killed from outside — while a batch
of good programs runs, then asserts 0 lost, 0 stuck, 0 run twice at once, 0 duplicate scores,
0 wrongly failed, 0 wrongly charged, and that nothing finished went back to the queue. The
recovery time is printed (``-s``); ``benchmarks/faults.py`` tabulates it for larger batches.
The limits are the defaults (a 600 s wall limit), so a run waiting for its time limit to pass
shows as stuck here.
"""

from __future__ import annotations

import glob
import time

import pytest

from tests.faults.driver import Batch, competition_create, first_change_after, verdict
from tests.faults.stack import EngineProxy, busy_workers, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.redis, pytest.mark.slow]

RUN = 4.0  # seconds each program sleeps: long enough for a fault to land while it runs
SETTLE = 100.0  # seconds a batch may take to settle after a fault before what is left counts as stuck


def _kill_busy(stack, *, count: int) -> dict[str, int]:
    """kill -9 ``count`` workers while they evaluate; worker → the submission it was running."""
    busy = wait_for(lambda: (b := busy_workers(stack)) and len(b) >= count and b, timeout=60, what=f"{count} busy worker(s)")
    time.sleep(1.5)  # inside the sandbox by now
    victims = dict(list(busy.items())[:count])
    for name in victims:
        stack.worker_kill(name)
    return victims


def _report(title: str, batch: Batch, result, recovery: float | None) -> None:
    losses = ", ".join(f"{k} {len(v)}" for k, v in result.losses.items())
    print(f"\n{title}: {result.submissions} submissions; {losses}; recovery {recovery if recovery is None else round(recovery, 1)} s")


def test_a_killed_worker_s_run_is_requeued_by_its_heartbeat_and_its_leftovers_removed(clean_stack, tmp_path):
    stack = clean_stack
    competition = competition_create(stack, tmp_path)
    batch = Batch(stack, competition)
    for _ in range(2):
        stack.worker_start()
    batch.submit_many(competition.teams[0], 2, sleep=RUN)
    batch.submit_many(competition.teams[1], 2, sleep=RUN)
    killed_at = time.time()
    (victim, submission_id), = _kill_busy(stack, count=1).items()
    batch.wait_settled(timeout=SETTLE)
    result = verdict(batch)
    recovery = first_change_after(result.history, killed_at, to="running", among={submission_id})
    _report("worker kill -9 (one)", batch, result, recovery and recovery - killed_at)
    result.assert_clean()
    assert recovery is not None, "the killed worker's submission never ran again"

    # Its scratch (with the decrypted hidden data) and its containers do not outlive the reaper.
    def leftovers():
        scratch = glob.glob(str(stack.base / "scratch" / victim)) + glob.glob(f"/tmp/arena-eval-{submission_id}-*")
        containers = [c for c in stack.containers() if c.labels.get("arena.submission") == str(submission_id)
                      and c.status != "running"]
        return scratch + containers

    wait_for(lambda: not leftovers(), timeout=45, what=f"the dead worker's scratch and containers to go ({leftovers()})", every=1)


def test_all_workers_killed_and_restarted_evaluate_each_submission_once(clean_stack, tmp_path):
    stack = clean_stack
    competition = competition_create(stack, tmp_path)
    batch = Batch(stack, competition)
    for _ in range(2):
        stack.worker_start()
    batch.submit_many(competition.teams[0], 4, sleep=RUN)
    killed_at = time.time()
    victims = _kill_busy(stack, count=2)
    for _ in range(2):
        stack.worker_start(wait=False)
    batch.wait_settled(timeout=SETTLE)
    result = verdict(batch)
    recovery = first_change_after(result.history, killed_at, to="running", among=set(victims.values()))
    _report("worker kill -9 (all)", batch, result, recovery and recovery - killed_at)
    result.assert_clean()


def test_a_redis_restart_neither_stops_workers_nor_requeues_finished_submissions(clean_stack, tmp_path):
    stack = clean_stack
    competition = competition_create(stack, tmp_path)
    batch = Batch(stack, competition)
    workers = [stack.worker_start() for _ in range(2)]
    batch.submit_many(competition.teams[0], 4, sleep=RUN)
    wait_for(lambda: len(busy_workers(stack)) == 2, timeout=60, what="both workers busy")
    time.sleep(1.0)
    stack.redis.stop()  # the runs finish and score while Redis is away: cache and push fail
    down_at = time.time()
    time.sleep(RUN + 4)
    stack.redis.start()
    batch.wait_settled(timeout=SETTLE)
    result = verdict(batch)
    recovery = first_change_after(result.history, down_at + RUN + 4, to="running")
    _report("Redis restart", batch, result, recovery and recovery - down_at)
    result.assert_clean()
    for name in workers:
        assert stack.worker_alive(name), f"worker {name} died with Redis:\n{stack.worker_log(name)[-2000:]}"


def test_a_postgresql_restart_loses_nothing_and_workers_resume(clean_stack, tmp_path):
    stack = clean_stack
    competition = competition_create(stack, tmp_path)
    batch = Batch(stack, competition)
    workers = [stack.worker_start() for _ in range(2)]
    batch.submit_many(competition.teams[0], 4, sleep=RUN)
    wait_for(lambda: len(busy_workers(stack)) == 2, timeout=60, what="both workers busy")
    time.sleep(1.0)
    stack.postgres.stop(mode="fast")
    down_at = time.time()
    time.sleep(5)
    stack.postgres.start()
    batch.wait_settled(timeout=SETTLE)
    result = verdict(batch)
    recovery = first_change_after(result.history, down_at + 5, to="running")
    _report("PostgreSQL restart", batch, result, recovery and recovery - down_at)
    result.assert_clean()
    for name in workers:
        assert stack.worker_alive(name), f"worker {name} died with PostgreSQL:\n{stack.worker_log(name)[-2000:]}"


def test_an_upload_while_redis_is_down_is_accepted_whole_and_evaluated_later(clean_stack, tmp_path):
    stack = clean_stack
    competition = competition_create(stack, tmp_path)
    batch = Batch(stack, competition)
    stack.worker_start()
    stack.redis.stop()
    sent = batch.submit_many(competition.teams[0], 3, sleep=1.0)
    assert [s.status_code for s in sent] == [201, 201, 201]
    up_at = time.time()
    stack.redis.start()
    batch.wait_settled(timeout=SETTLE)
    result = verdict(batch)
    recovery = first_change_after(result.history, up_at, to="running")
    _report("upload while Redis is down", batch, result, recovery and recovery - up_at)
    result.assert_clean()


def test_a_worker_without_an_engine_refuses_to_start(clean_stack):
    done = clean_stack.manage("evaluation_worker", "cpu", "--name", "no-engine", check=False, timeout=60,
                              DOCKER_HOST="unix:///nonexistent/docker.sock")
    assert done.returncode == 3, done.stderr[-2000:]
    assert "no Docker engine answers" in done.stderr and "does not start" in done.stderr


def test_a_worker_whose_engine_dies_stops_taking_jobs_and_others_run_them(clean_stack, tmp_path):
    stack = clean_stack
    competition = competition_create(stack, tmp_path)
    batch = Batch(stack, competition)
    engine = EngineProxy(stack.base)
    doomed = stack.worker_start(DOCKER_HOST=engine.url)
    batch.submit_many(competition.teams[0], 6, sleep=2.0)
    wait_for(lambda: doomed in busy_workers(stack), timeout=60, what="the doomed worker busy")
    healthy = stack.worker_start()
    engine.cut()
    cut_at = time.time()
    wait_for(lambda: not stack.worker_alive(doomed), timeout=60, what="the worker without an engine to stop")
    assert stack.workers[doomed].returncode == 3
    batch.wait_settled(timeout=SETTLE)
    result = verdict(batch)
    _report("engine gone under a worker", batch, result, None)
    result.assert_clean()
    assert stack.worker_alive(healthy)
    later = [at for changes in result.history.values() for _, new, _, at in changes if new == "running" and at > cut_at]
    assert later, "no submission ran after the engine went away"


def test_a_container_killed_from_outside_blames_no_team(clean_stack, tmp_path):
    import docker

    stack = clean_stack
    competition = competition_create(stack, tmp_path)
    batch = Batch(stack, competition)
    name = stack.worker_start()
    batch.submit_many(competition.teams[0], 2, sleep=6.0)
    wait_for(lambda: name in busy_workers(stack), timeout=60, what="the worker busy")
    owner = f":{stack.workers[name].pid}:"
    client = docker.from_env()

    def running():
        return [c for c in client.containers.list(filters={"label": "org.anomed-arena.sandbox"})
                if owner in c.labels.get("org.anomed-arena.owner", "")
                and "sleep" in " ".join(" ".join(p) for p in (c.top().get("Processes") or []))]

    (container,) = wait_for(running, timeout=30, what="the run's container")
    container.kill()
    batch.wait_settled(timeout=SETTLE)
    result = verdict(batch)
    _report("container killed from outside", batch, result, None)
    result.assert_clean()


def test_cancels_while_queued_and_running_and_after_a_requeue_are_not_charged(clean_stack, tmp_path):
    stack = clean_stack
    competition = competition_create(stack, tmp_path)
    team = competition.teams[0]
    batch = Batch(stack, competition)
    stack.worker_start()
    first, second, third = (s.submission_id for s in batch.submit_many(team, 3, sleep=RUN))
    assert batch.cancel(team, third) == 200  # queued: cancelled, not charged
    (_, running), = _kill_busy(stack, count=1).items()
    assert running == first
    batch.wait_status(first, ("queued",), timeout=60)  # requeued after its worker died
    assert batch.cancel(team, first) == 200
    stack.worker_start()
    batch.wait_status(second, ("running",), timeout=60)
    assert batch.cancel(team, second) == 409  # running: too late to cancel
    batch.wait_settled(timeout=SETTLE)
    result = verdict(batch)
    _report("cancels", batch, result, None)
    result.assert_clean()
    assert batch.statuses() == {first: "cancelled", second: "finished", third: "cancelled"}


def test_parallel_submissions_across_two_servers_stop_exactly_at_the_quota(clean_stack, tmp_path):
    stack = clean_stack
    competition = competition_create(stack, tmp_path, per_day=10)
    batch = Batch(stack, competition)
    sent = batch.submit_many(competition.teams[0], 30, sleep=0.0, parallel=15)
    codes = sorted(s.status_code for s in sent)
    assert codes.count(201) == 10 and codes.count(429) == 20, codes


def test_a_team_with_100_queued_submissions_does_not_hold_back_another(clean_stack, tmp_path):
    stack = clean_stack
    competition = competition_create(stack, tmp_path)
    busy, newcomer = competition.teams
    batch = Batch(stack, competition)
    stack.worker_start()
    flood = batch.submit_many(busy, 100, sleep=1.0, parallel=4)
    assert all(s.status_code == 201 for s in flood)
    wait_for(lambda: sum(1 for s in batch.statuses().values() if s in ("finished", "running")) >= 2,
             timeout=60, what="the flood to start")
    mine = batch.submit(newcomer, sleep=1.0)
    detail = batch.detail(newcomer, mine.submission_id)
    started = batch.wait_status(mine.submission_id, ("running", "scoring", "finished"), timeout=120)
    history = batch.history()
    flood_ids = {s.submission_id for s in flood}
    taken_before = [pk for pk in flood_ids if any(new == "running" and mine.answered < at < started for _, new, _, at in history[pk])]
    print(f"\nfair share: the other team's first submission started {started - mine.answered:.1f} s after it was "
          f"accepted, after {len(taken_before)} of the 100 queued; the API said position {detail.get('queue_position')}")
    for pk in list(flood_ids):
        batch.cancel(busy, pk)
    assert len(taken_before) <= 1, f"{len(taken_before)} of the busy team's submissions started first"
    assert detail.get("queue_position") == 0 and detail.get("estimated_start")
