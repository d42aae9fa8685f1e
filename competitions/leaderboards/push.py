"""Leaderboard pushes: after a commit that changed scores, every watcher gets the new board.

The pushing process starts a new cache generation for the phase, computes each visible board
once (which caches it again, encoded) and sends the group one message per board that carries
the ready websocket text. With the Redis pub/sub channel layer that is one ``PUBLISH`` per
board, delivered once to each server process, which hands the same text to all of its
watchers (:mod:`.consumers`). So the work per change is one board computation and one
encoding, however many people watch and however many server processes serve them. Private
boards are announced only once they are visible to everyone: one group serves every watcher.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from submissions.models import Score

from .generations import cache_invalidate
from .selectors import board_tasks, leaderboard_json

log = logging.getLogger(__name__)


def leaderboard_group(slug: str) -> str:
    return f"leaderboard-{slug}"


def update_text(board: bytes) -> str:
    """The websocket message for one changed board, built around its cached JSON."""
    return '{"type":"update","leaderboard":' + board.decode() + "}"


def _publish(phase) -> None:
    competition = phase.competition
    generation = cache_invalidate(phase=phase)
    layer = get_channel_layer()
    if layer is None:
        return
    visible = [Score.PUBLIC] + ([Score.PRIVATE] if phase.private_visible() else [])
    messages = []
    for task in board_tasks(competition=competition):
        for split in visible:
            board = leaderboard_json(phase=phase, split=split, task=task, generation=generation)  # computed once, here
            messages.append({"type": "leaderboard.update", "phase_id": phase.pk, "split": split, "task": task,
                             "generation": generation, "text": update_text(board)})

    async def send_all() -> None:
        for message in messages:
            await layer.group_send(leaderboard_group(competition.slug), message)

    try:
        async_to_sync(send_all)()
    except Exception:  # best effort: the board is committed and readable over the API
        log.exception("leaderboard push for %s failed", competition.slug)


def leaderboard_changed(phase) -> None:
    """Call from the service that changed scores or selections, inside its transaction.

    Best effort after the commit (``robust``): a cache or channel layer that is away (Redis
    restarting) is logged and never fails the service that saved the scores.
    """
    transaction.on_commit(lambda: _publish(phase), robust=True)
