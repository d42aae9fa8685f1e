"""Websocket for one competition's leaderboards: a snapshot on connect, then every change.

Anyone may watch a published competition, spectators without an account included (organizers
also watch their unpublished ones). Private boards are part of the snapshot, and of the
pushes, only once they are visible to everyone: one group serves every watcher, so nothing
organizer-only may travel through it.

A change arrives as the finished websocket text (see :mod:`.push`), so a watcher only
forwards it: no database, cache or encoding work per watcher. Each message names its board and
the phase's cache generation; a watcher never sends a board older than the one it already has
(the snapshot included), so two quick changes pushed from two processes cannot leave it on
the older board.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from competitions import selectors
from submissions.models import Score

from .push import leaderboard_group
from .selectors import board_tasks, cache_generation, leaderboard_json


@database_sync_to_async
def _snapshot(slug: str, user) -> tuple[str, dict] | None:
    """The snapshot text and the generation of each board in it; None when the competition is not visible."""
    phases = selectors.competition_phases(slug=slug, user=user)
    if phases is None:
        return None
    boards, generations = [], {}
    for phase in phases:
        generation = cache_generation(phase=phase)
        splits = [Score.PUBLIC] + ([Score.PRIVATE] if phase.private_visible() else [])
        for task in board_tasks(competition=phase.competition):
            for split in splits:
                boards.append(leaderboard_json(phase=phase, split=split, task=task, generation=generation))
                generations[(phase.pk, split, task)] = generation
    text = b'{"type":"snapshot","leaderboards":[' + b",".join(boards) + b"]}"
    return text.decode(), generations


class LeaderboardConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        self.group = leaderboard_group(self.slug)
        # Join before reading the snapshot: a change committed in between is then pushed, not lost.
        await self.channel_layer.group_add(self.group, self.channel_name)
        snapshot = await _snapshot(self.slug, self.scope.get("user"))
        if snapshot is None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            del self.group
            await self.close(code=4404)
            return
        text, self.generations = snapshot
        await self.accept()
        await self.send(text_data=text)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def dispatch(self, message):
        if message["type"] == "leaderboard.update":
            # Forwarding a push touches no database: skip the stale-connection cleanup that
            # Channels runs before every handler (a thread hop per watcher per change).
            await self.leaderboard_update(message)
        else:
            await super().dispatch(message)

    async def leaderboard_update(self, event):
        board = (event["phase_id"], event["split"], event["task"])
        if event["generation"] <= self.generations.get(board, -1):
            return  # this watcher already has this board or a newer one
        self.generations[board] = event["generation"]
        await self.send(text_data=event["text"])
