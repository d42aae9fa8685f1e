"""The fault suite's stack: started once per session, broken and repaired by the tests.

It needs root (to run its PostgreSQL cluster as the ``postgres`` user), PostgreSQL's server
binaries, ``redis-server`` and a Docker engine with the runtime image. Outside CI a missing
piece skips the suite with the reason; with ``CI`` set it fails.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.faults.stack import PG_BIN, Stack
from tests.sandbox.conftest import _docker_problem


def _problem() -> str | None:
    if os.geteuid() != 0:
        return "the fault suite runs its own PostgreSQL as the postgres user: it needs root"
    if not (PG_BIN / "initdb").exists():
        return f"no PostgreSQL server binaries in {PG_BIN} (set ARENA_FAULTS_PG_BIN)"
    if not shutil.which("redis-server"):
        return "redis-server is not installed"
    return _docker_problem()


@pytest.fixture(scope="session")
def stack():
    problem = _problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI requires it: {problem}")
        pytest.skip(problem)
    stack = Stack(web_processes=2)
    try:
        stack.start()
        yield stack
    finally:
        stack.close()


@pytest.fixture
def clean_stack(stack):
    """The stack with every service up, no worker and nothing queued from an earlier test."""
    stack.reset()
    yield stack
    # Shown by pytest only when the test failed: what each process said meanwhile.
    for log in sorted(stack.base.glob("*.log")):
        print(f"----- {log.name} (last lines)\n{log.read_text(errors='replace')[-2500:]}")
        log.write_bytes(b"")
    stack.reset()
