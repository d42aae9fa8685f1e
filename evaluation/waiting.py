"""Where a queued submission stands: which fair queue it waits in, its position and a start estimate.

The order itself is :mod:`evaluation.fair_queue`'s; this module maps submissions onto it (whose
queue a job goes to, under which job id) and reads the answer for the API, the submission page
and ``arena submission ID``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from django.conf import settings

from evaluation import fair_queue
from submissions.models import Submission

log = logging.getLogger(__name__)


def redis_connection():
    from redis import Redis

    return Redis.from_url(settings.REDIS_URL)


def queue_base(*, phase) -> str:
    return "gpu" if phase.needs_gpu else "cpu"


def submission_job_id(submission_id: int) -> str:
    """One job id per submission: a second enqueue of a waiting submission is found, not doubled."""
    return f"evaluate-submission-{submission_id}"


def submission_owner(*, submission: Submission, organizer: bool = False) -> fair_queue.Owner:
    """Teams' submissions wait in their team's queue; baselines and organizers' reruns behind them."""
    return fair_queue.owner_for(base=queue_base(phase=submission.phase), competition_id=submission.competition_id,
                                team_id=submission.team_id, organizer=organizer or submission.is_baseline)


@dataclass(frozen=True)
class QueuePosition:
    ahead: int
    estimated_start: dt.datetime


def workers_serving(*, connection, base: str) -> int:
    """Workers on ``base`` whose heartbeat is current (see evaluation.worker)."""
    count = 0
    for key in connection.scan_iter(match="arena:worker:*", count=500):
        raw = connection.get(key)
        if raw and base in json.loads(raw).get("queues", [base]):
            count += 1
    return count


def queue_position(*, submission: Submission) -> QueuePosition | None:
    """Its position and estimated start while it waits in a fair queue; ``None`` otherwise
    (not queued, evaluated in-process, or Redis cannot say right now)."""
    if submission.status != Submission.QUEUED or settings.ARENA_EVALUATION_MODE != "rq":
        return None
    base = queue_base(phase=submission.phase)
    try:
        connection = redis_connection()
        position = fair_queue.position_of(connection=connection, base=base, job_id=submission_job_id(submission.pk),
                                          workers=workers_serving(connection=connection, base=base))
    except Exception as exc:  # noqa: BLE001 - Redis away: the page and the API still answer
        log.info("no queue position for submission %s: %s", submission.pk, exc)
        return None
    if position is None:
        return None
    return QueuePosition(ahead=position.ahead,
                         estimated_start=dt.datetime.fromtimestamp(position.estimated_start, dt.UTC))
