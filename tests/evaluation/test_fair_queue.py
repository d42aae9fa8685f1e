"""The fair order against a real Redis: who a free worker serves next, and where a job stands."""

from __future__ import annotations

import os
import uuid

import pytest

from evaluation import fair_queue
from evaluation.fair_queue import (
    Owner,
    fair_enqueue,
    owner_for,
    position_of,
    queues_in_order,
    usage_charge,
)


@pytest.fixture
def redis():
    from redis import Redis

    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    connection = Redis.from_url(url)
    base = f"t{uuid.uuid4().hex[:8]}"  # a base of this test's own: nothing else is in its queues
    yield connection, base
    for name in fair_queue.known_queue_names(connection=connection, base=base):
        from rq import Queue

        Queue(name, connection=connection).empty()
    connection.delete(fair_queue.KNOWN_QUEUES.format(base=base))


ID = uuid.uuid4().int % 10**9  # team and competition ids of this run's own: recent usage stays in Redis


def _enqueue(connection, owner: Owner, n: int = 1):
    return [fair_enqueue(connection=connection, owner=owner, function="builtins.print", args=(i,)) for i in range(n)]


def test_a_team_with_a_long_queue_does_not_hold_back_a_newcomer(redis):
    connection, base = redis
    busy = owner_for(base=base, competition_id=ID + 1, team_id=ID + 10_001, organizer=False)
    newcomer = owner_for(base=base, competition_id=ID + 1, team_id=ID + 10_002, organizer=False)
    _enqueue(connection, busy, 100)
    usage_charge(connection=connection, owner=busy, seconds=60)  # it has had the workers a while
    (job,) = _enqueue(connection, newcomer)
    assert queues_in_order(connection=connection, base=base)[0] == newcomer.queue_name
    position = position_of(connection=connection, base=base, job_id=job.id, workers=2)
    assert position.ahead == 0


def test_baselines_and_reruns_wait_while_teams_wait(redis):
    connection, base = redis
    organizer = owner_for(base=base, competition_id=ID + 2, team_id=None, organizer=True)
    team = owner_for(base=base, competition_id=ID + 2, team_id=ID + 10_003, organizer=False)
    _enqueue(connection, organizer, 3)
    team_jobs = _enqueue(connection, team, 2)
    assert queues_in_order(connection=connection, base=base) == [team.queue_name, organizer.queue_name]
    assert position_of(connection=connection, base=base, job_id=team_jobs[1].id, workers=1).ahead == 1


def test_two_teams_alternate_and_positions_follow_the_simulation(redis):
    connection, base = redis
    first = owner_for(base=base, competition_id=ID + 3, team_id=ID + 10_004, organizer=False)
    second = owner_for(base=base, competition_id=ID + 3, team_id=ID + 10_005, organizer=False)
    a = _enqueue(connection, first, 5)
    b = _enqueue(connection, second, 5)
    # The second team's third job follows the first team's and its own first two (they alternate).
    position = position_of(connection=connection, base=base, job_id=b[2].id, workers=1)
    assert position.ahead == 5
    assert position_of(connection=connection, base=base, job_id=a[4].id, workers=1).ahead == 8
    assert position_of(connection=connection, base=base, job_id="no-such-job", workers=1) is None


def test_the_least_used_competition_goes_first_between_equal_teams(redis):
    connection, base = redis
    crowded = owner_for(base=base, competition_id=ID + 4, team_id=ID + 10_006, organizer=False)
    quiet = owner_for(base=base, competition_id=ID + 5, team_id=ID + 10_007, organizer=False)
    usage_charge(connection=connection, owner=owner_for(base=base, competition_id=ID + 4, team_id=ID + 10_008, organizer=False), seconds=500)
    _enqueue(connection, crowded)
    _enqueue(connection, quiet)
    assert queues_in_order(connection=connection, base=base) == [quiet.queue_name, crowded.queue_name]


def test_a_drained_queue_is_forgotten(redis):
    connection, base = redis
    owner = owner_for(base=base, competition_id=ID + 6, team_id=ID + 10_009, organizer=False)
    _enqueue(connection, owner)
    from rq import Queue

    Queue(owner.queue_name, connection=connection).empty()
    assert queues_in_order(connection=connection, base=base) == []
    assert fair_queue.known_queue_names(connection=connection, base=base) == []
