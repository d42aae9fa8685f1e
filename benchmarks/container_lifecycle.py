"""What the Docker engine spends on one sandbox container, step by step.

For the sandbox's own container settings (:func:`sandbox.docker_backend.container_kwargs`) this
prints, per step of a run's container (create, start, exec of a trivial program, pause, remove),
the median wall time and the median CPU time of the whole machine meanwhile, which is where the
engine's work shows (dockerd, containerd, the shim and runc run as processes of their own).

Side by side, interleaved run by run so that a noisy machine affects both alike, the same
settings with the network namespace built by the engine's network controller
(``network_mode="none"`` alone, as ``docker run --network none`` does) instead of by the
container runtime (``network_disabled``, what the sandbox uses): the difference is what that
choice saves per container.

Needs a Docker engine with the runtime image (sandbox/runtime/build). Run on an otherwise idle
machine: `.venv/bin/python benchmarks/container_lifecycle.py [--runs 20]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluation_overhead import _machine_busy  # noqa: E402 - the benchmarks' one reading of /proc/stat

PROGRAM = "import os\nopen('/output/x.csv', 'w').write('a\\n')\n"
STEPS = ("create", "start", "exec trivial program", "pause", "remove")


def _one(api, kwargs: dict, create_args) -> dict[str, tuple[float, float]]:
    """One container through every step; (wall, machine CPU) seconds of each."""
    from sandbox.docker_backend import RUN_USER

    taken = {}

    def step(name, fn):
        cpu, wall = _machine_busy()[0], time.monotonic()
        result = fn()
        taken[name] = (time.monotonic() - wall, _machine_busy()[0] - cpu)
        return result

    name = f"arena-bench-{uuid.uuid4().hex[:12]}"
    container = step("create", lambda: api.create_container(name=name, **create_args({**kwargs, "version": api._version}))["Id"])
    try:
        step("start", lambda: api.start(container))
        time.sleep(0.2)  # as a spare waits for its run: nothing of the start overlaps the exec

        def run_program():
            exec_id = api.exec_create(container, ["python3", "main.py"], user=RUN_USER, workdir="/submission")["Id"]
            api.exec_start(exec_id)
            while api.exec_inspect(exec_id)["Running"]:
                time.sleep(0.005)

        step("exec trivial program", run_program)
        step("pause", lambda: api.pause(container))
    finally:
        step("remove", lambda: api.remove_container(container, force=True, v=True))
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    import docker
    from docker.models.containers import _create_container_args

    from sandbox import RUNTIME_IMAGE, RunSpec
    from sandbox.docker_backend import container_kwargs

    api = docker.from_env(timeout=60).api
    with tempfile.TemporaryDirectory(prefix="arena-bench-") as tmp:
        submission, input_dir = Path(tmp) / "submission", Path(tmp) / "input"
        submission.mkdir()
        input_dir.mkdir()
        (submission / "main.py").write_text(PROGRAM)
        for folder in (tmp, submission, input_dir):
            os.chmod(folder, 0o755)
        os.chmod(submission / "main.py", 0o644)
        spec = RunSpec(submission_dir=submission, input_dir=input_dir, image=RUNTIME_IMAGE)
        sandbox = container_kwargs(spec, run_id="bench")
        variants = {
            "sandbox (runtime-made namespace)": sandbox,
            "engine network controller": {**sandbox, "network_disabled": False},
        }
        samples: dict[str, list[dict[str, tuple[float, float]]]] = {variant: [] for variant in variants}
        _one(api, sandbox, _create_container_args)  # warm-up: image and engine caches
        for _ in range(args.runs):
            for variant, kwargs in variants.items():
                samples[variant].append(_one(api, kwargs, _create_container_args))
                time.sleep(0.1)

    print(f"engine: Docker {docker.from_env().version().get('Version')}, image {RUNTIME_IMAGE}, "
          f"{os.cpu_count()} cores, {args.runs} containers per variant, interleaved")
    print(f"{'step':24}" + "".join(f"{variant:>36}" for variant in variants))
    print(f"{'':24}" + "".join(f"{'wall ms':>22}{'CPU ms':>14}" for _ in variants))
    totals = {variant: 0.0 for variant in variants}
    for name in STEPS:
        line = f"{name:24}"
        for variant in variants:
            wall = statistics.median(run[name][0] for run in samples[variant]) * 1000
            cpu = statistics.median(run[name][1] for run in samples[variant]) * 1000
            totals[variant] += statistics.mean(run[name][1] for run in samples[variant]) * 1000
            line += f"{wall:22.0f}{cpu:14.0f}"
        print(line)
    print(f"{'CPU per container (sum of means)':24}" + "".join(f"{totals[v]:36.0f}" for v in variants))
    base, other = totals.values()
    print(f"the runtime-made namespace saves {other - base:.0f} ms of CPU per container ({1 - base / other:.0%})")


if __name__ == "__main__":
    main()
