"""The RQ worker that runs evaluation jobs (``manage.py evaluation_worker``).

RQ's default worker forks a fresh child for every job. Here that costs more than it protects:
the child starts without a Docker client (a new connection and an engine info call per job),
opens its own database connection, and ends with ``os._exit``, which also kills the sandbox's
background removal of the run's container and volume before it is done. This worker runs jobs
in its own process, so the client, its connection pool and the removal thread stay warm from
job to job. Isolation between jobs is the sandbox's task, not the worker's: participant code
never runs in this process. A job that hangs is still stopped at its RQ timeout (a signal in
this process), and a worker that dies mid-job is caught by the reaper through its heartbeat.

What a worker survives, and what it refuses:

- **No sandbox backend.** It does not start without one that works (a worker without an engine
  would fail every submission it takes, fast), and it stops taking jobs when its backend stops
  answering after a job: it exits with an error, its supervisor restarts it, and the start-up
  check holds it back until the engine is back. Meanwhile other workers take the retries.
- **Redis or PostgreSQL outages.** RQ quits on most Redis errors ("unhandled exception,
  quitting"); :func:`worker_serve` starts the work loop again with a growing pause until the
  services answer. A job that was running goes on; only RQ's own bookkeeping of it is lost,
  and the database, not RQ, says what became of the submission.
- **A killed predecessor.** Each worker keeps its scratch (decrypted hidden data included) in
  a folder of its own under ``ARENA_SCRATCH_ROOT``, removed when a worker of that name starts
  and by the reaper once the process that owned it is gone; containers it left are removed by
  their owner label (:func:`sandbox_leftovers_remove`).
- **Being alive is visible.** A heartbeat thread writes the worker's state every few seconds
  (:data:`HEARTBEAT_SECONDS`) to Redis and renews the heartbeat of the attempt it runs in the
  database (:mod:`evaluation.attempts`), so the reaper tells a dead worker from a slow run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker

from evaluation import attempts, fair_queue

log = logging.getLogger(__name__)

BACKEND_CHECK_SECONDS = 30.0  # an idle worker checks its sandbox backend this often
HEARTBEAT_SECONDS = 3.0  # three beats fit in attempts.HEARTBEAT_TIMEOUT
WORKER_KEY = attempts.WORKER_KEY
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, DatabaseError)
OWNER_FILE = "owner"


class SandboxUnavailable(RuntimeError):
    """The worker's sandbox backend does not work: it must not take jobs."""


class WorkerBroken(RuntimeError):
    """The work loop ended on an error that is no outage: a fresh process should take over."""


# --------------------------------------------------------------------------- the sandbox backend


def sandbox_backend_problem() -> str | None:
    """What keeps the configured sandbox backend from running a submission now; ``None`` if nothing."""
    import sandbox
    from sandbox.docker_backend import client_from_env
    from sandbox.process_backend import ProcessBackend

    image = settings.ARENA_RUNTIME_IMAGE
    name = settings.ARENA_SANDBOX_BACKEND
    if not name:
        return None if sandbox.available_backends(image) else "neither a Docker engine nor the process backend works here"
    if name == "docker":
        try:
            client = client_from_env(timeout=10)
            client.ping()
        except Exception as exc:  # noqa: BLE001 - any failure means: no engine
            return f"no Docker engine answers ({os.environ.get('DOCKER_HOST') or 'the default socket'}): {exc}"
        try:
            client.images.get(image)
        except Exception as exc:  # noqa: BLE001
            return f"the Docker engine has no runtime image {image} ({exc}); build it with sandbox/runtime/build"
        finally:
            client.close()
        return None
    if name == "process":
        return None if ProcessBackend().available() else "the process backend finds neither bubblewrap nor unshare"
    return f"unknown sandbox backend {name!r} (ARENA_SANDBOX_BACKEND: expected docker or process)"


def sandbox_backend_require() -> None:
    problem = sandbox_backend_problem()
    if problem:
        raise SandboxUnavailable(
            f"The sandbox backend does not work: {problem}. This worker would fail every submission it took, "
            "so it does not start; fix the backend (or ARENA_SANDBOX_BACKEND) and start it again."
        )


# --------------------------------------------------------------------------- scratch and leftovers


def scratch_root() -> Path:
    return Path(settings.ARENA_SCRATCH_ROOT)


def worker_scratch_open(*, name: str) -> Path:
    """This worker's scratch folder, emptied of whatever a previous process of that name left.

    Every temporary folder of this process goes there (``tempfile.tempdir``): the evaluation's
    scratch with its decrypted data, the sandbox's spare folders. Traversable, not listable
    (0711), as the process backend's unprivileged run user must reach bind sources inside.
    """
    from sandbox.docker_backend import process_identity

    root = scratch_root()
    root.mkdir(parents=True, exist_ok=True, mode=0o711)
    folder = root / _safe(name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o711)
    os.chmod(folder, 0o711)
    (folder / OWNER_FILE).write_text(process_identity())
    tempfile.tempdir = str(folder)
    return folder


def dead_workers_scratch_remove() -> int:
    """Remove the scratch folders whose owning process (on this host) is gone. Returns how many."""
    from sandbox.docker_backend import owner_is_dead

    root = scratch_root()
    removed = 0
    if not root.is_dir():
        return 0
    for folder in root.iterdir():
        try:
            owner = (folder / OWNER_FILE).read_text().strip()
        except OSError:
            continue  # not a worker's folder, or being created right now
        if owner_is_dead(owner):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def sandbox_leftovers_remove() -> int:
    """Remove the containers and volumes that runs of dead processes left on this host's engine.

    Those past their deadline label, or whose owner label names a process of this host that is
    gone, so other workers' runs (and their spare containers) on the same engine are safe.
    Returns how many were removed; 0 without an engine.
    """
    if settings.ARENA_SANDBOX_BACKEND not in ("", "docker"):
        return 0
    from sandbox.docker_backend import cleanup_leftovers

    try:
        return cleanup_leftovers()
    except Exception as exc:  # noqa: BLE001 - no engine here: nothing of ours can be left on it
        log.info("no leftover check on the Docker engine: %s", exc)
        return 0


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "worker"


# --------------------------------------------------------------------------- heartbeat

class Heartbeat(threading.Thread):
    """Every :data:`HEARTBEAT_SECONDS`: the worker's state to Redis, then every registered beat.

    A beat that fails (Redis or PostgreSQL away) is tried again at the next one; the thread
    never stops for it.
    """

    def __init__(self, *, name: str, connection, queues: list[str]):
        super().__init__(name="arena-heartbeat", daemon=True)
        self.worker_name = name
        self.queues = list(queues)
        self.connection = connection
        self.state = "starting"
        self.stop_event = threading.Event()

    def run(self) -> None:
        from sandbox.docker_backend import process_identity

        owner = process_identity()
        while not self.stop_event.is_set():
            try:
                self.connection.set(WORKER_KEY.format(name=self.worker_name),
                                    json.dumps({"owner": owner, "state": self.state, "queues": self.queues, "at": time.time()}),
                                    ex=int(attempts.HEARTBEAT_TIMEOUT.total_seconds()))
            except Exception as exc:  # noqa: BLE001 - Redis away: the next beat tries again
                log.debug("heartbeat to Redis failed: %s", exc)
            try:
                attempts.beats_run()
            except Exception as exc:  # noqa: BLE001 - PostgreSQL away: the next beat tries again
                log.debug("attempt heartbeat failed: %s", exc)
            finally:
                close_old_connections()
            self.stop_event.wait(HEARTBEAT_SECONDS)
        connections.close_all()  # this thread's own

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=10)



# --------------------------------------------------------------------------- the worker


class EvaluationWorker(SimpleWorker):
    # Jobs come one after another in one process: keep the database connection between them
    # (checked before reuse) rather than open one per job.
    connection_max_age = 600

    def __init__(self, *args, heartbeat: Heartbeat | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.arena_heartbeat = heartbeat
        self.stop_asked = False
        self.backend_problem: str | None = None
        self.outage_seen: float | None = None  # time.monotonic() of the last Redis error waited out
        self.backend_checked = time.monotonic()

    def work(self, *args, **kwargs):
        with _persistent_connections(self.connection_max_age):
            return super().work(*args, **kwargs)

    # RQ's loop quits on a Redis error in its own bookkeeping between jobs; these wait it out
    # instead (the next dequeue retries with a growing pause until Redis answers again).
    def heartbeat(self, *args, **kwargs):
        return self._through_outage(super().heartbeat, *args, **kwargs)

    def check_for_suspension(self, *args, **kwargs):
        return self._through_outage(super().check_for_suspension, *args, **kwargs)

    def run_maintenance_tasks(self, *args, **kwargs):
        return self._through_outage(super().run_maintenance_tasks, *args, **kwargs)

    def _through_outage(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            self.outage_seen = time.monotonic()
            log.warning("worker %s: Redis does not answer (%s); waiting for it", self.name, exc)
            return None

    def request_stop(self, signum, frame):
        self.stop_asked = True
        return super().request_stop(signum, frame)

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None):
        """Take the next job in the fair order (:mod:`evaluation.fair_queue`), not the first in FIFO.

        The order is recomputed every ``POLL_SECONDS`` while waiting, so a queue that appears
        meanwhile is seen; a Redis outage is waited out with a growing pause, as RQ does.
        """
        from rq.exceptions import DequeueTimeout, StopRequested
        from rq.queue import Queue

        self.set_state("idle")
        pause = 1.0
        while True:
            if time.monotonic() - self.backend_checked > BACKEND_CHECK_SECONDS:
                self.backend_checked = time.monotonic()
                self.backend_problem = sandbox_backend_problem()
                if self.backend_problem:  # idle, but every job it took would fail: take none
                    log.error("the sandbox backend stopped working (%s): this worker takes no more jobs", self.backend_problem)
                    raise StopRequested()
            try:
                self.heartbeat()
                if self.should_run_maintenance_tasks:
                    self.run_maintenance_tasks()
                names = [name for base in self.queue_names() for name in fair_queue.queues_in_order(connection=self.connection, base=base)]
                queues = [Queue(name, connection=self.connection, serializer=self.serializer) for name in names] + list(self.queues)
                result = self.queue_class.dequeue_any(
                    queues, None if timeout is None else fair_queue.POLL_SECONDS, connection=self.connection,
                    job_class=self.job_class, serializer=self.serializer, death_penalty_class=self.death_penalty_class,
                )
                if result is not None or timeout is None:
                    return result
            except DequeueTimeout:
                continue
            except (RedisConnectionError, RedisTimeoutError) as exc:
                self.outage_seen = time.monotonic()
                log.error("worker %s: Redis does not answer (%s); trying again in %.0f s", self.name, exc, pause)
                time.sleep(pause)
                pause = min(pause * 2, 30.0)

    def execute_job(self, job, queue):
        # As Django does around a request: never start a job on a connection that broke or
        # outlived CONN_MAX_AGE while the worker waited, and leave none in a broken state after it.
        close_old_connections()
        if self.arena_heartbeat:
            self.arena_heartbeat.state = f"busy: {job.description or job.id}"
        owner = fair_queue.Owner.from_queue_name(queue.name)
        estimate = _quietly(fair_queue.run_seconds, connection=self.connection, base=owner.base) if owner else None
        if owner and estimate is not None:  # work in progress counts at once
            _quietly(fair_queue.usage_charge, connection=self.connection, owner=owner, seconds=estimate)
        started = time.monotonic()
        try:
            super().execute_job(job, queue)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            self.outage_seen = time.monotonic()
            # The job ran; only RQ's bookkeeping of it failed. The database holds its outcome.
            log.warning("Redis went away while job %s finished (%s); its outcome is in the database", job.id, exc)
        finally:
            close_old_connections()
            if self.arena_heartbeat:
                self.arena_heartbeat.state = "idle"
        if owner and estimate is not None:
            elapsed = time.monotonic() - started
            _quietly(fair_queue.usage_charge, connection=self.connection, owner=owner, seconds=elapsed - estimate)
            _quietly(fair_queue.run_seconds_record, connection=self.connection, base=owner.base, seconds=elapsed)
        # A job whose run broke on the sandbox itself says little; a backend that no longer
        # answers says the next jobs would break too: stop taking them, let other workers.
        self.backend_problem = sandbox_backend_problem()
        self.backend_checked = time.monotonic()
        if self.backend_problem:
            log.error("the sandbox backend stopped working (%s): this worker takes no more jobs", self.backend_problem)
            self.request_stop(None, None)


def worker_serve(*, queues: list[str], name: str, burst: bool = False, connection_factory: Callable,
                 max_pause: float = 30.0) -> str | None:
    """Work on ``queues`` until asked to stop, through Redis and PostgreSQL outages.

    Returns ``None`` after a requested stop (or a drained burst), or the sandbox problem that
    made the worker stop taking jobs.
    """
    sandbox_backend_require()
    temporary = tempfile.tempdir
    scratch = worker_scratch_open(name=name)
    attempts.worker_identity_set(name)
    heartbeat = Heartbeat(name=name, connection=connection_factory(), queues=queues)
    heartbeat.start()
    pause = 1.0
    try:
        while True:
            started = time.monotonic()
            worker = None
            try:
                worker = EvaluationWorker(queues, connection=connection_factory(), name=name, heartbeat=heartbeat)
                _forget_stale_registration(worker)
                heartbeat.state = "idle"
                worker.work(burst=burst, with_scheduler=False)
            except OUTAGE_ERRORS as exc:
                log.warning("worker %s lost its services (%s)", name, exc)
                outage = True
            else:
                outage = worker.outage_seen is not None and time.monotonic() - worker.outage_seen < 120
            if worker is not None and worker.backend_problem:
                return worker.backend_problem
            if worker is not None and (worker.stop_asked or burst):
                return None
            if not outage and _services_answer(connection_factory):
                # RQ ended its loop on an error of its own or ours while Redis and PostgreSQL
                # answer: no outage to wait out. Exit, so the supervisor starts a fresh process.
                raise WorkerBroken(f"worker {name}: the work loop stopped on an unexpected error (logged above)")
            if time.monotonic() - started > 60:
                pause = 1.0  # it worked a while: this outage is a new one
            log.warning("worker %s: the work loop ended on an outage; starting it again in %.0f s", name, pause)
            heartbeat.state = "waiting for Redis or PostgreSQL"
            # Nothing is in flight between two work loops: a stop signal may end the process as is.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            time.sleep(pause)
            pause = min(pause * 2, max_pause)
    finally:
        heartbeat.stop()
        # A clean stop leaves nothing behind (a killed worker's scratch goes at the next start
        # or with the reaper).
        attempts.worker_identity_set("")
        tempfile.tempdir = temporary
        shutil.rmtree(scratch, ignore_errors=True)


def _services_answer(connection_factory: Callable) -> bool:
    try:
        connection_factory().ping()
        close_old_connections()
        connections["default"].ensure_connection()
        return True
    except Exception:  # noqa: BLE001 - either one away: an outage
        return False
    finally:
        connections.close_all()


def _quietly(function, **kwargs):
    """Bookkeeping that must not stop a worker: its result, or ``None`` when Redis is away."""
    try:
        return function(**kwargs)
    except (RedisConnectionError, RedisTimeoutError) as exc:
        log.info("%s skipped: %s", function.__name__, exc)
        return None


def _forget_stale_registration(worker: EvaluationWorker) -> None:
    """After an outage RQ may still hold this worker's registration, never marked dead; a new work
    loop under the same name is refused for it. It is this very process's: remove it."""
    try:
        if worker.connection.exists(worker.key) and not worker.connection.hexists(worker.key, "death"):
            worker.register_death()
            worker.connection.delete(worker.key)
    except Exception as exc:  # noqa: BLE001 - Redis still away: the work loop waits for it
        log.debug("could not clear the old registration: %s", exc)


@contextmanager
def _persistent_connections(max_age: int):
    """Let database connections live ``max_age`` s, health-checked before reuse, while working."""
    changed = {}
    for alias in connections:
        settings_dict = connections[alias].settings_dict
        if "pool" in settings_dict.get("OPTIONS", {}):
            continue  # a pool already keeps its connections
        changed[alias] = {key: settings_dict.get(key) for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
        settings_dict.update(CONN_MAX_AGE=max_age, CONN_HEALTH_CHECKS=True)
    try:
        yield
    finally:
        for alias, saved in changed.items():
            connections[alias].settings_dict.update(saved)
