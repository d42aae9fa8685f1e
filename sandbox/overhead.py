"""Measure a backend's per-run overhead on trivial programs.

    python -m sandbox.overhead [--runs 20] [--backend docker|process] [--image IMAGE]

Prints the median wall time of one run for ``true`` and ``python3 -c pass`` and, for the
docker backend, of ``docker run --rm --network none IMAGE true`` as the engine's floor.
Overhead is the run's total time minus the program's own ``wall_seconds``. The docker backend
is measured twice: ``cold`` creates and starts a container per run, ``spare`` runs in the
container started after the previous run (what a worker does; see sandbox/docker_spares.py).
Between runs the probe waits, untimed, until removals are done and the spare is up, as a
worker waiting for its next job would.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from .spec import RUNTIME_IMAGE, Limits, RunSpec


def _measure(fn, runs: int) -> list[float]:
    """Median-ready timings of ``fn``; it returns its own duration when it has untimed work."""
    fn()  # warm-up: connection pool, page cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        own = fn()
        times.append(own if isinstance(own, float) else time.perf_counter() - started)
    return times


def _backends(name: str) -> dict[str, object]:
    if name == "docker":
        from .docker_backend import DockerBackend

        return {"docker cold": DockerBackend(spares=False), "docker spare": DockerBackend()}
    from .process_backend import ProcessBackend

    return {"process": ProcessBackend()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backend", default="docker", choices=("docker", "process"))
    parser.add_argument("--image", default=RUNTIME_IMAGE)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "sub").mkdir()
        (root / "in").mkdir()
        for label, backend in _backends(args.backend).items():
            for command in (("true",), ("python3", "-c", "pass")):
                spec = RunSpec(root / "sub", root / "in", command=command, image=args.image,
                               limits=Limits(wall_seconds=30, memory_mb=256))
                programs: list[float] = []

                def once(backend=backend, spec=spec, programs=programs) -> float:
                    out = root / "out"
                    shutil.rmtree(out, ignore_errors=True)
                    started = time.perf_counter()
                    result = backend.run(spec, output_dir=out)
                    elapsed = time.perf_counter() - started
                    assert result.ok, result.message
                    programs.append(result.wall_seconds)
                    if hasattr(backend, "settle"):
                        backend.settle()
                    return elapsed

                totals = _measure(once, args.runs)
                total, program = statistics.median(totals), statistics.median(programs[1:])
                print(f"{label:13} {' '.join(command):16} total {total * 1000:6.0f} ms  "
                      f"program {program * 1000:5.0f} ms  overhead {(total - program) * 1000:6.0f} ms")
            if hasattr(backend, "close"):
                backend.close()
        if args.backend == "docker":
            cli = ["docker", "run", "--rm", "--network", "none", args.image, "true"]
            floor = statistics.median(_measure(lambda: subprocess.run(cli, check=True), args.runs))
            print(f"{'cli':13} {'docker run true':16} total {floor * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
