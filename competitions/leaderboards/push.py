"""Leaderboard pushes: after a commit that changed scores, every watcher gets the new board.

The board is computed once per change and sent to the whole group, so the cost does not
grow with the number of watchers. The cached boards are invalidated first, so the API and
the pages serve the new board from the same moment on. Private boards are pushed only
once they are visible to everyone; organizers see unrevealed ones on their pages.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from submissions.models import Score

from .selectors import board_tasks, cache_invalidate, leaderboard_snapshot

log = logging.getLogger(__name__)


def leaderboard_group(slug: str) -> str:
    return f"leaderboard-{slug}"


def _publish(phase) -> None:
    competition = phase.competition
    cache_invalidate(phase=phase)
    layer = get_channel_layer()
    if layer is None:
        return
    visible = [Score.PUBLIC] + ([Score.PRIVATE] if phase.private_visible() else [])
    for task in board_tasks(competition=competition):
        for split in visible:
            snapshot = leaderboard_snapshot(phase=phase, split=split, task=task)
            try:
                async_to_sync(layer.group_send)(
                    leaderboard_group(competition.slug), {"type": "leaderboard.update", "leaderboard": snapshot}
                )
            except Exception:  # best effort: the board is committed and readable over the API
                log.exception("leaderboard push for %s failed", competition.slug)


def leaderboard_changed(phase) -> None:
    """Call from the service that changed scores or selections, inside its transaction."""
    transaction.on_commit(lambda: _publish(phase))
