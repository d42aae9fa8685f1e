"""One Redis connection pool per server URL for the whole process.

Django builds its cache clients per request context, and under ASGI every request has a
context of its own: with redis-py's plain pool each request would open (and leave behind) a
new Redis connection. Cache reads are the hot path of the leaderboard, so the cache's clients
share this process-wide pool instead (``CACHES[...]["OPTIONS"]["pool_class"]``).
redis-py's pool is thread-safe and resets itself in a forked child.
"""

from __future__ import annotations

import threading

from redis import ConnectionPool


class SharedConnectionPool(ConnectionPool):
    _shared: dict[tuple, SharedConnectionPool] = {}
    _shared_lock = threading.Lock()  # apart from each pool's own ``_lock``

    @classmethod
    def from_url(cls, url: str, **kwargs) -> SharedConnectionPool:
        key = (url, tuple(sorted((name, repr(value)) for name, value in kwargs.items())))
        with cls._shared_lock:
            pool = cls._shared.get(key)
            if pool is None:
                pool = cls._shared[key] = super().from_url(url, **kwargs)
        return pool
