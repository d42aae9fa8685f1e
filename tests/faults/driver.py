"""Submits batches through the API the way teams do, and judges what became of every submission.

A :class:`Batch` knows what each team sent and what the API answered; :func:`verdict` reads the
stack's database afterwards (status history from a trigger, runs, scores) and the server's own
view of every team's quota, and counts:

- **lost**: answered 201 but no row, or a row whose upload is gone from storage;
- **stuck**: not finished, failed or cancelled when the batch's time ran out;
- **run twice**: two runs of the same purpose whose times overlap (two attempts at once);
- **duplicate scores**: scored more than once (two successful evaluation runs, or finished twice);
- **wrongly failed**: a good program that ended failed (infrastructure or otherwise);
- **wrongly charged**: counted against the quota without a finished evaluation;
- **finished then requeued**: a finished, failed or cancelled submission that went back to the queue.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import io
import itertools
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.faults.stack import Stack, json_of, wait_for

# A good program: it sleeps a while (so that a fault can land while it runs), then answers.
PROGRAM = '''
import csv, os, time
time.sleep({sleep})
with open(os.environ["ARENA_INPUT"] + "/candidates.csv") as fh, open(os.environ["ARENA_OUTPUT"] + "/predictions.csv", "w") as w:
    w.write("candidate_id,score\\n")
    for row in csv.DictReader(fh):
        w.write(row["candidate_id"] + ",0.5\\n")
'''

TERMINAL = ("finished", "failed", "cancelled")


def program_archive(*, sleep: float) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("main.py", PROGRAM.format(sleep=sleep) + f"# {uuid.uuid4()}\n")
    return buffer.getvalue()


@dataclass
class Team:
    name: str
    token: str
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self):
        self.session.headers["Authorization"] = f"Token {self.token}"


@dataclass
class Competition:
    slug: str
    teams: list[Team]


def competition_create(stack: Stack, tmp: Path, *, teams: int = 2, per_day: int = 10_000, limits: dict | None = None) -> Competition:
    """A membership-inference competition with code submissions, ``teams`` teams, default limits."""
    from tests.factories import bundle_membership

    slug = f"faults-{uuid.uuid4().hex[:8]}"
    phase = {"name": "development", "start": "2020-01-01T00:00:00Z", "end": None, "max_submissions_per_day": per_day,
             "max_submissions_total": None, "max_final_selections": 1, "max_team_size": 2, "public_fraction": 0.5,
             "limits": limits or {}}
    bundle = bundle_membership(tmp / slug, slug=slug, candidates=60, phases=[phase])
    created = json_of(stack.python(f"""
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from competitions.services import competition_import, team_create
competition = competition_import(path={str(bundle)!r})
tokens = []
for i in range({teams}):
    user = get_user_model().objects.create_user("{slug}-team{{}}".format(i), password="a-long-faults-password")
    team_create(competition=competition, user=user, name="{slug} team {{}}".format(i))
    tokens.append(Token.objects.create(user=user).key)
print(json.dumps(tokens))
"""))
    return Competition(slug=slug, teams=[Team(name=f"team{i}", token=token) for i, token in enumerate(created)])


@dataclass
class Sent:
    team: str
    status_code: int
    submission_id: int | None
    answered: float  # epoch seconds


@dataclass
class Batch:
    stack: Stack
    competition: Competition
    sent: list[Sent] = field(default_factory=list)
    cancelled: set[int] = field(default_factory=set)  # cancelled on purpose by the test

    def submit(self, team: Team, *, sleep: float = 1.0, port: int | None = None) -> Sent:
        port = port or self.stack.web_ports[len(self.sent) % len(self.stack.web_ports)]
        response = team.session.post(
            f"http://127.0.0.1:{port}/api/v1/competitions/{self.competition.slug}/submissions/",
            files={"file": ("program.zip", program_archive(sleep=sleep), "application/zip")}, timeout=60,
        )
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        sent = Sent(team=team.name, status_code=response.status_code,
                    submission_id=body.get("id") if response.status_code == 201 else None, answered=time.time())
        self.sent.append(sent)
        return sent

    def submit_many(self, team: Team, count: int, *, sleep: float = 1.0, parallel: int = 1) -> list[Sent]:
        if parallel <= 1:
            return [self.submit(team, sleep=sleep) for _ in range(count)]
        with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
            return list(pool.map(lambda _: self.submit(team, sleep=sleep), range(count)))

    def cancel(self, team: Team, submission_id: int) -> int:
        response = team.session.post(f"http://127.0.0.1:{self.stack.web_ports[0]}/api/v1/submissions/{submission_id}/cancel/",
                                     timeout=30)
        if response.status_code == 200:
            self.cancelled.add(submission_id)
        return response.status_code

    def detail(self, team: Team, submission_id: int) -> dict:
        return team.session.get(f"http://127.0.0.1:{self.stack.web_ports[0]}/api/v1/submissions/{submission_id}/", timeout=30).json()

    @property
    def accepted(self) -> list[int]:
        return [s.submission_id for s in self.sent if s.submission_id is not None]

    # ------------------------------------------------------------------ reading the database

    def statuses(self) -> dict[int, str]:
        with self.stack.postgres.connect() as conn:
            rows = conn.execute("SELECT id, status FROM submissions_submission WHERE id = ANY(%s)", (self.accepted,))
            return dict(rows.fetchall())

    def wait_settled(self, *, timeout: float) -> float:
        """Wait until every accepted submission is finished, failed or cancelled; when that was (epoch)."""
        def settled():
            try:
                statuses = self.statuses()
            except Exception:  # noqa: BLE001 - PostgreSQL may be restarting
                return False
            return len(statuses) == len(self.accepted) and all(s in TERMINAL for s in statuses.values())

        with_deadline = time.monotonic() + timeout
        while time.monotonic() < with_deadline:
            if settled():
                return time.time()
            time.sleep(0.5)
        return time.time()

    def wait_status(self, submission_id: int, statuses: tuple[str, ...], *, timeout: float) -> float:
        wait_for(lambda: self.statuses().get(submission_id) in statuses, timeout=timeout,
                 what=f"submission {submission_id} to be {'/'.join(statuses)}", every=0.05)
        return time.time()

    def history(self) -> dict[int, list[tuple[str, str, int, float]]]:
        """Per submission: (old, new, attempts, epoch) for every status change, in order."""
        out: dict[int, list] = {pk: [] for pk in self.accepted}
        with self.stack.postgres.connect() as conn:
            for pk, old, new, attempts, at in conn.execute(
                "SELECT submission_id, old, new, attempts, at FROM faults_status_log WHERE submission_id = ANY(%s) ORDER BY id",
                (self.accepted,),
            ):
                out[pk].append((old, new, attempts, at.timestamp()))
        return out


@dataclass
class Verdict:
    submissions: int
    lost: list[int]
    stuck: list[int]
    run_twice: list[int]
    duplicate_scores: list[int]
    wrongly_failed: list[int]
    wrongly_charged: list[int]
    requeued_after_end: list[int]
    history: dict = field(repr=False, default_factory=dict)

    @property
    def losses(self) -> dict[str, list[int]]:
        return {"lost": self.lost, "stuck": self.stuck, "run twice": self.run_twice, "duplicate scores": self.duplicate_scores,
                "wrongly failed": self.wrongly_failed, "wrongly charged": self.wrongly_charged,
                "finished then requeued": self.requeued_after_end}

    def assert_clean(self) -> None:
        bad = {name: ids for name, ids in self.losses.items() if ids}
        assert not bad, f"{bad}\nstatus histories: { {pk: self.history.get(pk) for ids in bad.values() for pk in ids} }"


def verdict(batch: Batch) -> Verdict:
    stack, ids = batch.stack, batch.accepted
    with stack.postgres.connect() as conn:
        rows = {pk: (status, failure, path) for pk, status, failure, path in conn.execute(
            "SELECT id, status, failure_class, storage_path FROM submissions_submission WHERE id = ANY(%s)", (ids,))}
        runs: dict[int, list] = {}
        for pk, purpose, started, finished, failure in conn.execute(
            "SELECT submission_id, purpose, started, finished, failure_class FROM submissions_run WHERE submission_id = ANY(%s)",
            (ids,),
        ):
            runs.setdefault(pk, []).append((purpose, started, finished, failure))
    history = batch.history()
    charged = set(json_of(stack.python(f"""
import json
from submissions.models import Submission
print(json.dumps([s.pk for s in Submission.objects.filter(pk__in={ids!r}) if s.counts_against_quota]))
""")))
    storage = stack.var / "storage"
    lost = [pk for pk in ids if pk not in rows or not (storage / rows[pk][2]).is_file()]
    stuck = [pk for pk in ids if pk in rows and rows[pk][0] not in TERMINAL]
    run_twice, duplicates = [], []
    for pk, found in runs.items():
        sandboxed = sorted((r for r in found if r[3] != "infrastructure" and r[2] is not None), key=lambda r: r[1])
        if any(a[0] == b[0] and b[1] < a[2] for a, b in itertools.pairwise(sandboxed)):
            run_twice.append(pk)
        if sum(1 for r in found if r[0] == "evaluation" and not r[3]) > 1 or \
                sum(1 for change in history.get(pk, []) if change[1] == "finished") > 1:
            duplicates.append(pk)
    wrongly_failed = [pk for pk in ids if pk in rows and rows[pk][0] == "failed"]
    wrongly_charged = [pk for pk in ids if pk in charged and rows.get(pk, ("",))[0] != "finished"]
    requeued = [pk for pk, changes in history.items() if any(old in TERMINAL and new == "queued" for old, new, _, _ in changes)]
    return Verdict(len(ids), lost, stuck, sorted(run_twice), sorted(duplicates), wrongly_failed, wrongly_charged, requeued,
                   history)


def first_change_after(history: dict, moment: float, *, to: str, among: set[int] | None = None) -> float | None:
    """The first time (epoch) after ``moment`` that one of ``among`` changed to status ``to``."""
    times = [at for pk, changes in history.items() if among is None or pk in among
             for _, new, _, at in changes if new == to and at > moment]
    return min(times) if times else None


def utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)
