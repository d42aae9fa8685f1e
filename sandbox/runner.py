"""Choosing a backend and running one spec on it."""

from __future__ import annotations

import os
from pathlib import Path

from .spec import RunResult, RunSpec

BACKENDS = ("docker", "process")

_instances: dict[str, object] = {}
# A forked child gets backends of its own: it must not share the parent's connection pool,
# and the parent's background removal thread does not exist in it.
os.register_at_fork(after_in_child=_instances.clear)


def backend_instance(name: str):
    """This process's instance of the backend ``name`` (``docker`` or ``process``), for callers
    that wait on its background work (``wait_for_cleanup``) or ask what it can do (``method``)."""
    # One instance per backend per process: the Docker client keeps its connection pool and
    # the engine's cgroup layout, which saves round trips on every run.
    if name not in _instances:
        if name == "docker":
            from .docker_backend import DockerBackend

            _instances[name] = DockerBackend()
        elif name == "process":
            from .process_backend import ProcessBackend

            _instances[name] = ProcessBackend()
        else:
            raise ValueError(f"unknown sandbox backend {name!r}; known: {', '.join(BACKENDS)}")
    return _instances[name]


def available_backends(image: str | None = None) -> list[str]:
    """Backends that can run a spec on this machine now, best first.

    ``docker`` counts only when an engine answers (and, with ``image``, has that image).
    """
    found = []
    if backend_instance("docker").available(image):
        found.append("docker")
    if backend_instance("process").available():
        found.append("process")
    return found


def choose_backend(spec: RunSpec, backend: str | None = None) -> str:
    if backend:
        if backend not in BACKENDS:
            raise ValueError(f"unknown sandbox backend {backend!r}; known: {', '.join(BACKENDS)}")
        return backend
    if backend_instance("docker").available(spec.image):
        return "docker"
    return "process"


def run(spec: RunSpec, *, output_dir: Path, backend: str | None = None) -> RunResult:
    """Run ``spec`` in a sandbox and copy its /output into ``output_dir`` (created if needed).

    ``backend`` names one explicitly; otherwise ``docker`` when an engine answers and has the
    spec's image, else ``process``. Failures of the platform come back as a result with
    ``FailureClass.INFRASTRUCTURE``, not as exceptions, so the caller can retry the run.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    name = choose_backend(spec, backend)
    return backend_instance(name).run(spec, output_dir=output_dir)
