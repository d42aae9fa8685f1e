"""Targeted membership games in the pipeline: a finished defense's game, played through the sandbox.

A competition whose bundle declares ``options.membership_game`` (:mod:`evaluation.games.config`)
plays the game of :mod:`evaluation.games` for every finished defense, baselines included. The
job goes to its own queue, which workers take after the evaluation queues: ordinary
evaluations come first, and the board, already served, fills in when the game is done.

The defense's code runs in the sandbox on every training set, as in its evaluation (records
and schema in /input, ``release.csv`` out); each game attack (a baseline attack named by the
bundle) runs in the sandbox on every round (:mod:`evaluation.games.files`). Every run saw
hidden records: their logs stay with the organizers. Per target the strongest attack counts.
The results are ordinary score rows of the defense (:data:`GAME_METRICS`), on both splits
alike — the game draws its own training sets and is not split — with the per-target figures
and the plain-language sentences in their detail; a target is named there by what sets it
apart, never by its id or its values.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import transaction

from competitions.leaderboards.push import leaderboard_changed
from competitions.models import Competition
from evaluation import pipeline, queue
from evaluation.games import GameSpec, MemoryCache, game_run, game_summary, targets_select
from evaluation.games.config import AVERAGE, EPSILON, GAME_METRICS, TOP_DECILE, WORST, GameConfig, game_config_read
from evaluation.games.files import predictions_read, round_write
from evaluation.games.scoring import TargetResult
from evaluation.games.wording import exposure_sentences
from evaluation.pipeline import ProgramRun
from evaluation.task_types import get_task
from evaluation.task_types.base import Prepared, ScoreValue
from evaluation.task_types.csvio import write_schema
from submissions.models import Run, Score, Submission

log = logging.getLogger(__name__)

class GameUnplayable(Exception):
    """The game could not be played to the end (a run failed); the reason is kept for organizers."""


def game_config(*, competition: Competition) -> GameConfig | None:
    config, _ = game_config_read(competition.options or {})
    return config


def game_defenses() -> list[Submission]:
    """Finished defenses whose competition's game has no result yet (the demo plays them)."""
    return list(Submission.objects.filter(pk__in=queue.games_unplayed()).order_by("pk"))


def membership_game_schedule(*, submission: Submission) -> None:
    """Queue the game of a defense that just finished, in the transaction that finished it."""
    config = game_config(competition=submission.competition)
    if submission.role != Submission.DEFENSE or config is None or not settings.ARENA_MEMBERSHIP_GAMES:
        return
    # A game is many runs: its job may take as long as all of them at the phase's wall-time limit.
    timeout = int(config.defense_runs * 2 * float(submission.phase.limits.get("wall_seconds", 600))) + settings.ARENA_RUN_MARGIN_SECONDS
    transaction.on_commit(lambda: queue.job_enqueue(function=queue.GAME_JOB, args=(submission.pk,), phase=submission.phase,
                                                    low_priority=True, timeout=timeout))


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


def membership_game_play(*, submission_id: int) -> None:
    """Play the game of one finished defense and save its figures; a failed game saves why."""
    submission = Submission.objects.select_related("competition", "phase").filter(pk=submission_id).first()
    if submission is None or submission.status != Submission.FINISHED:
        return
    config = game_config(competition=submission.competition)
    if config is None:
        return
    try:
        results = _play(submission, config)
    except GameUnplayable as exc:
        log.warning("membership game of submission %s: %s", submission.pk, exc)
        _save(submission, None, comparisons=0)
        return
    _save(submission, results, comparisons=len(results) * len(config.attacks))


def _play(submission: Submission, config: GameConfig) -> list[TargetResult]:
    competition = submission.competition
    defense_task = get_task(submission.task)
    attacks = list(Submission.objects.filter(competition=competition, phase=submission.phase, is_baseline=True,
                                             role=Submission.ATTACK, baseline_name__in=config.attacks).order_by("pk"))
    if not attacks:
        raise GameUnplayable(f"none of the game's attacks ({', '.join(config.attacks)}) is a baseline of this phase")
    with pipeline.scratch_dir(f"arena-game-{submission.pk}-") as scratch:
        data = pipeline.task_data_materialize(competition=competition, dest=scratch / "data")
        schema = data.schema
        pool = pd.concat([_read(data.files[name]) for name in config.pool], ignore_index=True)
        types = dict(schema.columns)
        outliers = (config.targets + 1) // 2
        targets = targets_select(pool=pool, types=types, id_column=schema.id_column, rule=config.rule,
                                 n_outliers=outliers, n_controls=config.targets - outliers, listed=config.listed, seed=config.seed)
        spec = GameSpec(runs=config.runs, training_size=config.training_size, seed=config.seed)
        counter = iter(range(10**9))
        defense_space = pipeline.workspace_open(submission=submission, scratch=scratch / "defense")

        def defense(training_set: pd.DataFrame, seed: int) -> pd.DataFrame:
            folder = scratch / f"run-{next(counter)}"
            (folder / "input").mkdir(parents=True)
            write_schema(schema, folder / "input")
            training_set.to_csv(folder / "input" / "records.csv", index=False, lineterminator="\n")
            result, _ = pipeline.program_run(run=ProgramRun(
                submission=submission, workspace=defense_space, task=defense_task, prepared=Prepared(input_dir=folder / "input"),
                output_dir=folder / "output", seed=seed, purpose=Run.GAME, saw_hidden_data=True))
            if not result.ok:
                raise GameUnplayable(f"the defense failed on a game training set: {_failure(result)}")
            release = _read(folder / "output" / defense_task.output_name)
            shutil.rmtree(folder, ignore_errors=True)
            return release

        per_attack = []
        cache = MemoryCache()
        try:
            for attack in attacks:
                attack_space = pipeline.workspace_open(submission=attack, scratch=scratch / f"attack-{attack.pk}")
                attack_task = get_task(attack.task)

                def play(game_round, attack=attack, attack_space=attack_space, attack_task=attack_task):
                    folder = scratch / f"round-{next(counter)}"
                    ids = round_write(game_round, folder / "input", schema=schema.as_json())
                    result, _ = pipeline.program_run(run=ProgramRun(
                        submission=attack, workspace=attack_space, task=attack_task, prepared=Prepared(input_dir=folder / "input"),
                        output_dir=folder / "output", seed=config.seed, purpose=Run.GAME, saw_hidden_data=True, target=submission))
                    if not result.ok:
                        raise GameUnplayable(f"the game attack {attack.baseline_name!r} failed: {_failure(result)}")
                    try:
                        scores = predictions_read(folder / "output" / "predictions.csv", ids)
                    except ValueError as exc:
                        raise GameUnplayable(f"the game attack {attack.baseline_name!r}: {exc}") from exc
                    shutil.rmtree(folder, ignore_errors=True)
                    return scores

                try:
                    per_attack.append(game_run(pool=pool, targets=targets, spec=spec, defense=defense,
                                               defense_sha256=submission.sha256, attack=play, id_column=schema.id_column,
                                               cache=cache).targets)
                finally:
                    attack_space.close()
        finally:
            defense_space.close()
    # Per target, the strongest attack is the one that counts.
    return [max(found, key=lambda r: r.advantage) for found in zip(*per_attack, strict=True)]


def _failure(result) -> str:
    return result.failure.value if result.failure else "failed"


def _public(result: TargetResult) -> dict:
    """A target as the board may show it: what sets it apart and its figures, not its id."""
    shown = result.as_dict()
    shown.pop("record_id")
    return shown


def _save(submission: Submission, results: list[TargetResult] | None, *, comparisons: int) -> None:
    detail: dict[str, Any]
    if results is None:
        detail = {"error": "The membership game could not be played to the end; organizers see why."}
        values = {key: ScoreValue(None, detail=detail) for key, *_ in GAME_METRICS}
    else:
        summary = game_summary(results, comparisons=comparisons)
        detail = {"targets": [_public(r) for r in results], "sentences": exposure_sentences(results, comparisons=comparisons),
                  "worst": _public(summary.worst), "outlier_average": summary.outlier_average_advantage,
                  "control_average": summary.control_average_advantage}
        low, high = summary.worst_ci
        values = {
            WORST: ScoreValue(summary.worst.advantage, ci_low=low, ci_high=high, detail=detail),
            TOP_DECILE: ScoreValue(summary.top_decile_advantage),
            AVERAGE: ScoreValue(summary.average_advantage),
            EPSILON: ScoreValue(summary.max_epsilon_lower_bound),
        }
    with transaction.atomic():
        pipeline.scores_write(submission=submission, scores={split: values for split in (Score.PUBLIC, Score.PRIVATE)},
                              keys={key for key, *_ in GAME_METRICS})
        leaderboard_changed(submission.phase)
