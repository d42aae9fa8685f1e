"""The submission flow: from a queued submission to scores on the leaderboard.

``submission_evaluate`` runs one submission end to end: it decrypts the competition's data
into a private scratch folder, lets the task type prepare what the run may see, runs the
code in the sandbox (a check run on the public sample first where the run would see hidden
data), validates the output, scores it on both splits and saves the scores and the new
status in one transaction; the leaderboard push follows the commit.

It composes the building blocks of :mod:`evaluation.pipeline` (one program run, one output
check, one score write); an arena attack hands over to :mod:`evaluation.arena` after its
check run.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from competitions import filestore
from evaluation import arena, attempts, membership_games, pipeline, queue
from evaluation.pipeline import InfrastructureFault, ProgramRun, ProgramUnrunnable, Workspace
from evaluation.task_types import get_task
from evaluation.task_types.base import OutputInvalid, Target, TaskData, TaskType
from submissions import services as submission_services
from submissions import uploads
from submissions.models import Run, Submission
from submissions.services import StatusWriteRefused

log = logging.getLogger(__name__)

RETRY_DELAY_SECONDS = 5.0
ORPHAN_GRACE_SECONDS = 20.0  # an upload's own enqueue (on commit) takes milliseconds


def submission_evaluate(*, submission_id: int) -> None:
    """Evaluate one submission in an attempt of its own (:mod:`evaluation.attempts`).

    Safe to call twice: a job for a submission that ended, or whose current attempt is alive,
    does nothing. An attempt given up meanwhile (its worker thought dead) stops at its next
    status write, which changes nothing.
    """
    submission = attempts.attempt_begin(submission_id=submission_id)
    if submission is None:
        return
    with attempts.attempt_heartbeat(submission):
        try:
            _evaluate(submission)
        except StatusWriteRefused as exc:
            log.info("submission %s: attempt %s stops here: %s", submission.pk, submission.attempt_id, exc)
        except InfrastructureFault as exc:
            _infrastructure_failure(submission, str(exc))
        except Exception as exc:  # a platform bug: never blame the team, keep the details for organizers
            log.exception("evaluation of submission %s failed", submission.pk)
            _infrastructure_failure(submission, f"{type(exc).__name__}: {exc}")


def retry_delay(*, attempts_made: int) -> dt.timedelta:
    """How long a retry after an infrastructure fault waits: long enough for a worker whose engine
    broke to stop taking jobs, so that another worker takes the retry; growing with each try."""
    return dt.timedelta(seconds=RETRY_DELAY_SECONDS * 2 ** max(0, attempts_made - 1))


def _infrastructure_failure(submission: Submission, detail: str, *, at_once: bool = False) -> None:
    """The platform failed this attempt: queue the submission again (after :func:`retry_delay`, or
    ``at_once`` when its worker is known dead), or give up after the retries. Never the team's
    fault, never charged. An attempt that is no longer current changes nothing here either."""
    now = timezone.now()
    try:
        with transaction.atomic():
            Run.objects.create(submission=submission, purpose=Run.EVALUATION, failure_class=Submission.INFRASTRUCTURE,
                               message=detail, saw_hidden_data=True, finished=now)
            if submission.attempts <= settings.ARENA_MAX_INFRA_RETRIES:
                retry_at = None if at_once else now + retry_delay(attempts_made=submission.attempts)
                submission_services.submission_set_status(submission=submission, status=Submission.QUEUED, retry_at=retry_at)
                if at_once:
                    transaction.on_commit(lambda: queue.evaluation_enqueue(submission_id=submission.pk), robust=True)
            else:
                submission_services.submission_set_status(
                    submission=submission, status=Submission.FAILED, failure_class=Submission.INFRASTRUCTURE,
                    error="The platform could not evaluate this submission (an infrastructure fault). "
                          "It does not count against your quota; please submit it again.",
                )
    except StatusWriteRefused as exc:
        log.info("submission %s: infrastructure fault of a given-up attempt ignored: %s", submission.pk, exc)


def _evaluate(submission: Submission) -> None:
    task = get_task(submission.task)
    competition, phase = submission.competition, submission.phase
    if competition.is_arena and task.role == Submission.ATTACK:
        _evaluate_arena_attack(submission, task)
        return
    with pipeline.scratch_dir(f"arena-eval-{submission.pk}-") as scratch:
        data = pipeline.task_data_materialize(competition=competition, dest=scratch / "data")
        seed = pipeline.run_seed(competition=competition, purpose=f"submission:{submission.pk}")
        output_dir = scratch / "output"
        saw_hidden = False
        run = None

        if submission.kind == Submission.FILE:
            prepared = task.prepare(data=data, dest=scratch / "input", check=False, seed=seed)
            output_dir.mkdir()
            filestore.copy_to(submission.storage_path, output_dir / task.output_name, encrypted=False, sha256=submission.sha256)
        else:
            try:
                workspace = pipeline.workspace_open(submission=submission, scratch=scratch)
            except ProgramUnrunnable as exc:
                pipeline.submission_fail(submission=submission, failure=pipeline.Failure(Submission.EXIT_CODE, str(exc), str(exc)))
                return
            try:
                if phase.check_run and task.sees_hidden_data(check=False):
                    if not _check_run(submission, task, data, workspace, scratch, seed):
                        return
                prepared = task.prepare(data=data, dest=scratch / "input", check=False, seed=seed)
                saw_hidden = task.sees_hidden_data(check=False)
                result, run = pipeline.program_run(run=ProgramRun(
                    submission=submission, workspace=workspace, task=task, prepared=prepared, output_dir=output_dir,
                    seed=seed, purpose=Run.EVALUATION, saw_hidden_data=saw_hidden,
                ))
            finally:
                workspace.close()
            if not result.ok:
                pipeline.submission_fail(submission=submission, failure=pipeline.run_failure(result=result, saw_hidden_data=saw_hidden))
                return

        with transaction.atomic():
            submission_services.submission_set_status(submission=submission, status=Submission.SCORING)
        output_path = output_dir / task.output_name
        try:
            output = pipeline.output_check(task=task, path=output_path, prepared=prepared, run=run)
        except OutputInvalid as exc:
            pipeline.submission_fail(submission=submission, failure=pipeline.participant_message(error=exc, saw_hidden_data=saw_hidden))
            return
        scores = task.score(output=output, prepared=prepared, splits=pipeline.splits_for(phase=phase))
        release = None
        if task.role == Submission.DEFENSE:
            release = filestore.store_path(output_path, folder=f"releases/{competition.slug}", encrypt=True, filename=task.output_name)
        scores_save(submission=submission, scores=scores, release=release)


def _evaluate_arena_attack(submission: Submission, task: TaskType) -> None:
    """An arena attack has no fixed release: after its check run its row of pairs scores it.

    It turns ``scoring`` when its row starts and finishes, with its scores aggregated over the
    row, when the row is done (see :mod:`evaluation.arena`). Byte-identical code that already
    passed its check run here skips it, so an identical resubmission costs no sandbox run.
    """
    if submission.kind == Submission.FILE:
        text = uploads.ARENA_ATTACK_FILE  # refused at upload since; kept for rows queued before
        pipeline.submission_fail(submission=submission, failure=pipeline.Failure(Submission.INVALID_OUTPUT, text, text))
        return
    if submission.phase.check_run and not arena.check_passed_before(submission=submission):
        with pipeline.scratch_dir(f"arena-eval-{submission.pk}-") as scratch:
            data = pipeline.task_data_materialize(competition=submission.competition, dest=scratch / "data")
            seed = pipeline.run_seed(competition=submission.competition, purpose=f"submission:{submission.pk}")
            try:
                workspace = pipeline.workspace_open(submission=submission, scratch=scratch)
            except ProgramUnrunnable as exc:
                pipeline.submission_fail(submission=submission, failure=pipeline.Failure(Submission.EXIT_CODE, str(exc), str(exc)))
                return
            try:
                passed = _check_run(submission, task, data, workspace, scratch, seed, target=arena.check_target(scratch))
            finally:
                workspace.close()
            if not passed:
                return
    arena.arena_attack_start(submission=submission)


def _check_run(submission: Submission, task: TaskType, data: TaskData, workspace: Workspace, scratch: Path, seed: int,
               target: Target | None = None) -> bool:
    """Run on the public sample first: its logs go to the team, and a crash stops here."""
    prepared = task.prepare(data=data, dest=scratch / "check-input", check=True, seed=seed, target=target)
    result, run = pipeline.program_run(run=ProgramRun(
        submission=submission, workspace=workspace, task=task, prepared=prepared, output_dir=scratch / "check-output",
        seed=seed, purpose=Run.CHECK, saw_hidden_data=False,
    ))
    if not result.ok:
        failure = pipeline.run_failure(result=result, saw_hidden_data=False)
        text = f"Check run on the public sample: {failure.team} See the run's logs."
        pipeline.submission_fail(submission=submission, failure=pipeline.Failure(failure.failure_class, text, text))
        return False
    try:
        pipeline.output_check(task=task, path=scratch / "check-output" / task.output_name, prepared=prepared, run=run)
    except OutputInvalid as exc:
        text = f"Check run on the public sample: {exc}"
        pipeline.submission_fail(submission=submission, failure=pipeline.Failure(Submission.INVALID_OUTPUT, text, text, exc.rule))
        return False
    shutil.rmtree(scratch / "check-output", ignore_errors=True)
    return True


def scores_save(*, submission: Submission, scores: dict, release=None) -> None:
    """Save every split's scores and finish the submission in one transaction; push on commit.

    Arena competitions schedule the new defense's column (or the finished attack's row) in
    the same transaction; a competition with a membership game queues the defense's game.
    """
    with transaction.atomic():
        pipeline.submission_finish(submission=submission, scores=scores, release=release)
        if submission.competition.is_arena:
            arena.arena_schedule_for(submission=submission)
        membership_games.membership_game_schedule(submission=submission)


def orphaned_submissions_requeue(*, now: dt.datetime | None = None, grace_seconds: float = ORPHAN_GRACE_SECONDS) -> int:
    """Queue again every submission that waits as ``queued`` with no job to run it.

    An upload accepted while Redis was away, a retry whose delay has passed, a job lost before
    it marked its submission running (a worker killed between dequeue and start): each would
    otherwise stay queued for good. Submissions younger than ``grace_seconds`` are left alone:
    their job may be on its way (on commit).
    """
    pending = queue.submissions_with_jobs()
    if pending is None:
        return 0
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=grace_seconds)
    orphans = (
        Submission.objects.filter(status=Submission.QUEUED, created__lt=cutoff)
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .exclude(pk__in=pending).order_by("created").values_list("pk", flat=True)
    )
    requeued = 0
    for pk in orphans:
        log.warning("submission %s was queued with no job to run it: queued again", pk)
        queue.evaluation_enqueue(submission_id=pk)
        requeued += 1
    return requeued


def stale_runs_reap(*, now: dt.datetime | None = None) -> int:
    """Requeue, at once, every running submission whose attempt is dead (its worker stopped beating,
    see :mod:`evaluation.attempts`); one whose worker is alive is left alone, however long it runs.

    Each candidate is locked and judged again under the lock, so a reaper never requeues what a
    worker has just taken, and two reapers never requeue the same attempt twice.
    """
    now = now or timezone.now()
    reaped = arena.arena_pairs_reap(now=now)
    active = [Submission.RUNNING, Submission.SCORING]
    for pk in Submission.objects.filter(status__in=active).values_list("pk", flat=True):
        with transaction.atomic():
            submission = (
                Submission.objects.select_for_update(of=("self",), skip_locked=True).select_related("phase", "competition")
                .filter(pk=pk, status__in=active).first()
            )
            if submission is None or arena.is_arena_row_open(submission):
                continue  # taken meanwhile, or an arena row: its pairs are reaped one by one above
            if attempts.attempt_alive(submission=submission, now=now):
                continue
            log.warning("submission %s: attempt %s of worker %s is dead; queued again", pk, submission.attempt_id,
                        submission.worker or "(none)")
            _infrastructure_failure(submission, "the worker stopped answering (killed or restarted)", at_once=True)
            reaped += 1
    return reaped
