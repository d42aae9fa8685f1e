"""The real services the suite runs against. In CI (CI set) a missing service fails, never skips."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

IN_CI = bool(os.environ.get("CI"))


@pytest.mark.django_db
def test_database_is_postgresql_in_ci():
    if not IN_CI:
        pytest.skip("outside CI the embedded SQLite default is fine")
    assert connection.vendor == "postgresql", "CI must run the suite against PostgreSQL (DATABASE_URL)"
    with connection.cursor() as cursor:
        cursor.execute("select version()")
        assert "PostgreSQL" in cursor.fetchone()[0]


def test_redis_is_used_in_ci():
    if not IN_CI:
        pytest.skip("outside CI the in-memory channel layer is fine")
    assert settings.REDIS_URL, "CI must set REDIS_URL"
    from redis import Redis

    client = Redis.from_url(settings.REDIS_URL)
    assert client.ping()
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"


def test_channel_layer_round_trip():
    """A message sent to a group arrives: the layer the websockets use really works."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def round_trip():
        channel = await layer.new_channel()
        await layer.group_add("service-check", channel)
        await layer.group_send("service-check", {"type": "ping", "value": 42})
        message = await layer.receive(channel)
        await layer.group_discard("service-check", channel)
        return message

    # In a thread of its own: other tests may leave an event loop running in this one.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(async_to_sync(round_trip)).result(timeout=30) == {"type": "ping", "value": 42}
