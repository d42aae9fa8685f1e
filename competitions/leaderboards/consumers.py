"""Websocket for one competition's leaderboards: a snapshot on connect, then every change.

Anyone may watch a published competition, spectators without an account included (organizers
also watch their unpublished ones). Private boards are part of the snapshot, and of the
pushes, only once they are visible to everyone: one group serves every watcher, so nothing
organizer-only may travel through it.

A change arrives as the finished websocket text (see :mod:`.push`), received once per server
process and handed to each of its watchers (:mod:`.fanout`), so a watcher only forwards it: no
channel of its own, no database, cache or encoding work per watcher. Each message names its
board and the phase's cache generation; a watcher never sends a board older than the one it
already has (the snapshot included), so two quick changes pushed from two processes cannot
leave it on the older board.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from competitions import selectors
from submissions.models import Score

from .fanout import fanout_join, fanout_leave
from .generations import cache_generation
from .push import leaderboard_group
from .selectors import board_tasks, leaderboard_json


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
    channel_layer_alias = None  # no channel per watcher: the process's fan-out receives the pushes

    async def connect(self):
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        self.generations: dict | None = None  # None until the snapshot is sent
        self.waiting: list[dict] = []  # pushes that came while the snapshot was being read
        # Listen before reading the snapshot: a change committed in between is then pushed, not lost.
        self.group = leaderboard_group(self.slug)
        await fanout_join(self.group, self)
        snapshot = await _snapshot(self.slug, self.scope.get("user"))
        if snapshot is None:
            await fanout_leave(self.group, self)
            del self.group
            await self.close(code=4404)
            return
        text, generations = snapshot
        await self.accept()
        await self.send(text_data=text)
        self.generations = generations  # from here on pushes go out as they come
        waiting, self.waiting = self.waiting, []
        for message in waiting:
            await self.push(message)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await fanout_leave(self.group, self)

    async def push(self, message: dict) -> None:
        """A message for the leaderboard group, from this process's fan-out."""
        if message.get("type") != "leaderboard.update":
            return
        if self.generations is None:
            self.waiting.append(message)
            return
        board = (message["phase_id"], message["split"], message["task"])
        if message["generation"] <= self.generations.get(board, -1):
            return  # this watcher already has this board or a newer one
        self.generations[board] = message["generation"]
        await self.send(text_data=message["text"])
