"""Where evaluation jobs go: RQ queues in production, an in-process thread in the embedded default.

Every mode (inline, thread, rq) runs a job by its dotted path, such as
:data:`SUBMISSION_JOB` (:func:`evaluation.jobs.evaluate_submission`), so this module imports
no job and no service: it stays below everything that queues. The RQ job
timeout is the phase's wall-time limit (twice: a check run and the real run) plus a
margin, so RQ only kills a job the sandbox should already have stopped.
"""

from __future__ import annotations

import itertools
import logging
import queue as stdlib_queue
import threading
from importlib import import_module

from django.conf import settings

from evaluation import fair_queue, waiting

log = logging.getLogger(__name__)

CPU_QUEUE = "cpu"
GPU_QUEUE = "gpu"
# Membership games: workers take it after the evaluation queues, so games only fill idle time.
GAME_QUEUE = "games"
SUBMISSION_JOB = "evaluation.jobs.evaluate_submission"
GAME_JOB = "evaluation.jobs.play_membership_game"


def redis_connection():
    return waiting.redis_connection()


def rq_queue(name: str):
    from rq import Queue

    return Queue(name, connection=redis_connection())


def job_timeout(*, phase) -> int:
    wall = float(phase.limits.get("wall_seconds", 600))
    return int(2 * wall + settings.ARENA_RUN_MARGIN_SECONDS)


def queue_name(*, phase) -> str:
    return GPU_QUEUE if phase.needs_gpu else CPU_QUEUE


def evaluation_enqueue(*, submission_id: int, organizer: bool = False) -> None:
    """Hand a submission to the evaluation workers. Called on commit by the submission services.

    With RQ it goes to its team's fair queue (an organizer's rerun or a baseline behind the
    teams', see :mod:`evaluation.fair_queue`) under one job id per submission, so a second
    enqueue of a waiting submission adds nothing. When Redis does not answer the submission
    stays queued in the database and the reaper enqueues it later: never an error here.
    """
    mode = settings.ARENA_EVALUATION_MODE
    if mode == "manual":
        return
    if mode == "inline":
        _call(SUBMISSION_JOB, (submission_id,))
        return
    if mode == "thread":
        _embedded_worker().put((SUBMISSION_JOB, (submission_id,)))
        return
    from redis.exceptions import RedisError

    from submissions.models import Submission

    submission = Submission.objects.select_related("phase").get(pk=submission_id)
    job_id = waiting.submission_job_id(submission_id)
    try:
        connection = redis_connection()
        if _waiting_job(connection, job_id):
            return
        fair_queue.fair_enqueue(
            connection=connection, owner=waiting.submission_owner(submission=submission, organizer=organizer),
            function=SUBMISSION_JOB, args=(submission_id,), job_id=job_id, job_timeout=job_timeout(phase=submission.phase),
            failure_ttl=7 * 24 * 3600, description=f"evaluate submission {submission_id}",
        )
    except RedisError as exc:
        log.warning("submission %s stays queued without a job (%s): the reaper enqueues it later", submission_id, exc)


def _waiting_job(connection, job_id: str) -> bool:
    """Whether job ``job_id`` already waits in a queue (then enqueueing it again would add nothing)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    try:
        return Job.fetch(job_id, connection=connection).get_status() in (JobStatus.QUEUED, JobStatus.DEFERRED)
    except NoSuchJobError:
        return False


def submissions_with_jobs() -> set[int] | None:
    """Submissions that an RQ job waits for now; ``None`` where jobs live outside Redis (the
    embedded thread hands itself what was queued at start-up, see :func:`embedded_worker_start`)."""
    waiting = waiting_job_args(SUBMISSION_JOB)
    return None if waiting is None else {int(args[0]) for args in waiting if args}


def waiting_job_args(function: str) -> set[tuple] | None:
    """The arguments of every RQ job of ``function`` that waits in an evaluation queue (plain or
    fair, CPU or GPU); ``None`` where jobs live outside Redis."""
    if settings.ARENA_EVALUATION_MODE != "rq":
        return None
    from rq.job import Job

    connection = redis_connection()
    found: set[tuple] = set()
    # Only jobs that wait: one a worker took is its attempt's, and the database says whether that
    # attempt lives (evaluation.attempts); a job taken by a worker that died is no job at all.
    names = [CPU_QUEUE, GPU_QUEUE] + [n for base in (CPU_QUEUE, GPU_QUEUE) for n in fair_queue.known_queue_names(connection=connection, base=base)]
    for name in names:
        ids = rq_queue(name).get_job_ids()
        for job in Job.fetch_many(ids, connection=connection):
            if job is not None and job.func_name == function:
                found.add(tuple(job.args or ()))
    return found


def job_enqueue(*, function: str, args: tuple, phase, key: str | None = None, team_id: int | None = None,
                low_priority: bool = False, timeout: int | None = None) -> None:
    """Queue any evaluation job (arena pairs, membership games); same modes as submissions.

    With RQ it goes to the fair queue of ``team_id`` in the phase's competition (no team: the
    organizers'); ``low_priority`` jobs go to :data:`GAME_QUEUE` instead, which workers take only
    when no fair queue has work (the embedded thread takes them after every other job waiting).
    ``timeout`` replaces the phase's job timeout for a job of many runs.
    """
    mode = settings.ARENA_EVALUATION_MODE
    if mode == "manual":
        return
    if mode == "inline":
        _call(function, args)
        return
    if mode == "thread":
        _embedded_worker().put((function, args), low_priority=low_priority)
        return
    if low_priority:
        rq_queue(GAME_QUEUE).enqueue(function, *args, job_timeout=timeout or job_timeout(phase=phase), job_id=key)
        return
    owner = fair_queue.owner_for(base=queue_name(phase=phase), competition_id=phase.competition_id, team_id=team_id,
                                 organizer=team_id is None)
    fair_queue.fair_enqueue(connection=redis_connection(), owner=owner, function=function, args=args,
                            job_timeout=timeout or job_timeout(phase=phase), job_id=key)


def _call(function: str, args: tuple) -> None:
    """Run the job at dotted path ``function`` in this process, as an RQ worker would."""
    module, _, name = function.rpartition(".")
    getattr(import_module(module), name)(*args)


class _EmbeddedWorker:
    """One background thread that evaluates jobs in order, for servers without Redis."""

    def __init__(self):
        self.jobs: stdlib_queue.PriorityQueue = stdlib_queue.PriorityQueue()
        self.order = itertools.count()  # first come, first served within a priority
        self.thread = threading.Thread(target=self._loop, name="arena-evaluation", daemon=True)
        self.thread.start()

    def put(self, job, *, low_priority: bool = False) -> None:
        self.jobs.put((int(low_priority), next(self.order), job))

    def _loop(self) -> None:
        from django.db import close_old_connections

        while True:
            _, _, job = self.jobs.get()
            close_old_connections()
            try:
                _call(*job)
            except Exception:
                log.exception("evaluation job %s failed", job)
            finally:
                close_old_connections()
                self.jobs.task_done()

    def join(self) -> None:
        self.jobs.join()


_worker: _EmbeddedWorker | None = None
_worker_lock = threading.Lock()


def _embedded_worker() -> _EmbeddedWorker:
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = _EmbeddedWorker()
        return _worker


def embedded_worker_start() -> None:
    """Start the thread and hand it what was left queued when the server last stopped, then,
    behind it, the membership games still to be played (the demo's, for one)."""
    if settings.ARENA_EVALUATION_MODE != "thread":
        return
    from submissions.models import Submission

    worker = _embedded_worker()
    for pk in Submission.objects.filter(status__in=[Submission.QUEUED, Submission.RUNNING, Submission.SCORING]).order_by("created").values_list("pk", flat=True):
        worker.put((SUBMISSION_JOB, (pk,)))
    if settings.ARENA_MEMBERSHIP_GAMES:
        for pk in games_unplayed():
            worker.put((GAME_JOB, (pk,)), low_priority=True)


def games_unplayed() -> list[int]:
    """Finished defenses of competitions with a membership game that has no result yet."""
    from evaluation.games.config import OPTION, WORST
    from submissions.models import Score, Submission

    played = Score.objects.filter(metric=WORST).values_list("submission_id", flat=True)
    defenses = (Submission.objects.filter(status=Submission.FINISHED, role=Submission.DEFENSE).exclude(pk__in=played)
                .select_related("competition").order_by("pk"))
    return [d.pk for d in defenses if OPTION in (d.competition.options or {})]


def embedded_worker_wait() -> None:
    """Block until the embedded worker has nothing left (demo loading, tests)."""
    if _worker is not None:
        _worker.join()
