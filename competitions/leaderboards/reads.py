"""Anonymous leaderboard reads answered from the cache, in front of Django.

``GET /api/v1/competitions/{slug}/leaderboard/`` is what spectators poll. Once the board is
cached, Django's request cycle (a thread per request, the middleware, DRF) costs several times
what the read itself does. So the ASGI application puts :class:`CachedLeaderboardReads` in
front of Django for this one URL:

* The Django view stays the authority. It answers every request that reaches it, and for an
  anonymous request that it served it records the *route*: which phase, split and task those
  query parameters resolved to. A route holds until the next start or end of one of the
  competition's phases (when the default phase, or whether the private board shows, can
  change), for at most :data:`ROUTE_SECONDS`, and only while the competition's route
  generation is unchanged: editing, publishing or unpublishing, replacing or deleting a
  competition starts a new one (:func:`routes_forget`).
* A later anonymous request with the same parameters is answered here from that route and the
  board's cached JSON (keyed by the phase's board generation, so it is current): three Redis
  reads, no database, no thread. Anything else (a token or a session, an unknown route, a
  board not cached, another method, Redis unreachable) goes to Django exactly as before.
* Private boards are routed only after Django served them to an anonymous request, that is
  once they are visible to everyone.

The response headers are those Django sent for the same URL (learned from its first answer in
this process), so both paths answer alike.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisSerializer
from django.http.request import split_domain_port, validate_host

from competitions.models import Phase

from .generations import board_key, generation_key

log = logging.getLogger(__name__)

ROUTE_SECONDS = 30
_PATH = re.compile(r"^/api/v1/competitions/(?P<slug>[-a-zA-Z0-9_]+)/leaderboard/$")
_SKIPPED_HEADERS = {b"content-length", b"set-cookie", b"date", b"server"}


def _routes_key(slug: str) -> str:
    return f"leaderboard-routes:{slug}"


def _route_key(slug: str, phase: str, split: str, task: str) -> str:
    digest = hashlib.sha256(json.dumps([phase, split, task]).encode()).hexdigest()[:32]
    return f"leaderboard-route:{slug}:{digest}"


def _query(query_string: str) -> tuple[str, str, str]:
    """``phase``, ``split`` and ``task`` as the view reads them (the last value of a repeated one)."""
    params = dict(parse_qsl(query_string, keep_blank_values=True))
    return params.get("phase", "\0default"), params.get("split", "public"), params.get("task", "")


def route_valid_until(*, phases: list[Phase], now: float) -> float:
    """When a route decided now may change: the next phase start or end, at most ROUTE_SECONDS away."""
    until = now + ROUTE_SECONDS
    for phase in phases:
        for moment in (phase.start, phase.end):
            if moment is not None and now < moment.timestamp() < until:
                until = moment.timestamp()
    return until


def route_remember(*, slug: str, query_string: str, phase: Phase, split: str, task: str, phases: list[Phase]) -> None:
    """Record what an anonymous request resolved to, after the view served it (see the module doc)."""
    if not settings.ARENA_LEADERBOARD_FAST_READS:
        return
    now = time.time()
    until = route_valid_until(phases=phases, now=now)
    generation = cache.get(_routes_key(slug))
    if generation is None:
        cache.add(_routes_key(slug), time.time_ns() // 1_000_000, None)
        generation = cache.get(_routes_key(slug))
    route = {"routes": generation, "phase": phase.pk, "split": split, "task": task, "until": until}
    cache.set(_route_key(slug, *_query(query_string)), route, max(1, int(until - now) + 1))


def routes_forget(*, slug: str) -> None:
    """Drop every route of a competition: call when it is edited, (un)published, replaced or deleted."""
    try:
        cache.incr(_routes_key(slug))
    except ValueError:  # no routes recorded
        pass


class CachedLeaderboardReads:
    """ASGI middleware: anonymous leaderboard GETs from the cache, everything else to ``app``."""

    def __init__(self, app):
        self.app = app
        self.headers: list[tuple[bytes, bytes]] | None = None
        self._clients: dict = {}
        self._serializer = RedisSerializer()
        self._session_cookie = settings.SESSION_COOKIE_NAME.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        match = _PATH.match(scope["path"])
        if match is None or not self._anonymous(scope):
            return await self.app(scope, receive, send)
        if self.headers is not None:
            try:
                body = await self._cached(match["slug"], scope["query_string"].decode("latin-1"))
            except Exception:  # the cache is an accelerator: Django answers without it
                log.exception("cached leaderboard read failed")
                body = None
            if body is not None:
                await send({"type": "http.response.start", "status": 200,
                            "headers": [*self.headers, (b"Content-Length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, self._learning(send))

    def _anonymous(self, scope) -> bool:
        host = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                return False
            if name == b"cookie" and self._session_cookie in value:
                return False
            if name == b"host":
                host = value
        domain, _port = split_domain_port(host.decode("latin-1"))
        return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)

    def _learning(self, send):
        """``send`` that keeps the headers of Django's first successful answer for this URL."""
        if self.headers is not None:
            return send

        async def learn(message):
            if message["type"] == "http.response.start" and message["status"] == 200 and self.headers is None:
                self.headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _SKIPPED_HEADERS]
            await send(message)

        return learn

    def _client(self):
        import asyncio

        from redis import asyncio as aioredis

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = aioredis.Redis.from_url(settings.REDIS_URL)
        return client

    async def _cached(self, slug: str, query_string: str) -> bytes | None:
        redis = self._client()
        generation, route = await redis.mget(cache.make_key(_routes_key(slug)),
                                             cache.make_key(_route_key(slug, *_query(query_string))))
        if generation is None or route is None:
            return None
        route = self._serializer.loads(route)
        if route["routes"] != int(generation) or route["until"] <= time.time():
            return None
        board_generation = await redis.get(cache.make_key(generation_key(route["phase"])))
        if board_generation is None:
            return None
        board = await redis.get(cache.make_key(board_key(route["phase"], int(board_generation), route["split"], route["task"])))
        return None if board is None else self._serializer.loads(board)
