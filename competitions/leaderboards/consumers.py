"""Websocket for one competition's leaderboards: a snapshot on connect, then every change.

Anyone may watch a published competition, spectators without an account included (organizers
also watch their unpublished ones). Private boards are part of the snapshot, and of the
pushes, only once they are visible to everyone: one group serves every watcher, so nothing
organizer-only may travel through it.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from competitions import selectors
from submissions.models import Score

from .push import leaderboard_group
from .selectors import board_tasks, leaderboard_snapshot


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

    async def leaderboard_update(self, event):
        await self.send_json({"type": "update", "leaderboard": event["leaderboard"]})
