"""RQ entry points. Each fetches by id and calls one service; the logic lives in the services."""

from __future__ import annotations

import django


def _setup() -> None:
    # A plain `rq worker` process imports this module before Django is configured.
    from django.apps import apps

    if not apps.ready:
        django.setup()


def evaluate_submission(submission_id: int) -> None:
    _setup()
    from . import services

    services.submission_evaluate(submission_id=submission_id)


def evaluate_arena_pair(attack_id: int, defense_id: int) -> None:
    _setup()
    from . import arena

    arena.arena_pair_evaluate(attack_id=attack_id, defense_id=defense_id)


def play_membership_game(submission_id: int) -> None:
    _setup()
    from . import membership_games

    membership_games.membership_game_play(submission_id=submission_id)
