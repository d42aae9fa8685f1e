"""Platform overhead per evaluation, and throughput with 1 vs 2 workers.

For a trivial code submission this prints, side by side in one run:
- the median time from upload (API POST) to scores visible over the API,
- the median run time of the container itself (the sandbox's wall time),
- their difference: the platform overhead, and where it goes stage by stage,
- `docker run --rm --network none IMAGE true` for reference,
then evaluations per minute with N queued submissions drained by 1 and by 2 workers, with the
CPU time the workers and the whole machine spent per evaluation and how busy the machine was
meanwhile (on a shared machine other people's work shows there, and caps what a second worker
can add), and the ceiling the cores set: every core busy at that CPU per evaluation. One worker
already keeps more than one core busy (the engine starts the next container and removes the
last one while the worker scores), so on a machine with few cores the ceiling, not the
workers, decides the 1 vs 2 ratio.

Overhead submissions go one at a time to an idle worker, ``--gap`` seconds apart (1 s: a
worker waiting for its next upload, as on a live server; 0 submits back to back).

The uploader learns that a submission is done the way a browser does: from the status
event on the submission's channel group (what ``/ws/submissions/{id}/`` relays), then reads
the scores over the API once. It does not poll, so it takes no CPU from the workers.

Services: a Docker engine with the runtime image, and Redis for RQ and the channel layer
(``BENCH_REDIS_URL``, else ``REDIS_URL`` with database 15, else redis://127.0.0.1:6379/15; that
database is flushed). With ``DATABASE_URL`` pointing at PostgreSQL the run uses a throw-away
database created next to it (and dropped after); without it, a throw-away SQLite file. Workers
are real ``manage.py evaluation_worker`` processes.

Run: `.venv/bin/python benchmarks/evaluation_overhead.py [--repeats 15] [--queued 24] [--workers 1,2]`
(``--workers 1,2,4,8`` on a machine with the cores for it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRIVIAL = '''
import csv, os
out = os.environ["ARENA_OUTPUT"]
with open(os.environ["ARENA_INPUT"] + "/candidates.csv") as fh, open(out + "/predictions.csv", "w") as w:
    w.write("candidate_id,score\\n")
    for row in csv.DictReader(fh):
        w.write(row["candidate_id"] + ",0.5\\n")
'''

DONE = ("finished", "failed")


def _redis_url() -> str:
    if os.environ.get("BENCH_REDIS_URL"):
        return os.environ["BENCH_REDIS_URL"]
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, "/15", "", ""))  # a database of its own


@contextlib.contextmanager
def _database(var: Path):
    """A throw-away database: PostgreSQL next to DATABASE_URL's when that is set, else SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{var / 'bench.sqlite3'}", "SQLite (a throw-away file)"
        return
    import psycopg

    parts = urlsplit(url)
    name = f"arena_bench_{os.getpid()}"
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, "")), f"PostgreSQL (throw-away database {name})"
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _setup_environment(var: Path, database_url: str, redis_url: str) -> None:
    (var / "static").mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DJANGO_DEBUG"] = "false"  # as in production: no query log, no debug pages
    os.environ["ARENA_VAR_DIR"] = str(var)
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    os.environ["ARENA_EVALUATION_MODE"] = "rq"
    os.environ["ARENA_SANDBOX_BACKEND"] = "docker"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _competition(tmp: Path):
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from competitions.services import competition_import, team_create
    from tests.factories import bundle_membership, code_archive

    competition = competition_import(
        path=bundle_membership(tmp / "bundle", slug="bench", candidates=200),
        replace=True,
    )
    competition.phases.update(max_submissions_per_day=100_000, max_submissions_total=None)
    user = get_user_model().objects.create_user("bench", password="bench-password-long")
    team_create(competition=competition, user=user, name="Bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client, code_archive(tmp / "trivial.zip", TRIVIAL)


def _submit(client, archive: Path) -> int:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/api/v1/competitions/bench/submissions/",
                           {"file": SimpleUploadedFile("trivial.zip", archive.read_bytes())}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["id"]


class _Watcher:
    """Listens on submissions' channel groups, as the submission websocket does for a browser."""

    def __init__(self):
        from channels.layers import get_channel_layer

        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="bench-watcher", daemon=True).start()
        self._layer = get_channel_layer()
        self._channel = self._call(self._layer.new_channel())

    def _call(self, coro, timeout: float | None = None):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def follow(self, submission_id: int) -> None:
        from submissions.events import submission_group

        self._call(self._layer.group_add(submission_group(submission_id), self._channel))

    def next_status(self, timeout: float) -> tuple[int, str] | None:
        async def receive():
            try:
                return await asyncio.wait_for(self._layer.receive(self._channel), timeout)
            except asyncio.TimeoutError:
                return None

        message = self._call(receive())
        if message is None:
            return None
        return message["submission"]["id"], message["submission"]["status"]


def _scores_visible(client, pk: int) -> bool:
    body = client.get(f"/api/v1/submissions/{pk}/").json()
    if body["status"] == "failed":
        raise SystemExit(f"submission {pk} failed: {body['error']}")
    return body["status"] == "finished" and bool(body["public_scores"])


def _wait_finished(client, watcher: _Watcher, ids: list[int], timeout: float = 600) -> float:
    """Time (monotonic) at which the last of ``ids`` had its scores visible over the API."""
    deadline = time.monotonic() + timeout
    pending = set(ids)
    for pk in ids:  # anything that ended before we listened is read now
        if _scores_visible(client, pk):
            pending.discard(pk)
    while pending and time.monotonic() < deadline:
        event = watcher.next_status(timeout=2.0)
        if event is None:  # nothing heard for a while (a push lost?): read the API once
            pending -= {pk for pk in list(pending) if _scores_visible(client, pk)}
            continue
        pk, status = event
        if pk in pending and status in DONE and _scores_visible(client, pk):
            pending.discard(pk)
    if pending:
        raise SystemExit(f"timed out waiting for {sorted(pending)}")
    return time.monotonic()


def _start_workers(count: int, env: dict, redis_url: str) -> list[subprocess.Popen]:
    from redis import Redis
    from rq import Worker

    connection = Redis.from_url(redis_url)
    before = {w.name for w in Worker.all(connection=connection)}
    names = [f"bench-{os.getpid()}-{i}-{time.time_ns()}" for i in range(count)]
    procs = [
        subprocess.Popen([sys.executable, "manage.py", "evaluation_worker", "cpu", "--name", name],
                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in names
    ]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until every worker is up and waiting for work
        ready = [w for w in Worker.all(connection=connection) if w.name in names and w.get_state() == "idle"]
        if len(ready) == count:
            return procs
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a worker exited while starting; run `manage.py evaluation_worker cpu` to see why")
        time.sleep(0.1)
    raise SystemExit(f"workers did not start within 120 s (already registered: {sorted(before)})")


def _stop_workers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait()


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and of the children it waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over all cores."""
    # user nice system idle iowait irq softirq steal; guest time is already counted in user.
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK"), sum(values) / os.sysconf("SC_CLK_TCK")


def _stages(pk: int, posted: float, answered: float, seen: float) -> dict[str, float]:
    """Where one evaluation's time went, from the rows' timestamps (one clock: this machine)."""
    from submissions.models import Run, Submission

    sub = Submission.objects.get(pk=pk)
    run = Run.objects.get(submission_id=pk)
    t = lambda moment: moment.timestamp()  # noqa: E731
    return {
        "upload request (POST until 201)": answered - posted,
        "queue (201 until a worker starts it)": t(sub.started) - answered,
        "worker before the run (data, unpack, input)": t(run.started) - t(sub.started),
        "sandbox around the program": (t(run.finished) - t(run.started)) - run.wall_seconds,
        "program (container's own run time)": run.wall_seconds,
        "validate, score, save": t(sub.finished) - t(run.finished),
        "commit until scores read over the API": seen - t(sub.finished),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--queued", type=int, default=24)
    parser.add_argument("--gap", type=float, default=1.0, help="idle seconds between overhead submissions")
    parser.add_argument("--workers", default="1,2",
                        help="worker counts to drain the queue with, comma-separated (1 always runs first)")
    args = parser.parse_args()
    try:
        counts = sorted({1, *(int(n) for n in args.workers.split(","))})
    except ValueError:
        parser.error(f"--workers: expected worker counts such as 1,2,4, got {args.workers!r}")
    if counts[0] < 1:
        parser.error("--workers: a worker count must be at least 1")
    redis_url = _redis_url()

    with tempfile.TemporaryDirectory(prefix="arena-bench-") as tmp_name, _database(Path(tmp_name) / "var") as (database_url, database):
        tmp = Path(tmp_name)
        _setup_environment(tmp / "var", database_url, redis_url)
        from django.conf import settings
        from django.test import override_settings
        from redis import Redis

        from evaluation.queue import evaluation_enqueue
        from submissions.models import Run

        Redis.from_url(redis_url).flushdb()
        client, archive = _competition(tmp)
        env = {**os.environ}
        watcher = _Watcher()
        print(f"database: {database}")
        print(f"queue and channel layer: Redis at {redis_url}, {settings.ARENA_EVALUATION_MODE} workers "
              f"(manage.py evaluation_worker), sandbox backend {settings.ARENA_SANDBOX_BACKEND}")

        # 1. Overhead: one warm, idle worker, one submission at a time.
        workers = _start_workers(1, env, redis_url)
        try:
            pk = _submit(client, archive)  # warm-up: first container, first scoring
            watcher.follow(pk)
            _wait_finished(client, watcher, [pk])
            totals: list[float] = []
            runs: list[float] = []
            stages = []
            for _ in range(args.repeats):
                time.sleep(args.gap)
                posted, started = time.time(), time.monotonic()
                pk = _submit(client, archive)
                answered = time.time()
                watcher.follow(pk)
                done = _wait_finished(client, watcher, [pk])
                seen = time.time()
                totals.append(done - started)
                wall = Run.objects.get(submission_id=pk).wall_seconds
                assert wall is not None, f"#{pk} finished without a timed run"
                runs.append(wall)
                stages.append(_stages(pk, posted, answered, seen))
        finally:
            _stop_workers(workers)

        image = os.environ.get("ARENA_RUNTIME_IMAGE", "anomed-arena-runtime:latest")
        bare = []
        for _ in range(args.repeats):
            started = time.monotonic()
            subprocess.run(["docker", "run", "--rm", "--network", "none", image, "true"], check=True, capture_output=True)
            bare.append(time.monotonic() - started)

        overheads = [t - r for t, r in zip(totals, runs, strict=True)]
        print(f"evaluations measured:                {args.repeats}")
        print(f"median upload → scores over the API: {statistics.median(totals):.3f} s")
        print(f"median container run time:           {statistics.median(runs):.3f} s")
        print(f"median platform overhead:            {statistics.median(overheads):.3f} s   (target ≤ 0.5 s)")
        print(f"median `docker run --rm --network none IMAGE true`: {statistics.median(bare):.3f} s")
        print("where the time goes (medians of each stage; they need not add up to the total):")
        for name in stages[0]:
            print(f"  {name:45} {statistics.median(s[name] for s in stages) * 1000:7.0f} ms")

        # 2. Throughput: N submissions queued while the workers wait idle, then drained.
        rates, machine_cpu = {}, {}
        for count in counts:
            with override_settings(ARENA_EVALUATION_MODE="manual"):  # stored and recorded, not yet queued
                ids = [_submit(client, archive) for _ in range(args.queued)]
            for pk in ids:
                watcher.follow(pk)
            workers = _start_workers(count, env, redis_url)
            try:
                cpu_before, busy_before = sum(_cpu_seconds(w.pid) for w in workers), _machine_busy()
                started = time.monotonic()
                for pk in ids:
                    evaluation_enqueue(submission_id=pk)
                done = _wait_finished(client, watcher, ids)
                cpu = sum(_cpu_seconds(w.pid) for w in workers) - cpu_before
                busy, total = (after - before for after, before in zip(_machine_busy(), busy_before, strict=True))
            finally:
                _stop_workers(workers)
            rates[count] = args.queued / (done - started) * 60
            cores = os.cpu_count() or 1
            machine_cpu[count] = busy / args.queued
            print(f"{count} worker(s): {args.queued} evaluations in {done - started:.1f} s = {rates[count]:.1f} evaluations/min  "
                  f"(CPU per evaluation: workers {cpu / args.queued * 1000:.0f} ms, whole machine "
                  f"{machine_cpu[count] * 1000:.0f} ms; machine busy {busy / total * cores:.2f} of {cores} cores)")
        for count in counts[1:]:
            target = "   (target ≥ 1.7×)" if count == 2 else ""
            print(f"speed-up with {count} workers: {rates[count] / rates[1]:.2f}×{target}")
        # What the cores allow: every core busy at the machine CPU per evaluation measured with
        # the most workers. One worker already overlaps the engine's work (spare start, removal)
        # with its own, so the idle cores it leaves, not the workers, bound what more can add.
        ceiling = cores / machine_cpu[counts[-1]] * 60
        print(f"ceiling on {cores} cores at that CPU per evaluation: {ceiling:.0f} evaluations/min = "
              f"{ceiling / rates[1]:.2f}× one worker")

if __name__ == "__main__":
    main()
