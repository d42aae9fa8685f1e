"""Fair queues: the next job a free worker takes goes to whoever has had the least worker time.

One team with 100 queued submissions, or one arena with 1,000 pairs to run, must not hold back
the others. RQ stays the transport; what changes is which RQ queue a worker pops next:

- every job goes to an RQ queue of its **owner**: ``<base>.<class>.c<competition>.t<team>``
  (``base`` is ``cpu`` or ``gpu``; ``class`` 0 for teams' own submissions and arena pairs, 1 for
  organizer baselines and reruns, which wait while any team's job waits);
- Redis keeps each team's and each competition's **recent worker time**: seconds of work,
  decaying with a half-life of :data:`HALF_LIFE_SECONDS`, charged with an estimate when a job
  starts and corrected when it ends (so work in progress counts at once);
- before each dequeue a worker orders the non-empty queues by (class, team's recent time,
  competition's recent time, age of the queue's oldest job) and pops the first job in that
  order (one ``BLPOP`` across the ordered keys, so a job that arrives while it waits is
  taken at once when its queue is among them; the order is recomputed every
  :data:`POLL_SECONDS`).

The same model gives each queued job its **position** (how many jobs the workers will take
before it, simulated with the same rule) and a **start estimate** (position times the recent
mean run time, divided by the workers serving that base).
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import math
import re
import time

HALF_LIFE_SECONDS = 3600.0
POLL_SECONDS = 2
TEAM, ORGANIZER = 0, 1  # priority classes: lower goes first

KNOWN_QUEUES = "arena:fair:queues:{base}"  # set of the RQ queue names of a base
USAGE = "arena:fair:usage"  # hash: "team:<id>" / "competition:<id>" -> json [seconds, at]
RUN_SECONDS = "arena:fair:run-seconds:{base}"  # json [mean seconds, count]: recent mean run time
DEFAULT_RUN_SECONDS = 30.0
_NAME = re.compile(r"^(?P<base>[^.]+)\.(?P<klass>\d)\.c(?P<competition>\d+)\.t(?P<team>\d+)$")

# Remove a queue name from the set only while its list is empty, atomically: an enqueue pushes
# the job first and adds the name after, so it can never be left out of the set.
_FORGET_IF_EMPTY = """
if redis.call('LLEN', KEYS[2]) == 0 then return redis.call('SREM', KEYS[1], ARGV[1]) end
return 0
"""


@dataclasses.dataclass(frozen=True)
class Owner:
    base: str
    klass: int
    competition: int
    team: int  # 0 for organizers' jobs

    @property
    def queue_name(self) -> str:
        return f"{self.base}.{self.klass}.c{self.competition}.t{self.team}"

    @classmethod
    def from_queue_name(cls, name: str) -> Owner | None:
        match = _NAME.match(name)
        if not match:
            return None
        return cls(match["base"], int(match["klass"]), int(match["competition"]), int(match["team"]))


def owner_for(*, base: str, competition_id: int, team_id: int | None, organizer: bool) -> Owner:
    """Teams' own work in class TEAM; baselines, reruns and anything without a team in ORGANIZER."""
    klass = ORGANIZER if organizer or not team_id else TEAM
    return Owner(base, klass, competition_id, team_id or 0)


def fair_enqueue(*, connection, owner: Owner, function: str, args: tuple, **job_options):
    """Put a job in its owner's queue and make the queue known to the workers of its base."""
    from rq import Queue

    job = Queue(owner.queue_name, connection=connection).enqueue(function, *args, **job_options)
    connection.sadd(KNOWN_QUEUES.format(base=owner.base), owner.queue_name)
    return job


def known_queue_names(*, connection, base: str) -> list[str]:
    return sorted(name.decode() if isinstance(name, bytes) else name for name in connection.smembers(KNOWN_QUEUES.format(base=base)))


# --------------------------------------------------------------------------- recent worker time


def _decayed(raw, now: float) -> float:
    if not raw:
        return 0.0
    seconds, at = json.loads(raw)
    return seconds * 0.5 ** (max(0.0, now - at) / HALF_LIFE_SECONDS)


def usage_charge(*, connection, owner: Owner, seconds: float, now: float | None = None) -> None:
    """Add ``seconds`` (negative to correct an estimate) to the owner's team and competition."""
    now = time.time() if now is None else now
    fields = [f"competition:{owner.competition}"] + ([f"team:{owner.team}"] if owner.team else [])
    # Read-modify-write without a lock: two workers charging the same team at the same instant
    # may lose one charge, which only makes the order a little less exact, never wrong.
    current = connection.hmget(USAGE, fields)
    connection.hset(USAGE, mapping={f: json.dumps([max(0.0, _decayed(raw, now) + seconds), now]) for f, raw in zip(fields, current, strict=True)})


def run_seconds(*, connection, base: str) -> float:
    raw = connection.get(RUN_SECONDS.format(base=base))
    return json.loads(raw)[0] if raw else DEFAULT_RUN_SECONDS


def run_seconds_record(*, connection, base: str, seconds: float) -> None:
    """Keep a running mean of the last runs' duration (about the last 20), for estimates."""
    raw = connection.get(RUN_SECONDS.format(base=base))
    mean, count = json.loads(raw) if raw else (seconds, 0)
    weight = 1 / min(count + 1, 20)
    connection.set(RUN_SECONDS.format(base=base), json.dumps([mean + weight * (seconds - mean), count + 1]))


# --------------------------------------------------------------------------- the order


@dataclasses.dataclass
class _Waiting:
    owner: Owner
    name: str
    length: int
    oldest: float  # when its first job was queued (epoch)


def _waiting(*, connection, base: str) -> list[_Waiting]:
    names = known_queue_names(connection=connection, base=base)
    if not names:
        return []
    with connection.pipeline() as pipe:
        for name in names:
            pipe.llen(f"rq:queue:{name}")
            pipe.lindex(f"rq:queue:{name}", 0)
        replies = pipe.execute()
    waiting = []
    heads = {}
    for name, length, head in zip(names, replies[::2], replies[1::2], strict=True):
        owner = Owner.from_queue_name(name)
        if owner is None:
            continue
        if not length:
            connection.eval(_FORGET_IF_EMPTY, 2, KNOWN_QUEUES.format(base=base), f"rq:queue:{name}", name)
            continue
        waiting.append(_Waiting(owner, name, length, 0.0))
        heads[name] = head.decode() if isinstance(head, bytes) else head
    if heads:
        with connection.pipeline() as pipe:
            for head in heads.values():
                pipe.hget(f"rq:job:{head}", "enqueued_at")
            for item, stamp in zip([w for w in waiting if w.name in heads], pipe.execute(), strict=True):
                item.oldest = _epoch(stamp)
    return waiting


def _epoch(stamp) -> float:
    if not stamp:
        return time.time()
    import datetime as dt

    text = stamp.decode() if isinstance(stamp, bytes) else stamp
    try:
        moment = dt.datetime.fromisoformat(text)
        return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()
    except ValueError:
        return time.time()


def _usages(*, connection, owners: list[Owner], now: float) -> dict[str, float]:
    fields = sorted({f"team:{o.team}" for o in owners if o.team} | {f"competition:{o.competition}" for o in owners})
    if not fields:
        return {}
    return {f: _decayed(raw, now) for f, raw in zip(fields, connection.hmget(USAGE, fields), strict=True)}


def _key(item: _Waiting, usage: dict[str, float]) -> tuple:
    owner = item.owner
    return (owner.klass, usage.get(f"team:{owner.team}", 0.0) if owner.team else 0.0,
            usage.get(f"competition:{owner.competition}", 0.0), item.oldest, item.name)


def queues_in_order(*, connection, base: str, now: float | None = None) -> list[str]:
    """The non-empty queues of ``base``, the one a free worker should take from first."""
    now = time.time() if now is None else now
    waiting = _waiting(connection=connection, base=base)
    usage = _usages(connection=connection, owners=[w.owner for w in waiting], now=now)
    return [w.name for w in sorted(waiting, key=lambda w: _key(w, usage))]


# --------------------------------------------------------------------------- position and estimate


@dataclasses.dataclass(frozen=True)
class Position:
    ahead: int  # jobs the workers will take before this one
    workers: int
    estimated_start: float  # epoch seconds


def position_of(*, connection, base: str, job_id: str, workers: int, now: float | None = None) -> Position | None:
    """Where job ``job_id`` stands, simulating the fair order: each job taken charges its owner
    the mean run time. ``None`` when the job waits in none of the base's queues."""
    now = time.time() if now is None else now
    waiting = _waiting(connection=connection, base=base)
    target = None
    for item in waiting:
        ids = [i.decode() if isinstance(i, bytes) else i for i in connection.lrange(f"rq:queue:{item.name}", 0, -1)]
        if job_id in ids:
            target = (item.name, ids.index(job_id))
    if target is None:
        return None
    mean = run_seconds(connection=connection, base=base)
    usage = _usages(connection=connection, owners=[w.owner for w in waiting], now=now)
    remaining = {w.name: w.length for w in waiting}
    taken = {w.name: 0 for w in waiting}
    by_name = {w.name: w for w in waiting}
    heap = [(_key(w, usage), w.name) for w in waiting]
    heapq.heapify(heap)
    ahead = 0
    while heap:
        _, name = heapq.heappop(heap)
        if name == target[0] and taken[name] == target[1]:
            break
        ahead += 1
        taken[name] += 1
        remaining[name] -= 1
        owner = by_name[name].owner
        if owner.team:
            usage[f"team:{owner.team}"] = usage.get(f"team:{owner.team}", 0.0) + mean
        usage[f"competition:{owner.competition}"] = usage.get(f"competition:{owner.competition}", 0.0) + mean
        if remaining[name]:
            heapq.heappush(heap, (_key(by_name[name], usage), name))
    workers = max(1, workers)
    return Position(ahead=ahead, workers=workers, estimated_start=now + math.ceil(ahead / workers) * mean)
