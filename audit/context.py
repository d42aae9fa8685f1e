"""Where the current action comes from (request id, client address), for the audit record.

Set once per request by :class:`config.middleware.RequestIdMiddleware`; a management command
or a job has none, and its events say so (an empty request id, no address).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    request_id: str = ""
    ip: str | None = None


_origin: contextvars.ContextVar[Origin] = contextvars.ContextVar("arena_origin", default=Origin())  # noqa: B039 - frozen


def origin_set(origin: Origin) -> None:
    _origin.set(origin)


def origin_get() -> Origin:
    return _origin.get()
