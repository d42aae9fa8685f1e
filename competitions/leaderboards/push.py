"""Leaderboard pushes: after a commit that changed scores, every watcher gets the new board.

The pushing process invalidates the cached boards, computes each visible board once (which
caches it again) and sends the group one small notice per board naming it and its cache
generation. Each server process turns a notice into the websocket message once, from the
shared cache, and hands the same encoded text to all of its watchers
(:mod:`.consumers`). So the work per change is one board computation, one small message per
watcher through the channel layer, and one JSON encoding per server process, however many
people watch. Private boards are announced only once they are visible to everyone.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from submissions.models import Score

from .selectors import board_tasks, cache_generation, cache_invalidate, leaderboard_snapshot

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
    generation = cache_generation(phase=phase)
    for task in board_tasks(competition=competition):
        for split in visible:
            leaderboard_snapshot(phase=phase, split=split, task=task)  # computed once, here, into the shared cache
            notice = {"type": "leaderboard.changed", "phase_id": phase.pk, "split": split, "task": task, "generation": generation}
            try:
                async_to_sync(layer.group_send)(leaderboard_group(competition.slug), notice)
            except Exception:  # best effort: the board is committed and readable over the API
                log.exception("leaderboard push for %s failed", competition.slug)


def leaderboard_changed(phase) -> None:
    """Call from the service that changed scores or selections, inside its transaction."""
    transaction.on_commit(lambda: _publish(phase))
