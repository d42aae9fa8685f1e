"""The project's own error types: what went wrong, in words a user can act on.

Services raise these; they know nothing of HTTP. Only the interfaces translate them: the API
(:mod:`config.api_errors`) and the pages (:func:`page_status`) into status codes, the
management commands into a ``CommandError``.
"""

from __future__ import annotations


class ArenaError(Exception):
    """A refusal with a message naming what was wrong, and optional structured detail."""

    def __init__(self, message: str, *, detail=None, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.retry_after = retry_after  # seconds, where waiting is the remedy


class InvalidInput(ArenaError):
    """The request itself is wrong (a field, a file)."""


class NotAllowed(ArenaError):
    """The caller may not do this to an object they can see."""


class NotFound(ArenaError):
    """No such object, or none the caller may see (the two are not told apart)."""


class Conflict(ArenaError):
    """The object's state forbids this now (a closed phase, a revealed board, data to discard)."""


class TooLarge(ArenaError):
    """An upload over its size limit."""


class LimitReached(ArenaError):
    """A quota or rate limit; ``retry_after`` says when to try again."""


STATUS_CODES: dict[type[ArenaError], int] = {
    InvalidInput: 400,
    NotAllowed: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    LimitReached: 429,
}


def status_code(error: ArenaError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_CODES:
            return STATUS_CODES[kind]
    return 400
