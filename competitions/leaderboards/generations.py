"""Cache generations of a phase's leaderboards: every change starts a new generation, and
every cached board and history lives under the generation it was computed in.

A reader that computed a board just before a change committed writes it under the old
generation, where nobody looks any more, so a stale board can never outlive the change.
The keys are plain functions of ids so the websocket reads (:mod:`.reads`) can build them
without touching the ORM.
"""

from __future__ import annotations

import time

from django.core.cache import cache

from competitions.models import Phase


def generation_key(phase_id: int) -> str:
    return f"leaderboard-generation:{phase_id}"


def board_key(phase_id: int, generation: int, split: str, task: str) -> str:
    return f"leaderboard:{phase_id}:{generation}:{split}:{task}"


def _generation_key(phase: Phase) -> str:
    return generation_key(phase.pk)


def cache_generation(*, phase: Phase) -> int:
    """The phase's board generation: bumped on every change, part of every cache key.

    A reader that computed a board just before a change committed writes it under the old
    generation, where nobody looks any more, so a stale board can never outlive the change.
    Generations only grow, so they also order the pushes of one phase.
    """
    generation = cache.get(_generation_key(phase))
    if generation is None:
        cache.add(_generation_key(phase), _fresh_generation(), None)
        generation = cache.get(_generation_key(phase)) or _fresh_generation()
    return generation


def cache_invalidate(*, phase: Phase) -> int:
    """Start a new generation for the phase's boards and return it."""
    try:
        return cache.incr(_generation_key(phase))
    except ValueError:  # never read yet, or evicted: start past every generation used before
        generation = _fresh_generation()
        cache.set(_generation_key(phase), generation, None)
        return generation


def _fresh_generation() -> int:
    return time.time_ns() // 1_000_000


def cache_key(*, phase: Phase, split: str, task: str, generation: int | None = None) -> str:
    generation = cache_generation(phase=phase) if generation is None else generation
    return board_key(phase.pk, generation, split, task)


def history_cache_key(*, phase: Phase, task: str) -> str:
    return f"leaderboard-history:{phase.pk}:{cache_generation(phase=phase)}:{task}"
