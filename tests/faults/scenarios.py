"""The faults, one function each: set up a batch, break one thing for real, wait, judge.

The tests in this folder run them with small batches and assert; ``benchmarks/faults.py``
runs them with batches of 40 and prints the table. Each returns an :class:`Outcome`: the
verdict on every submission and the recovery time, where the fault has one: from a worker's
kill until its submission was queued again; from a service's return (or the engine's loss, or a
container's kill) until a submission next started.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.driver import (
    Batch,
    Verdict,
    competition_create,
    first_change_after,
    verdict,
)
from tests.faults.stack import EngineProxy, Stack, busy_workers, wait_for

SETTLE = 100.0  # seconds a batch may take to settle after the last fault before what is left counts as stuck


@dataclass
class Outcome:
    fault: str
    verdict: Verdict
    recovery: float | None = None  # seconds
    notes: dict = field(default_factory=dict)


def _settle(batch: Batch, size: int) -> None:
    batch.wait_settled(timeout=SETTLE + 3 * size)


def _split(batch: Batch, size: int, *, sleep: float) -> None:
    """``size`` submissions from the competition's teams in turn."""
    teams = batch.competition.teams
    for i in range(size):
        batch.submit(teams[i % len(teams)], sleep=sleep)


def _kill_busy(stack: Stack, *, count: int) -> dict[str, int]:
    """kill -9 ``count`` workers while they evaluate; worker → the submission it was running."""
    busy = wait_for(lambda: (b := busy_workers(stack)) and len(b) >= count and b, timeout=60, what=f"{count} busy worker(s)")
    time.sleep(1.5)  # inside the sandbox by now
    victims = dict(list(busy.items())[:count])
    for name in victims:
        stack.worker_kill(name)
    return victims


def _killed(stack: Stack, *, count: int) -> tuple[dict[str, int], float]:
    """As :func:`_kill_busy`, with the moment of the kill (epoch)."""
    victims = _kill_busy(stack, count=count)
    return victims, time.time()


def worker_kill_one(stack: Stack, tmp: Path, *, size: int = 4, sleep: float = 4.0, workers: int = 2) -> Outcome:
    batch = Batch(stack, competition_create(stack, tmp))
    for _ in range(workers):
        stack.worker_start()
    _split(batch, size, sleep=sleep)
    victims, killed_at = _killed(stack, count=1)
    _settle(batch, size)
    result = verdict(batch)
    again = first_change_after(result.history, killed_at, to="queued")  # only a killed run goes back to the queue
    return Outcome("worker kill -9 (one)", result, again and again - killed_at, {"victims": victims, "batch": batch})


def worker_kill_all(stack: Stack, tmp: Path, *, size: int = 4, sleep: float = 4.0, workers: int = 2) -> Outcome:
    batch = Batch(stack, competition_create(stack, tmp))
    for _ in range(workers):
        stack.worker_start()
    _split(batch, size, sleep=sleep)
    victims, killed_at = _killed(stack, count=workers)
    for _ in range(workers):  # the supervisor starts them again
        stack.worker_start(wait=False)
    _settle(batch, size)
    result = verdict(batch)
    again = first_change_after(result.history, killed_at, to="queued")  # only a killed run goes back to the queue
    return Outcome("worker kill -9 (all)", result, again and again - killed_at, {"victims": victims})


def redis_restart(stack: Stack, tmp: Path, *, size: int = 4, sleep: float = 4.0, workers: int = 2, down: float = 8.0) -> Outcome:
    """Redis goes away while runs are in the sandbox: they finish and score without it (cache, push)."""
    batch = Batch(stack, competition_create(stack, tmp))
    names = [stack.worker_start() for _ in range(workers)]
    _split(batch, size, sleep=sleep)
    wait_for(lambda: len(busy_workers(stack)) == workers, timeout=60, what="every worker busy")
    time.sleep(1.0)
    stack.redis.stop()
    down_at = time.time()
    time.sleep(down)
    stack.redis.start()
    _settle(batch, size)
    result = verdict(batch)
    again = first_change_after(result.history, down_at + down, to="running")
    return Outcome("Redis restart", result, again and again - down_at,
                   {"dead workers": [n for n in names if not stack.worker_alive(n)]})


def postgres_restart(stack: Stack, tmp: Path, *, size: int = 4, sleep: float = 4.0, workers: int = 2, down: float = 5.0) -> Outcome:
    batch = Batch(stack, competition_create(stack, tmp))
    names = [stack.worker_start() for _ in range(workers)]
    _split(batch, size, sleep=sleep)
    wait_for(lambda: len(busy_workers(stack)) == workers, timeout=60, what="every worker busy")
    time.sleep(1.0)
    stack.postgres.stop(mode="fast")
    down_at = time.time()
    time.sleep(down)
    stack.postgres.start()
    _settle(batch, size)
    result = verdict(batch)
    again = first_change_after(result.history, down_at + down, to="running")
    return Outcome("PostgreSQL restart", result, again and again - down_at,
                   {"dead workers": [n for n in names if not stack.worker_alive(n)]})


def upload_while_redis_down(stack: Stack, tmp: Path, *, size: int = 3, sleep: float = 1.0, workers: int = 1) -> Outcome:
    batch = Batch(stack, competition_create(stack, tmp))
    for _ in range(workers):
        stack.worker_start()
    stack.redis.stop()
    _split(batch, size, sleep=sleep)
    up_at = time.time()
    stack.redis.start()
    _settle(batch, size)
    result = verdict(batch)
    again = first_change_after(result.history, up_at, to="running")
    logs = "".join((stack.base / f"web-{port}.log").read_text(errors="replace")[-4000:] for port in stack.web_ports)
    return Outcome("upload while Redis is down", result, again and again - up_at,
                   {"answers": sorted({s.status_code for s in batch.sent}), "web log": logs})


def engine_gone(stack: Stack, tmp: Path, *, size: int = 6, sleep: float = 2.0) -> Outcome:
    """The engine of one of two workers goes away while it runs jobs; the other must run them."""
    batch = Batch(stack, competition_create(stack, tmp))
    engine = EngineProxy(stack.base)
    doomed = stack.worker_start(DOCKER_HOST=engine.url)
    _split(batch, size, sleep=sleep)
    wait_for(lambda: doomed in busy_workers(stack), timeout=60, what="the doomed worker busy")
    engine.cut()
    cut_at = time.time()
    healthy = stack.worker_start()
    wait_for(lambda: not stack.worker_alive(doomed), timeout=60, what="the worker without an engine to stop")
    _settle(batch, size)
    result = verdict(batch)
    again = first_change_after(result.history, cut_at, to="running")
    return Outcome("engine gone under a worker", result, again and again - cut_at,
                   {"doomed exit": stack.workers[doomed].returncode, "healthy alive": stack.worker_alive(healthy)})


def container_killed(stack: Stack, tmp: Path, *, size: int = 2, sleep: float = 6.0) -> Outcome:
    import docker

    batch = Batch(stack, competition_create(stack, tmp))
    name = stack.worker_start()
    _split(batch, size, sleep=sleep)
    wait_for(lambda: name in busy_workers(stack), timeout=60, what="the worker busy")
    owner = f":{stack.workers[name].pid}:"
    client = docker.from_env()

    def running():
        return [c for c in client.containers.list(filters={"label": "org.anomed-arena.sandbox"})
                if owner in c.labels.get("org.anomed-arena.owner", "")
                and "sleep" in " ".join(" ".join(p) for p in (c.top().get("Processes") or []))]

    container = wait_for(running, timeout=30, what="the run's container")[0]
    container.kill()
    killed_at = time.time()
    _settle(batch, size)
    result = verdict(batch)
    again = first_change_after(result.history, killed_at, to="running")
    return Outcome("container killed from outside", result, again and again - killed_at)


def fair_share(stack: Stack, tmp: Path, *, flood: int = 100, sleep: float = 1.0) -> Outcome:
    """One team holds ``flood`` queued submissions; when does another team's first one start?"""
    competition = competition_create(stack, tmp)
    busy, newcomer = competition.teams[:2]
    batch = Batch(stack, competition)
    stack.worker_start()
    batch.submit_many(busy, flood, sleep=sleep, parallel=4)
    wait_for(lambda: sum(1 for s in batch.statuses().values() if s in ("finished", "running")) >= 2,
             timeout=60, what="the flood to start")
    mine = batch.submit(newcomer, sleep=sleep)
    assert mine.submission_id is not None, f"the other team's submission was refused ({mine.status_code})"
    detail = batch.detail(newcomer, mine.submission_id)
    started = batch.wait_status(mine.submission_id, ("running", "scoring", "finished"), timeout=120)
    history = batch.history()
    flood_ids = [s.submission_id for s in batch.sent if s.team == busy.name and s.submission_id]
    taken_before = [pk for pk in flood_ids if any(new == "running" and mine.answered < at < started for _, new, _, at in history[pk])]
    runs = [b - a for pk in flood_ids for (_, n1, _, a), (_, n2, _, b) in itertools.pairwise(history[pk])
            if n1 == "running" and n2 in ("scoring", "finished")]
    for pk in flood_ids:
        batch.cancel(busy, pk)
    batch.wait_settled(timeout=60)
    return Outcome("fair share (100 queued by one team)", verdict(batch), None, {
        "waited": started - mine.answered, "taken before": len(taken_before),
        "run": sorted(runs)[len(runs) // 2] if runs else None, "detail": detail,
    })
