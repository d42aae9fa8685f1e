"""Websocket handshakes from clients that are not browsers (the ``arena`` CLI, scripts, notebooks).

Origins: a browser sends ``Origin`` with every websocket handshake, and a page of a foreign
site would ride on its visitor's session cookie (cross-site websocket hijacking), so a foreign
origin is refused (403) as before. A handshake *without* ``Origin`` cannot come from such a
page: it is a script, which holds no one else's cookie, and is let through
(:class:`OriginCheck`).

Token authentication:

A websocket handshake may carry ``Authorization: Token <key>``, the same header the REST API
takes. When it does, the connection acts as that token's user (or as nobody, for an unknown
key or an inactive user). Without the header, the session user set by Channels'
``AuthMiddlewareStack`` stays, so browsers keep using their session cookie. The key travels
in a header, never in the URL, so it does not end up in access logs.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser


def token_from_headers(headers) -> str | None:
    for name, value in headers or ():
        if name.lower() == b"authorization":
            scheme, _, key = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "token":
                return key.strip() or ""
    return None


@database_sync_to_async
def user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first() if key else None
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenAuthMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "websocket":
            key = token_from_headers(scope.get("headers"))
            if key is not None:
                scope = dict(scope, user=await user_for_token(key))
        return await self.inner(scope, receive, send)


def has_origin(headers) -> bool:
    return any(name.lower() == b"origin" for name, _ in headers or ())


class OriginCheck:
    """A browser's handshake must come from one of the allowed hosts; one without ``Origin`` passes."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "websocket" and not has_origin(scope.get("headers")):
            return await self.inner(scope, receive, send)
        # Built per handshake: it reads ALLOWED_HOSTS, which may change after start-up (tests do).
        return await AllowedHostsOriginValidator(self.inner)(scope, receive, send)
