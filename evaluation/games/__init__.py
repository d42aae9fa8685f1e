"""Targeted membership games: how exposed is the most exposed patient?

A defense is re-run on many training sets drawn from a population pool, with and without
one target patient; an attack guesses, release by release, whether the target was in.
Per target this gives an advantage, a TPR at low FPR and an empirical ε lower bound, each
with an interval; over the targets, the worst target, the top decile and the average
(docs/arena.md, "Targeted membership games").

This package depends on nothing of the evaluation pipeline: it takes callables that run the
defense on one training set and the attack on one round, so the pipeline can plug in its
sandbox and a benchmark or a test the baselines' code in-process. Imports no Django.
"""

from .engine import AttackRound, FolderCache, GameCost, GameResult, GameSpec, MemoryCache, game_run, training_set_hash
from .scoring import GameSummary, TargetResult, game_summary
from .targets import TARGET_RULES, GameTarget, isolation, targets_select

__all__ = [
    "AttackRound",
    "FolderCache",
    "GameCost",
    "GameResult",
    "GameSpec",
    "GameSummary",
    "GameTarget",
    "MemoryCache",
    "TARGET_RULES",
    "TargetResult",
    "game_run",
    "game_summary",
    "isolation",
    "targets_select",
    "training_set_hash",
]
