"""One channel-layer subscription per server process and leaderboard, shared by its watchers.

A push reaches a server process once (see :mod:`.push`); without this each of the process's
watchers would hold a channel of its own, get its own copy of the message, decode it and wake
up for it. Here the process joins the leaderboard's group once, receives each push once and
hands the same text to every local watcher in a plain loop. Any channel layer works: with the
in-memory layer of the embedded default as with Redis.
"""

from __future__ import annotations

import asyncio
import logging

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

YIELD_EVERY = 100  # watchers served between two turns of the event loop (other connections, socket writes)
REJOIN_SECONDS = 3600  # layers that expire group membership (after a day by default) are reminded hourly


class Fanout:
    """The watchers of one group in this process and the task that feeds them."""

    def __init__(self, group: str):
        self.group = group
        self.watchers: set = set()
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.ready = asyncio.get_running_loop().create_future()
        self.tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        try:
            self.channel = await self.layer.new_channel()
            await self.layer.group_add(self.group, self.channel)
            self.tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._rejoin())]
            self.ready.set_result(None)
        except BaseException as exc:
            self.ready.set_exception(exc)
            raise

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.channel is not None:
            await self.layer.group_discard(self.group, self.channel)

    async def _rejoin(self) -> None:
        while True:
            await asyncio.sleep(REJOIN_SECONDS)
            try:
                await self.layer.group_add(self.group, self.channel)
            except Exception:
                log.exception("rejoining leaderboard group %s failed", self.group)

    async def _receive(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except Exception:  # the layer lost its connection: it reconnects, we keep listening
                log.exception("receiving leaderboard pushes for %s failed", self.group)
                await asyncio.sleep(1)
                continue
            watchers = list(self.watchers)
            for served, watcher in enumerate(watchers, 1):
                try:
                    await watcher.push(message)
                except Exception as exc:  # a socket closing right now must not starve the others
                    log.warning("push to a leaderboard watcher failed: %r", exc)
                if served % YIELD_EVERY == 0:
                    await asyncio.sleep(0)


_fanouts: dict[tuple[asyncio.AbstractEventLoop, str], Fanout] = {}


async def fanout_join(group: str, watcher) -> None:
    """Deliver the group's messages to ``watcher.push`` from now on (subscribing this process if needed)."""
    key = (asyncio.get_running_loop(), group)
    fanout = _fanouts.get(key)
    if fanout is None:
        fanout = _fanouts[key] = Fanout(group)
        try:
            await fanout.start()
        except BaseException:
            _fanouts.pop(key, None)
            raise
    else:
        await asyncio.shield(fanout.ready)
    fanout.watchers.add(watcher)


async def fanout_leave(group: str, watcher) -> None:
    """Stop delivering to ``watcher``; the process unsubscribes when its last watcher leaves."""
    key = (asyncio.get_running_loop(), group)
    fanout = _fanouts.get(key)
    if fanout is None:
        return
    fanout.watchers.discard(watcher)
    if not fanout.watchers and fanout.ready.done():
        del _fanouts[key]
        await fanout.stop()
