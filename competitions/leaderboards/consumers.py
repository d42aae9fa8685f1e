"""Websocket for one competition's leaderboards: a snapshot on connect, then every change.

Anyone may watch a published competition, spectators without an account included (organizers
also watch their unpublished ones). Private boards are part of the snapshot, and of the
pushes, only once they are visible to everyone: one group serves every watcher, so nothing
organizer-only may travel through it.

A change arrives as a small notice (see :mod:`.push`). The first watcher in this process to
handle a notice builds the ``update`` message from the cached board and encodes it; every
other watcher of the process awaits that same encoded text, so a thousand watchers cost one
encoding, not a thousand.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from competitions import selectors
from competitions.models import Phase
from submissions.models import Score

from .push import leaderboard_group
from .selectors import board_tasks, leaderboard_snapshot

_ENCODED_KEEP = 64
_encoded: OrderedDict[tuple, asyncio.Future] = OrderedDict()


@database_sync_to_async
def _snapshots(slug: str, user) -> list[dict] | None:
    competition = selectors.competitions_visible(user=user).filter(slug=slug).prefetch_related("phases", "metrics").first()
    if competition is None:
        return None
    boards = []
    for phase in competition.phases.all():
        splits = [Score.PUBLIC] + ([Score.PRIVATE] if phase.private_visible() else [])
        for task in board_tasks(competition=competition):
            for split in splits:
                boards.append(leaderboard_snapshot(phase=phase, split=split, task=task))
    return boards


@database_sync_to_async
def _update_text(phase_id: int, split: str, task: str) -> str | None:
    phase = Phase.objects.select_related("competition").filter(pk=phase_id).first()
    if phase is None or (split == Score.PRIVATE and not phase.private_visible()):
        return None
    return json.dumps({"type": "update", "leaderboard": leaderboard_snapshot(phase=phase, split=split, task=task)})


async def update_message(event: dict) -> str | None:
    """The encoded ``update`` for a notice, built once per process and shared by its watchers."""
    key = (event["phase_id"], event["split"], event["task"], event["generation"])
    future = _encoded.get(key)
    if future is None:
        future = asyncio.get_running_loop().create_future()
        _encoded[key] = future
        while len(_encoded) > _ENCODED_KEEP:
            _encoded.popitem(last=False)
        try:
            future.set_result(await _update_text(event["phase_id"], event["split"], event["task"]))
        except Exception as exc:
            _encoded.pop(key, None)
            future.set_exception(exc)
            raise
    elif future.get_loop() is not asyncio.get_running_loop():  # a test's second event loop
        _encoded.pop(key, None)
        return await update_message(event)
    return await asyncio.shield(future)


class LeaderboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        boards = await _snapshots(self.slug, self.scope.get("user"))
        if boards is None:
            await self.close(code=4404)
            return
        self.group = leaderboard_group(self.slug)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "snapshot", "leaderboards": boards})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def leaderboard_changed(self, event):
        text = await update_message(event)
        if text is not None:
            await self.send(text_data=text)
