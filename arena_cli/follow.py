"""Follow one submission until it finishes: live over the websocket, else by polling with backoff.

The websocket ``/ws/submissions/{id}/`` sends the current status on connect and one message
per change. The CLI authenticates it with the same ``Authorization: Token`` header as the
REST calls and sends the server's own address as ``Origin`` (the server checks origins
against its allowed hosts). Where no websocket is possible (the ``websockets`` package is
not installed, the server is a plain WSGI server, a proxy refuses the upgrade) it polls
``GET /api/v1/submissions/{id}/``, starting at one second and backing off to fifteen.
While on the websocket, a quiet spell triggers one HTTP read, so a lost push cannot leave
the CLI waiting forever.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator

from .client import Client

TERMINAL = ("finished", "failed", "cancelled")
POLL_START, POLL_FACTOR, POLL_MAX = 1.0, 1.5, 15.0
WS_QUIET_SECONDS = 30.0
WAKE_SECONDS = 1.0  # how often a waiting CLI wakes to redraw its progress


class WebsocketUnavailable(Exception):
    pass


def websocket_url(server: str, submission_id: int) -> str:
    scheme, _, rest = server.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws/submissions/{submission_id}/"


def websocket_statuses(client: Client, submission_id: int, *, wake_seconds: float = WAKE_SECONDS) -> Generator[dict | None, None, None]:
    """Status payloads as the server pushes them; ``None`` after each ``wake_seconds`` without one."""
    try:
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect
        from websockets.typing import Origin
    except ImportError as exc:
        raise WebsocketUnavailable("the websockets package is not installed") from exc
    try:
        connection = connect(
            websocket_url(client.server, submission_id),
            additional_headers={"Authorization": f"Token {client.token}"},
            origin=Origin(client.server),
            open_timeout=10,
            proxy=None,
        )
    except Exception as exc:  # refused upgrade, no route, TLS trouble: the HTTP API still works
        raise WebsocketUnavailable(str(exc)) from exc
    with connection:
        while True:
            try:
                message = connection.recv(timeout=wake_seconds)
            except TimeoutError:
                yield None
                continue
            except ConnectionClosed:
                return
            try:
                data = json.loads(message)
            except (TypeError, ValueError):
                continue
            if isinstance(data, dict) and data.get("type") == "status" and isinstance(data.get("submission"), dict):
                yield data["submission"]


def follow(client: Client, submission_id: int, *, report: Callable[[dict], None], note: Callable[[str], None],
           sleep: Callable[[float], None] = time.sleep, tick: Callable[[], None] = lambda: None) -> dict:
    """Call ``report`` with each new status until a terminal one; return the full submission then.

    ``tick`` is called about once a second while waiting (progress display)."""
    path = f"submissions/{submission_id}/"
    last: list[str | None] = [None]

    def wait(seconds: float) -> None:
        while seconds > 0:
            step = min(WAKE_SECONDS, seconds)
            sleep(step)
            seconds -= step
            tick()

    def seen(payload: dict) -> bool:
        if payload.get("status") != last[0]:
            last[0] = payload.get("status")
            report(payload)
        return payload.get("status") in TERMINAL

    done = False
    if client.token:
        events = websocket_statuses(client, submission_id)
        try:
            announced = False
            quiet_since = time.monotonic()
            for payload in events:
                if not announced:
                    note("Following live over the websocket.")
                    announced = True
                if payload is None:
                    tick()
                    if time.monotonic() - quiet_since < WS_QUIET_SECONDS:
                        continue
                    payload = client.get(path)  # quiet for a while: read once over HTTP in case a push was lost
                quiet_since = time.monotonic()
                if seen(payload):
                    done = True
                    break
        except WebsocketUnavailable as exc:
            note(f"No websocket ({exc}); polling instead.")
        finally:
            events.close()
    delay = POLL_START
    while not done:
        done = seen(client.get(path))
        if not done:
            wait(delay)
            delay = min(delay * POLL_FACTOR, POLL_MAX)
    return client.get(path)
