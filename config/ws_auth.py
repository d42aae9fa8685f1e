"""Token authentication for websockets, for clients that are not browsers (the ``arena`` CLI).

A websocket handshake may carry ``Authorization: Token <key>``, the same header the REST API
takes. When it does, the connection acts as that token's user (or as nobody, for an unknown
key or an inactive user). Without the header, the session user set by Channels'
``AuthMiddlewareStack`` stays, so browsers keep using their session cookie. The key travels
in a header, never in the URL, so it does not end up in access logs.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
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
