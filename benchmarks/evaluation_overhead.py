"""Platform overhead per evaluation, and throughput with 1 vs 2 workers.

For a trivial code submission this prints, side by side in one run:
- the median time from upload (API POST) to scores visible over the API,
- the median run time of the container itself (the sandbox's wall time),
- their difference: the platform overhead,
- `docker run --rm --network none IMAGE true` for reference,
then evaluations per minute with N queued submissions and 1 vs 2 RQ worker processes.

Needs a Docker engine with the runtime image and a Redis server (REDIS_URL, default
redis://127.0.0.1:6379/15 — a database of its own, flushed). Uses a throw-away SQLite file, so
worker processes see the same data. Run: `.venv/bin/python benchmarks/evaluation_overhead.py`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def _setup_environment(var: Path, redis_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["ARENA_VAR_DIR"] = str(var)
    os.environ["DATABASE_URL"] = f"sqlite:///{var / 'bench.sqlite3'}"
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


def _start_workers(count: int, env: dict) -> list[subprocess.Popen]:
    return [
        subprocess.Popen([sys.executable, "manage.py", "evaluation_worker", "cpu", "--name", f"bench-{os.getpid()}-{i}-{time.time_ns()}"],
                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(count)
    ]


def _wait_finished(client, ids: list[int], timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for pk in list(pending):
            body = client.get(f"/api/v1/submissions/{pk}/").json()
            if body["status"] in ("finished", "failed"):
                if body["status"] == "failed":
                    raise SystemExit(f"submission {pk} failed: {body['error']}")
                if body["public_scores"]:
                    pending.discard(pk)
        if pending:
            time.sleep(0.01)
    if pending:
        raise SystemExit(f"timed out waiting for {sorted(pending)}")
    return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--queued", type=int, default=24)
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="arena-bench-") as tmp_name:
        tmp = Path(tmp_name)
        _setup_environment(tmp / "var", args.redis)
        from redis import Redis

        from submissions.models import Run

        Redis.from_url(args.redis).flushdb()
        client, archive = _competition(tmp)
        env = {**os.environ}

        # 1. Overhead: one warm worker, one submission at a time.
        workers = _start_workers(1, env)
        try:
            _wait_finished(client, [_submit(client, archive)])  # warm-up: imports, first container
            totals, runs = [], []
            for _ in range(args.repeats):
                started = time.monotonic()
                pk = _submit(client, archive)
                done = _wait_finished(client, [pk])
                totals.append(done - started)
                runs.append(Run.objects.get(submission_id=pk).wall_seconds)
        finally:
            for w in workers:
                w.terminate()
                w.wait()

        image = os.environ.get("ARENA_RUNTIME_IMAGE", "anomed-arena-runtime:latest")
        bare = []
        for _ in range(args.repeats):
            started = time.monotonic()
            subprocess.run(["docker", "run", "--rm", "--network", "none", image, "true"], check=True, capture_output=True)
            bare.append(time.monotonic() - started)

        overheads = [t - r for t, r in zip(totals, runs)]
        print(f"evaluations measured:                {args.repeats}")
        print(f"median upload → scores over the API: {statistics.median(totals):.3f} s")
        print(f"median container run time:           {statistics.median(runs):.3f} s")
        print(f"median platform overhead:            {statistics.median(overheads):.3f} s   (target ≤ 0.5 s)")
        print(f"median `docker run --rm --network none IMAGE true`: {statistics.median(bare):.3f} s")

        # 2. Throughput: N queued submissions, then 1 vs 2 workers drain them.
        rates = {}
        for count in (1, 2):
            Redis.from_url(args.redis).delete("rq:queue:cpu")
            ids = [_submit(client, archive) for _ in range(args.queued)]
            started = time.monotonic()
            workers = _start_workers(count, env)
            try:
                done = _wait_finished(client, ids)
            finally:
                for w in workers:
                    w.terminate()
                    w.wait()
            rates[count] = args.queued / (done - started) * 60
            print(f"{count} worker(s): {args.queued} evaluations in {done - started:.1f} s = {rates[count]:.1f} evaluations/min")
        print(f"speed-up with 2 workers: {rates[2] / rates[1]:.2f}×   (target ≥ 1.7×)")


if __name__ == "__main__":
    main()
