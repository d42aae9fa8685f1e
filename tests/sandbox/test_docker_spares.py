"""Spare containers: a run in a container started ahead of it sees exactly what a cold run sees,
and no spare outlives its backend."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from sandbox import Limits, RunSpec
from sandbox.docker_backend import DockerBackend

from .conftest import RUNTIME_IMAGE, SMALL

pytestmark = pytest.mark.docker

# Everything a program could use to tell its sandbox apart: who it is, what it may do, what it
# sees and under which limits. Device numbers and container ids are left out (they differ
# between any two containers).
PROBE = """
    import json, os, resource, socket
    def read(path):
        try:
            return open(path).read().split()
        except OSError as exc:
            return type(exc).__name__
    status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines())
    mounts = {}
    for line in open('/proc/self/mountinfo'):
        left, right = line.split(' - ')
        fields, (fstype, source, options) = left.split(), right.split()
        if fields[4] in ('/', '/submission', '/input', '/output', '/tmp', '/dev/shm', '/proc', '/sys'):
            options = [o for o in options.split(',') if not o.startswith(('lowerdir=', 'upperdir=', 'workdir='))]
            mounts[fields[4]] = [fstype, sorted(fields[5].split(',')), sorted(options)]
    def writable(path):
        try:
            open(os.path.join(path, '.w'), 'w').close()
            os.unlink(os.path.join(path, '.w'))
            return True
        except OSError:
            return False
    def tree(path):
        return sorted(os.path.relpath(os.path.join(r, n), path) + ('/' if n in d else '')
                      for r, d, f in os.walk(path) for n in d + f)
    def modes(path):
        return {p: oct(os.stat(os.path.join(path, p)).st_mode) for p in ['.'] + tree(path)}
    print(json.dumps({
        'ids': [os.getuid(), os.geteuid(), os.getgid(), sorted(os.getgroups())],
        'caps': {k: status[k].strip() for k in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp')},
        'env': dict(os.environ), 'cwd': os.getcwd(), 'hostname': socket.gethostname(),
        'interfaces': sorted(os.listdir('/sys/class/net')),
        'mounts': mounts,
        'writable': {p: writable(p) for p in ('/', '/submission', '/input', '/output', '/tmp', '/etc')},
        'submission': modes('/submission'), 'input': modes('/input'), 'output': tree('/output'),
        'contents': open('/submission/data/notes.txt').read() + open('/input/public.csv').read(),
        'rlimits': [resource.getrlimit(r) for r in (resource.RLIMIT_NOFILE, resource.RLIMIT_CORE)],
        'memory': read('/sys/fs/cgroup/memory/memory.limit_in_bytes') or read('/sys/fs/cgroup/memory.max'),
        'memsw': read('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'),
        'pids': read('/sys/fs/cgroup/pids/pids.max') if os.path.exists('/sys/fs/cgroup/pids') else read('/sys/fs/cgroup/pids.max'),
        'cpu': read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us') if os.path.exists('/sys/fs/cgroup/cpu') else read('/sys/fs/cgroup/cpu.max'),
    }, sort_keys=True))
    open('/output/result.txt', 'w').write(os.environ['ARENA_SEED'])
"""


def _spec(root: Path, seed: str, limits: Limits = SMALL) -> RunSpec:
    sub, inp = root / "submission", root / "input"
    (sub / "data").mkdir(parents=True, mode=0o755)
    inp.mkdir()
    (sub / "main.py").write_text(textwrap.dedent(PROBE))
    (sub / "data" / "notes.txt").write_text("notes\n")
    (inp / "public.csv").write_text("id,age\n1,42\n")
    for path in (sub / "main.py", sub / "data" / "notes.txt", inp / "public.csv"):
        os.chmod(path, 0o644)
    os.chmod(sub, 0o755)
    os.chmod(inp, 0o755)
    os.chmod(root, 0o755)
    return RunSpec(sub, inp, image=RUNTIME_IMAGE, limits=limits,
                   env={"ARENA_TASK": "test", "ARENA_ROLE": "attack", "ARENA_INPUT": "/input",
                        "ARENA_OUTPUT": "/output", "ARENA_SEED": seed})


def _report(result) -> dict:
    assert result.ok, (result.message, result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


class _Taken:
    """Records which spare (if any) each run of a backend took; the pool itself is real."""

    def __init__(self, backend: DockerBackend):
        self.spares: list = []
        pool = backend._spare_pool()
        assert pool is not None, "this backend keeps no spares"
        take = pool.take

        def recording(spec, *, wait):
            spare = take(spec, wait=wait)
            self.spares.append(spare)
            return spare

        pool.take = recording  # type: ignore[method-assign]  # wraps the real pool's take to record each run's spare


def _exists(client, container_id: str) -> bool:
    import docker.errors

    try:
        client.containers.get(container_id)
        return True
    except docker.errors.NotFound:
        return False


def test_a_run_in_a_spare_sees_exactly_what_a_cold_run_sees(docker_engine, tmp_path):
    cold, warm = DockerBackend(spares=False), DockerBackend()
    taken = _Taken(warm)
    try:
        reference = _report(cold.run(_spec(tmp_path / "cold", "7"), output_dir=tmp_path / "out-cold"))
        first = warm.run(_spec(tmp_path / "first", "7"), output_dir=tmp_path / "out-first")
        result = warm.run(_spec(tmp_path / "spare", "7"), output_dir=tmp_path / "out-spare")
        assert taken.spares[0] is None and taken.spares[1] is not None  # the second run had a spare
        assert _report(first) == reference
        assert _report(result) == reference
        assert reference["output"] == [] and reference["ids"] == [65534, 65534, 65534, [65534]]
        assert result.output_files == {"result.txt": 1} and (tmp_path / "out-spare" / "result.txt").read_text() == "7"
        spare = taken.spares[1]
        cold.close()
        warm.close()
        assert not _exists(docker_engine, spare.container)
        assert not spare.root.exists()
        # The spare started after the last run is gone too.
        assert warm._spares._spare is None
    finally:
        cold.close()
        warm.close()


def test_a_spare_of_another_shape_is_not_used(docker_engine, tmp_path):
    backend = DockerBackend()
    taken = _Taken(backend)
    try:
        backend.run(_spec(tmp_path / "a", "1"), output_dir=tmp_path / "out-a")
        bigger = Limits(**{**SMALL.__dict__, "memory_mb": 320})
        result = backend.run(_spec(tmp_path / "b", "1", bigger), output_dir=tmp_path / "out-b")
        assert taken.spares == [None, None]
        assert _report(result)["memory"] == ["335544320"]
    finally:
        backend.close()


def test_a_spare_that_died_while_idle_is_replaced_by_a_cold_start(docker_engine, tmp_path):
    backend = DockerBackend()
    taken = _Taken(backend)
    try:
        backend.run(_spec(tmp_path / "a", "1"), output_dir=tmp_path / "out-a")
        pool = backend._spare_pool()
        spare = pool.take(_spec(tmp_path / "peek", "1"), wait=60)  # wait for it, then give it back
        assert spare is not None
        pool._spare = spare
        docker_engine.containers.get(spare.container).remove(force=True)
        result = backend.run(_spec(tmp_path / "b", "2"), output_dir=tmp_path / "out-b")
        assert taken.spares[-1] is spare
        assert _report(result)["env"]["ARENA_SEED"] == "2"
        backend.wait_for_cleanup()
        assert not spare.root.exists()
    finally:
        backend.close()


def test_a_tree_that_cannot_be_linked_runs_cold_and_the_spare_is_removed(docker_engine, tmp_path):
    backend = DockerBackend()
    taken = _Taken(backend)
    try:
        backend.run(_spec(tmp_path / "a", "1"), output_dir=tmp_path / "out-a")
        spec = _spec(tmp_path / "b", "1")
        os.symlink("data/notes.txt", spec.submission_dir / "link.txt")
        result = backend.run(spec, output_dir=tmp_path / "out-b")
        assert _report(result)["submission"]["link.txt"].startswith("0o100")  # followed: a cold bind shows the link
        spare = taken.spares[-1]
        assert spare is not None
        backend.wait_for_cleanup()
        assert not _exists(docker_engine, spare.container) and not spare.root.exists()
    finally:
        backend.close()


def test_a_killed_workers_spare_and_its_folder_are_removed_by_the_leftover_cleanup(docker_engine, tmp_path):
    """A worker killed with a spare waiting leaves a container and a private folder of hard links
    (to hidden input, in a real run); the start-up cleanup removes both."""
    from sandbox.docker_backend import LABEL_DEADLINE, cleanup_leftovers

    backend = DockerBackend()
    try:
        backend.run(_spec(tmp_path / "a", "1"), output_dir=tmp_path / "out-a")
        pool = backend._spare_pool()
        spare = pool.take(_spec(tmp_path / "peek", "1"), wait=60)
        assert spare is not None and spare.root.exists()
        # As if the worker died now: a spare within its deadline is still someone's and stays ...
        deadline = float(docker_engine.containers.get(spare.container).labels[LABEL_DEADLINE])
        cleanup_leftovers(docker_engine, now=deadline - 60)
        assert _exists(docker_engine, spare.container) and spare.root.exists()
        # ... and once it is past, the start-up cleanup takes the container and its folder.
        cleanup_leftovers(docker_engine, now=deadline + 1)
        assert not _exists(docker_engine, spare.container)
        assert not spare.root.exists()
    finally:
        backend.close()
