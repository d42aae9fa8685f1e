"""What becomes of every submission when workers, Redis, PostgreSQL or the engine fail.

For each fault, a batch of ``--size`` good code submissions (default 40, two teams, default
limits: 600 s of wall time) goes through the API of a production-shaped stack — its own
PostgreSQL and Redis, two daphne processes, ``--workers`` real ``manage.py evaluation_worker``
processes, the reaper every 5 s, the machine's Docker engine — the fault is injected
while programs run, and the table says, per fault: submissions, lost, stuck, run twice at once,
wrongly failed, wrongly charged, and the recovery time (from the fault until the work it
interrupted ran again). Then the fair-share line: one team holds 100 queued submissions, how
long does another team's first one wait, in runs?

The stack and the faults are the fault suite's (tests/faults/). Needs root (PostgreSQL runs as
the postgres user), PostgreSQL 15's server binaries, redis-server and a Docker engine with the
runtime image.

Run: `.venv/bin/python benchmarks/faults.py [--size 40] [--workers 2] [--only redis_restart,...]`
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

FAULTS = ["worker_kill_one", "worker_kill_all", "redis_restart", "postgres_restart", "upload_while_redis_down",
          "engine_gone", "container_killed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=40, help="submissions per fault")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sleep", type=float, default=2.0, help="seconds each program runs")
    parser.add_argument("--upload-size", type=int, default=10,
                        help="submissions sent while Redis is down (each waits for the push to give up)")
    parser.add_argument("--only", default="", help=f"comma-separated faults among {', '.join(FAULTS)}, fair_share")
    args = parser.parse_args()
    chosen = [f for f in (args.only.split(",") if args.only else [*FAULTS, "fair_share"]) if f]
    unknown = set(chosen) - {*FAULTS, "fair_share"}
    if unknown:
        parser.error(f"--only: unknown fault(s) {', '.join(sorted(unknown))}")

    from tests.faults import scenarios
    from tests.faults.stack import Stack

    stack = Stack(web_processes=2)
    print(f"starting the stack in {stack.base} …", flush=True)
    stack.start()
    rows = []
    header = f"{'fault':32} {'submissions':>11} {'lost':>5} {'stuck':>6} {'run twice':>9} {'wrongly failed':>14} " \
             f"{'wrongly charged':>15} {'recovery':>9}"
    try:
        for fault in chosen:
            stack.reset()
            with tempfile.TemporaryDirectory(prefix="arena-faults-bench-") as tmp:
                started = time.monotonic()
                if fault == "fair_share":
                    outcome = scenarios.fair_share(stack, Path(tmp), sleep=args.sleep)
                    n = outcome.notes
                    rows.append(f"fair share: with one team holding 100 queued submissions, another team's first one "
                                f"started {n['waited']:.1f} s after it was accepted = {n['waited'] / n['run']:.2f} runs "
                                f"(a run: {n['run']:.1f} s; {n['taken before']} queued ones went first; the API said position "
                                f"{n['detail'].get('queue_position')})")
                    print(rows[-1], flush=True)
                    continue
                kwargs = {"size": args.upload_size if fault == "upload_while_redis_down" else args.size, "sleep": args.sleep}
                if fault not in ("engine_gone", "container_killed"):
                    kwargs["workers"] = args.workers
                outcome = getattr(scenarios, fault)(stack, Path(tmp), **kwargs)
            v = outcome.verdict
            recovery = "-" if outcome.recovery is None else f"{outcome.recovery:.1f} s"
            twice = len(set(v.run_twice) | set(v.duplicate_scores) | set(v.requeued_after_end))
            rows.append(f"{outcome.fault:32} {v.submissions:>11} {len(v.lost):>5} {len(v.stuck):>6} {twice:>9} "
                        f"{len(v.wrongly_failed):>14} {len(v.wrongly_charged):>15} {recovery:>9}")
            print(f"{rows[-1]}   ({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        stack.close()
    print()
    print(f"batches of {args.size} code submissions (programs of {args.sleep:g} s), {args.workers} workers, default limits")
    print("'run twice' counts submissions evaluated twice at once, scored twice, or queued again after they ended")
    print(header)
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
