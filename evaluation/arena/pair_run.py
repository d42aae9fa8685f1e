"""One arena pair: an attack run against one defense's release, scored, with both sides'
derived scores updated; and the reaping of pairs whose worker stopped answering.

Security: the run's /input holds only what the attack task's ``prepare`` writes from the
release and the competition's data; the decrypted data and release stay in sibling folders
of the scratch folder that are never mounted.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from competitions import filestore
from competitions.leaderboards import push
from config.formats import finite
from evaluation import pipeline, queue
from evaluation.pipeline import InfrastructureFault, ProgramRun, ProgramUnrunnable
from evaluation.task_types import get_task
from evaluation.task_types.base import OutputInvalid, ScoreValue, Target
from submissions.models import Run, Submission

from ..models import ArenaResult
from .derived_scores import attack_scores_update, defense_scores_update
from .scheduling import PAIR_JOB, attack_settle, pair_cached, pair_reuse, pairs_enqueue, pairs_enqueue_on_commit

log = logging.getLogger(__name__)

ORPHAN_GRACE_SECONDS = 20.0  # a pair's own enqueue (on commit) takes milliseconds


@dataclass
class _Outcome:
    scores: dict | None = None
    failure_class: str = ""
    message: str = ""
    run: Run | None = None


def arena_pair_evaluate(*, attack_id: int, defense_id: int) -> None:
    """Run one attack against one defense's release, score it and update both sides' scores.

    Safe to call twice: only a queued pair runs (a second job for it finds it running or done
    and returns; one whose worker died is queued again by :func:`arena_pairs_reap`), and a pair
    the cache can answer runs nothing.
    """
    with transaction.atomic():
        result = (
            ArenaResult.objects.select_for_update(of=("self",))
            .select_related("attack__competition", "attack__phase__competition", "attack__team", "defense__team")
            .filter(attack_id=attack_id, defense_id=defense_id)
            .first()
        )
        if result is None or result.status != ArenaResult.QUEUED:
            return
        attack, defense = result.attack, result.defense
        phase = attack.phase
        if (attack.status not in (Submission.SCORING, Submission.FINISHED) or defense.status != Submission.FINISHED
                or defense.release_sha256 != result.release_sha256):
            _finish(result, _Outcome(failure_class=Submission.CANCELLED,
                                     message="The attack or the defense left the arena before this pair ran."))
            return
        source = pair_cached(result, phase)
        if source is not None and pair_reuse(result, source):
            _after_pair(result)
            return
        ArenaResult.objects.filter(pk=result.pk).update(
            status=ArenaResult.RUNNING, started=timezone.now(), attempts=result.attempts + 1
        )
        result.status, result.attempts = ArenaResult.RUNNING, result.attempts + 1

    try:
        outcome = _pair_run(result, attack, defense)
    except InfrastructureFault as exc:
        _pair_infrastructure_failure(result, str(exc))
        return
    except Exception as exc:  # a platform bug: never blamed on either team
        log.exception("arena pair attack %s × defense %s failed", attack_id, defense_id)
        _pair_infrastructure_failure(result, f"{type(exc).__name__}: {exc}", retry=False)
        return
    with transaction.atomic():
        _finish(result, outcome)


def _pair_run(result: ArenaResult, attack: Submission, defense: Submission) -> _Outcome:
    task = get_task(attack.task)
    competition = attack.competition
    assert result.seed is not None  # set whenever a pair is scheduled
    with pipeline.scratch_dir(f"arena-pair-{attack.pk}-{defense.pk}-") as scratch:
        # Hidden data and the clear release stay in these host-only folders; only
        # scratch/input, written by the attack task from them, is mounted into the run.
        data = pipeline.task_data_materialize(competition=competition, dest=scratch / "data")
        (scratch / "target").mkdir(mode=0o700)
        try:
            release = filestore.copy_to(defense.release_path, scratch / "target" / get_task(defense.task).output_name, encrypted=True,
                                        sha256=defense.release_sha256)
        except filestore.StoredFileCorrupt as exc:
            raise InfrastructureFault(str(exc)) from exc
        try:
            workspace = pipeline.workspace_open(submission=attack, scratch=scratch)
        except ProgramUnrunnable as exc:
            return _Outcome(failure_class=Submission.EXIT_CODE, message=str(exc))
        try:
            prepared = task.prepare(data=data, dest=scratch / "input", check=False, seed=result.seed,
                                    target=Target(release=release, key=defense.release_sha256))
            # The input derives from hidden data (the release, challenge records): logs for organizers only.
            run_result, run = pipeline.program_run(run=ProgramRun(
                submission=attack, workspace=workspace, task=task, prepared=prepared, output_dir=scratch / "output",
                seed=result.seed, purpose=Run.ARENA, saw_hidden_data=True, target=defense,
            ))
        finally:
            workspace.close()
        # The pair's message is its team's (the class and the rule only); the run keeps the detail.
        if not run_result.ok:
            failure = pipeline.run_failure(result=run_result, saw_hidden_data=True)
            return _Outcome(failure_class=failure.failure_class, run=run, message=failure.team)
        try:
            output = pipeline.output_check(task=task, path=scratch / "output" / task.output_name, prepared=prepared, run=run)
        except OutputInvalid as exc:
            failure = pipeline.participant_message(error=exc, saw_hidden_data=True)
            return _Outcome(failure_class=failure.failure_class, run=run, message=failure.team)
        scores = task.score(output=output, prepared=prepared, splits=pipeline.splits_for(phase=attack.phase))
        return _Outcome(scores=_scores_json(scores), run=run)


def _scores_json(scores: dict[str, dict[str, ScoreValue]]) -> dict:
    def entry(v: ScoreValue) -> dict:
        out = {"value": finite(v.value), "ci_low": finite(v.ci_low), "ci_high": finite(v.ci_high)}
        if (v.detail or {}).get("roc"):  # the pair's ROC curve, drawn on the attack's page and in the report
            out["roc"] = v.detail["roc"]
        return out

    return {split: {key: entry(v) for key, v in metrics.items()} for split, metrics in scores.items()}


def _finish(result: ArenaResult, outcome: _Outcome) -> None:
    """Save the pair's outcome and update everything derived from it, in the caller's transaction."""
    result.status = ArenaResult.FINISHED if outcome.scores is not None else ArenaResult.FAILED
    result.scores = outcome.scores or {}
    result.failure_class = outcome.failure_class
    result.message = outcome.message
    result.run = outcome.run
    result.finished = timezone.now()
    result.save(update_fields=["status", "scores", "failure_class", "message", "run", "finished"])
    _after_pair(result)


def _after_pair(result: ArenaResult) -> None:
    # Attack first, then defense: the order in which an attack's row start takes them.
    attack = Submission.objects.select_for_update(of=("self",)).select_related("competition", "phase", "team").get(pk=result.attack_id)
    defense = Submission.objects.select_for_update(of=("self",)).select_related("competition", "phase", "team").get(pk=result.defense_id)
    defense_scores_update(defense)
    if attack.status == Submission.FINISHED:
        attack_scores_update(attack)
    elif attack_settle(attack.pk):
        return  # the attack's status change pushed the boards already
    push.leaderboard_changed(defense.phase)


def _pair_infrastructure_failure(result: ArenaResult, detail: str, *, retry: bool = True) -> None:
    """The platform failed this pair: queue it again, or give up after the retries (never the teams' fault)."""
    with transaction.atomic():
        result = ArenaResult.objects.select_for_update(of=("self",)).select_related("attack__phase").get(pk=result.pk)
        if retry and result.attempts <= settings.ARENA_MAX_INFRA_RETRIES:
            ArenaResult.objects.filter(pk=result.pk).update(status=ArenaResult.QUEUED, message="")
            result.status = ArenaResult.QUEUED
            pairs_enqueue_on_commit([result], result.attack.phase)
            log.warning("arena pair %s requeued after an infrastructure fault: %s", result.pk, detail)
            return
        log.error("arena pair %s failed for good: %s", result.pk, detail)
        _finish(result, _Outcome(
            failure_class=Submission.INFRASTRUCTURE,
            message="The platform could not run this attack against this defense (an infrastructure fault).",
        ))


def orphaned_pairs_requeue(*, now=None, grace_seconds: float = ORPHAN_GRACE_SECONDS) -> int:
    """Queue again every pair that waits as ``queued`` with no job to run it.

    A pair whose job could not be sent (Redis away when its column or row was scheduled, or
    when it was queued again after a fault) would otherwise wait for good, and its attack's row
    would never settle. Pairs younger than ``grace_seconds`` are left alone: their job may be
    on its way (on commit). A job sent twice is harmless: the second finds the pair running or
    done and returns.
    """
    waiting = queue.waiting_job_args(PAIR_JOB)
    if waiting is None:
        return 0
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=grace_seconds)
    orphans = [
        r for r in ArenaResult.objects.filter(status=ArenaResult.QUEUED, created__lt=cutoff).select_related("attack__phase")
        if (r.attack_id, r.defense_id) not in waiting
    ]
    by_phase: dict[int, list[ArenaResult]] = {}
    for result in orphans:
        log.warning("arena pair %s (attack %s, defense %s) was queued with no job to run it: queued again",
                    result.pk, result.attack_id, result.defense_id)
        by_phase.setdefault(result.attack.phase_id, []).append(result)
    for results in by_phase.values():
        pairs_enqueue(results, results[0].attack.phase)
    return len(orphans)


def arena_pairs_reap(*, now=None) -> int:
    """Requeue pairs whose worker stopped answering past their time limit; settle rows left open."""
    now = now or timezone.now()
    reaped = 0
    for result in ArenaResult.objects.filter(status=ArenaResult.RUNNING).select_related("attack__phase"):
        allowed = float(result.attack.phase.limits.get("wall_seconds", 600)) + settings.ARENA_RUN_MARGIN_SECONDS
        if result.started and (now - result.started).total_seconds() > allowed:
            _pair_infrastructure_failure(result, "the worker stopped answering (killed or restarted) past the time limit")
            reaped += 1
    open_rows = Submission.objects.filter(status=Submission.SCORING, role=Submission.ATTACK).exclude(competition__attack_tasks=[])
    for attack_id in open_rows.exclude(arena_results_as_attack__status__in=ArenaResult.PENDING).values_list("pk", flat=True):
        with transaction.atomic():
            attack_settle(attack_id)
    return reaped

