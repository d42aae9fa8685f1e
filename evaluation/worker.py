"""The RQ worker that runs evaluation jobs (``manage.py evaluation_worker``).

RQ's default worker forks a fresh child for every job. Here that costs more than it protects:
the child starts without a Docker client (a new connection and an engine info call per job),
opens its own database connection, and ends with ``os._exit``, which also kills the sandbox's
background removal of the run's container and volume before it is done. This worker runs jobs
in its own process, so the client, its connection pool and the removal thread stay warm from
job to job. Isolation between jobs is the sandbox's task, not the worker's: participant code
never runs in this process. A job that hangs is still stopped at its RQ timeout (a signal in
this process), and a worker that dies mid-job is caught by ``stale_runs_reap``.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

from django.conf import settings
from django.db import close_old_connections, connections
from rq import SimpleWorker

log = logging.getLogger(__name__)


class EvaluationWorker(SimpleWorker):
    # Jobs come one after another in one process: keep the database connection between them
    # (checked before reuse) rather than open one per job.
    connection_max_age = 600

    def work(self, *args, **kwargs):
        with _persistent_connections(self.connection_max_age):
            return super().work(*args, **kwargs)

    def execute_job(self, job, queue):
        # As Django does around a request: never start a job on a connection that broke or
        # outlived CONN_MAX_AGE while the worker waited, and leave none in a broken state after it.
        close_old_connections()
        try:
            super().execute_job(job, queue)
        finally:
            close_old_connections()


@contextmanager
def _persistent_connections(max_age: int):
    """Let database connections live ``max_age`` s, health-checked before reuse, while working."""
    changed = {}
    for alias in connections:
        settings_dict = connections[alias].settings_dict
        if "pool" in settings_dict.get("OPTIONS", {}):
            continue  # a pool already keeps its connections
        changed[alias] = {key: settings_dict.get(key) for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
        settings_dict.update(CONN_MAX_AGE=max_age, CONN_HEALTH_CHECKS=True)
    try:
        yield
    finally:
        for alias, saved in changed.items():
            connections[alias].settings_dict.update(saved)


def sandbox_leftovers_remove() -> int:
    """Remove the containers and volumes that runs of killed workers left on this host's engine.

    Only those past their deadline label are touched, so other workers' runs (and their spare
    containers) on the same engine are safe. Returns how many were removed; 0 without an engine.
    """
    if settings.ARENA_SANDBOX_BACKEND not in ("", "docker"):
        return 0
    from sandbox.docker_backend import cleanup_leftovers

    try:
        return cleanup_leftovers()
    except Exception as exc:  # noqa: BLE001 - no engine here: nothing of ours can be left on it
        log.info("no leftover check on the Docker engine: %s", exc)
        return 0
