"""Attempts: each time a worker takes a submission, with its own identity, start and heartbeat.

A submission may be taken more than once: its worker was killed, the engine failed. Each take
is an *attempt*: a fresh ``attempt_id`` (a UUID), the attempt's own ``started`` and a
``heartbeat`` the worker's heartbeat thread renews every few seconds while the attempt runs,
and the ``worker`` that runs it. What follows from that:

- every status write of an attempt names it (``submission.attempt_id`` travels with the
  instance the attempt holds; :func:`submissions.services.submission_set_status` writes only
  where it still matches and raises ``StatusWriteRefused`` otherwise), so a late write from an
  attempt that was given up changes nothing;
- a finished, failed or cancelled submission is never written by an attempt again, so it goes
  back to the queue only by an organizer's rerun;
- an attempt is **dead** when its heartbeat is older than :data:`HEARTBEAT_TIMEOUT` and its
  worker does not say (in Redis) that it is busy with it: the reaper requeues it within
  about that time plus the reaper's period, whatever the time limits are; a slow run whose
  worker beats is left alone. Attempts run without a worker process that beats (the embedded
  thread, inline evaluation) fall back to the time limit plus a margin.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from submissions.models import Submission

log = logging.getLogger(__name__)

HEARTBEAT_TIMEOUT = dt.timedelta(seconds=10)
WORKER_KEY = "arena:worker:{name}"  # written by the worker's heartbeat thread (evaluation.worker)


# --------------------------------------------------------------------------- this process's beats

_worker_name = ""
_beats: list[Callable[[], None]] = []
_beats_lock = threading.Lock()


def worker_identity_set(name: str) -> None:
    """Called once by a worker process: attempts it runs carry its name and are kept alive by its beats."""
    global _worker_name
    _worker_name = name


def worker_identity() -> str:
    return _worker_name


def beats_run() -> None:
    """Renew every running attempt's heartbeat; the worker's heartbeat thread calls this."""
    with _beats_lock:
        beats = list(_beats)
    for beat in beats:
        beat()


@contextmanager
def attempt_heartbeat(submission: Submission) -> Iterator[None]:
    """While the block runs, the worker's heartbeat renews this attempt's ``heartbeat``."""
    attempt_id, pk = submission.attempt_id, submission.pk

    def beat() -> None:
        Submission.objects.filter(pk=pk, attempt_id=attempt_id).update(heartbeat=timezone.now())

    with _beats_lock:
        _beats.append(beat)
    try:
        yield
    finally:
        with _beats_lock:
            _beats.remove(beat)


# --------------------------------------------------------------------------- claiming and judging


def attempt_begin(*, submission_id: int, now: dt.datetime | None = None) -> Submission | None:
    """Start a new attempt at a submission and return it, marked running; ``None`` when there is
    nothing to do: gone, finished, failed or cancelled, or another attempt at it is alive."""
    from submissions import services as submission_services

    now = now or timezone.now()
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update(of=("self",)).select_related("competition", "phase", "team")
            .filter(pk=submission_id).first()
        )
        if submission is None or submission.status not in Submission.ACTIVE_STATUSES:
            return None
        if submission.status != Submission.QUEUED and attempt_alive(submission=submission, now=now):
            log.info("submission %s: attempt %s is alive; this job does nothing", submission.pk, submission.attempt_id)
            return None
        attempt_id = uuid.uuid4()
        Submission.objects.filter(pk=submission.pk).update(
            attempts=F("attempts") + 1, attempt_id=attempt_id, heartbeat=now, worker=worker_identity(), retry_at=None,
        )
        submission.attempts += 1
        submission.attempt_id, submission.heartbeat, submission.worker, submission.retry_at = attempt_id, now, worker_identity(), None
        submission_services.submission_set_status(submission=submission, status=Submission.RUNNING, now=now)
    return submission


def attempt_alive(*, submission: Submission, now: dt.datetime | None = None) -> bool:
    """Whether the submission's current attempt still runs somewhere (see the module's docstring)."""
    now = now or timezone.now()
    if not submission.worker:
        if submission.started is None:
            return False
        allowed = 2 * float(submission.phase.limits.get("wall_seconds", 600)) + settings.ARENA_RUN_MARGIN_SECONDS
        return (now - submission.started).total_seconds() <= allowed
    if submission.heartbeat and now - submission.heartbeat < HEARTBEAT_TIMEOUT:
        return True
    return _worker_says_busy_with(submission)


def _worker_says_busy_with(submission: Submission) -> bool:
    """The worker's own word in Redis: a worker whose database beats failed (PostgreSQL away for
    a while) but that still runs this submission is not dead."""
    if not settings.REDIS_URL:
        return False
    from evaluation.waiting import redis_connection

    try:
        raw = redis_connection().get(WORKER_KEY.format(name=submission.worker))
    except Exception:  # noqa: BLE001 - Redis away: the heartbeat alone decides
        return False
    if not raw:
        return False
    state = json.loads(raw).get("state", "")
    return state.startswith("busy") and state.endswith(f"submission {submission.pk}")
