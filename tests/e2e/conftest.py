"""End-to-end tests use the real engine, Redis and runtime image; CI fails when one is missing."""

from __future__ import annotations

import os

import pytest

from tests.sandbox.conftest import _docker_problem


def _require(problem: str | None) -> None:
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI requires it: {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="session")
def docker_ready():
    _require(_docker_problem())


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL")
    if not url:
        _require("REDIS_URL is not set (a Redis server is needed for RQ)")
    from redis import Redis

    try:
        Redis.from_url(url).ping()
    except Exception as exc:  # noqa: BLE001
        _require(f"Redis at {url} does not answer ({exc})")
    return url


@pytest.fixture
def rq_setup(settings, redis_url, docker_ready):
    """Evaluation through RQ into the Docker sandbox, on emptied queues; the Redis URL."""
    from redis import Redis
    from rq import Queue

    settings.REDIS_URL = redis_url
    settings.ARENA_EVALUATION_MODE = "rq"
    settings.ARENA_SANDBOX_BACKEND = "docker"
    from evaluation import fair_queue

    connection = Redis.from_url(redis_url)
    for name in ["cpu", *fair_queue.known_queue_names(connection=connection, base="cpu")]:
        Queue(name, connection=connection).empty()
    return redis_url
