"""Fixtures for the sandbox suite: real backends, small limits, and a health check after each run.

Docker tests need a reachable engine and the runtime image (sandbox/runtime/build). Outside
CI they are skipped with the reason; with ``CI`` set their absence fails the suite, so a
broken CI machine can never pass by skipping the escape tests.
"""

from __future__ import annotations

import json
import os
import textwrap
import uuid
from pathlib import Path

import pytest

import sandbox
from sandbox import RUNTIME_IMAGE, Limits, RunResult, RunSpec
from sandbox.docker_backend import LABEL
from sandbox.process_backend import ProcessBackend
from sandbox.runner import backend_instance

SMALL = Limits(wall_seconds=5, memory_mb=256, cpus=1.0, pids=64, open_files=256,
               output_mb=4, tmp_mb=8, log_bytes=64 * 1024)


def _docker_problem() -> str | None:
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine"
        return f"no Docker engine answers ({exc}); run .ci/start-docker"
    try:
        client.images.get(RUNTIME_IMAGE)
    except Exception:
        return f"image {RUNTIME_IMAGE} is missing; run sandbox/runtime/build"
    return None


@pytest.fixture(scope="session")
def docker_engine():
    problem = _docker_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI requires the Docker backend: {problem}")
        pytest.skip(problem)
    import docker

    return docker.from_env(timeout=30)


@pytest.fixture(scope="session")
def process_ready():
    if not ProcessBackend().available():
        if os.environ.get("CI"):
            pytest.fail("CI requires the process backend (bubblewrap, or unshare as root)")
        pytest.skip("neither bubblewrap nor unshare-as-root is usable here")


@pytest.fixture(params=[pytest.param("docker", marks=pytest.mark.docker), pytest.param("docker-cold", marks=pytest.mark.docker),
                        "process", "process-unshare"])
def backend(request, monkeypatch) -> str:
    """The backend name a test runs on. ``docker`` runs every program in a spare container
    (started ahead of the run, see sandbox/docker_spares.py) and reads /output in place on the
    host, ``docker-cold`` runs in a container created for the run and reads /output through
    the engine's archive endpoint;
    ``process-unshare`` forces the process backend's fallback (used where bubblewrap is
    missing), which needs root."""
    if request.param.startswith("docker"):
        request.getfixturevalue("docker_engine")
        monkeypatch.setattr(backend_instance("docker"), "_use_spares", request.param == "docker")
        if request.param == "docker-cold":  # and /output through the archive endpoint, as for a remote engine
            monkeypatch.setattr(backend_instance("docker"), "_output_on_host", lambda api, container: None)
        return "docker"
    request.getfixturevalue("process_ready")
    if request.param == "process-unshare":
        if os.geteuid() != 0:
            pytest.skip("the unshare fallback needs root")
        monkeypatch.setattr(backend_instance("process"), "_method", "unshare")
    return "process"


@pytest.fixture
def docker_backend(docker_engine) -> str:
    return "docker"


class Runner:
    """Writes a submission, runs it on one backend, and checks the backend afterwards."""

    def __init__(self, backend: str, root: Path):
        self.backend = backend
        self.root = root
        self.input_dir = root / "input"
        self.input_dir.mkdir(mode=0o755)
        (self.input_dir / "public.csv").write_text("id,age\n1,42\n")
        os.chmod(self.input_dir / "public.csv", 0o644)
        os.chmod(root, 0o755)
        self.runs = 0
        # Other test sessions may share the engine: find this test's containers by its own label.
        self.test_label = uuid.uuid4().hex

    def __call__(self, source: str, *, limits: Limits = SMALL, env: dict | None = None,
                 command: tuple[str, ...] = ("python3", "main.py"), files: dict | None = None) -> RunResult:
        self.runs += 1
        sub = self.root / f"submission{self.runs}"
        sub.mkdir(mode=0o755)
        (sub / "main.py").write_text(textwrap.dedent(source))
        for name, content in (files or {}).items():
            (sub / name).write_text(content)
        for path in sub.iterdir():
            os.chmod(path, 0o644)
        self.output_dir = self.root / f"output{self.runs}"
        spec = RunSpec(submission_dir=sub, input_dir=self.input_dir, command=command,
                       env={"ARENA_TASK": "test", "ARENA_ROLE": "attack", "ARENA_INPUT": "/input",
                            "ARENA_OUTPUT": "/output", "ARENA_SEED": "1", **(env or {})},
                       limits=limits, image=RUNTIME_IMAGE,
                       labels={"org.anomed-arena.test": self.test_label})
        docker = backend_instance("docker")
        if self.backend == "docker" and docker._use_spares:
            docker._spare_pool().replenish(spec)  # every run of the ``docker`` param in a spare
        return sandbox.run(spec, output_dir=self.output_dir, backend=self.backend)

    def report(self, result: RunResult) -> dict:
        """The JSON object a probe program printed as its last stdout line."""
        lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
        assert lines, f"no report from the program: stdout={result.stdout!r} stderr={result.stderr!r}"
        return json.loads(lines[-1])


def assert_ready(runner: Runner) -> None:
    """A trivial program must work right after whatever the previous run did."""
    result = runner("open('/output/ok.txt', 'w').write('ok')\n")
    assert result.ok, (result.failure, result.message, result.stderr)
    assert result.output_files == {"ok.txt": 2}


def leftovers(client, runner: Runner) -> list:
    selector = {"label": [LABEL, f"org.anomed-arena.test={runner.test_label}"]}
    return client.containers.list(all=True, filters=selector) + client.volumes.list(filters=selector)


@pytest.fixture
def run(backend, tmp_path):
    runner = Runner(backend, tmp_path)
    yield runner
    assert_ready(runner)
    if backend == "docker":
        import docker

        client = docker.from_env()
        backend_instance("docker").wait_for_cleanup()
        assert leftovers(client, runner) == []


@pytest.fixture
def canary() -> str:
    return f"canary-{uuid.uuid4().hex}"


@pytest.fixture
def _private_storage():
    """The suite-wide autouse fixture configures Django storage; the sandbox needs no Django.

    Overridden here so ``pytest -p no:django tests/sandbox`` runs where Django is absent.
    """
    yield None
