"""The evaluation pipeline: from a queued submission to scores on the leaderboard.

``submission_evaluate`` runs one submission end to end: it decrypts the competition's data
into a private scratch folder, lets the task type prepare what the run may see, runs the
code in the sandbox (a check run on the public sample first where the run would see hidden
data), validates the output, scores it on both splits and saves the scores and the new
status in one transaction; the leaderboard push follows the commit.

The sandbox never sees Django: this module translates models and settings into a RunSpec.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import sandbox
from competitions import filestore
from competitions.models import Competition, Phase
from evaluation.splits import KeyedSplits
from evaluation.tasks import get_task
from evaluation.tasks.base import OutputInvalid, Prepared, Schema, Target, TaskData, TaskType
from sandbox import archive
from sandbox.spec import FailureClass, Limits, RunResult, RunSpec
from submissions import services as submission_services
from submissions import uploads
from submissions.models import Run, Score, Submission

log = logging.getLogger(__name__)


class InfrastructureFault(Exception):
    """The platform, not the submission, failed: retried and never counted against quota."""


# --------------------------------------------------------------------------- building blocks


def run_seed(*, competition: Competition, purpose: str) -> int:
    """A seed that is stable for the same (competition, purpose) and unguessable by teams."""
    digest = hmac.new(bytes.fromhex(competition.split_key), purpose.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def splits_for(*, phase: Phase) -> KeyedSplits:
    return KeyedSplits(key=bytes.fromhex(phase.competition.split_key), public_fraction=phase.public_fraction)


def task_data_materialize(*, competition: Competition, dest: Path) -> TaskData:
    """Decrypt every dataset of the competition into ``dest`` (host only), checking sha256."""
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    files = {}
    for dataset in competition.datasets.all():
        suffix = Path(dataset.filename).suffix or ".csv"
        files[dataset.name] = filestore.copy_to(
            dataset.storage_path, dest / f"{dataset.name}{suffix}", encrypted=dataset.encrypted, sha256=dataset.sha256
        )
    return TaskData(files=files, schema=Schema.from_json(competition.schema), options=competition.options)


def limits_for(*, phase: Phase) -> Limits:
    raw = phase.limits or {}
    defaults = Limits()
    return Limits(
        wall_seconds=float(raw.get("wall_seconds", defaults.wall_seconds)),
        memory_mb=int(raw.get("memory_mb", defaults.memory_mb)),
        cpus=float(raw.get("cpus", defaults.cpus)),
        gpus=int(raw.get("gpus", defaults.gpus)),
        output_mb=int(raw.get("output_mb", defaults.output_mb)),
    )


def run_spec_build(*, submission: Submission, task: TaskType, submission_dir: Path, input_dir: Path, command: tuple[str, ...],
                   image: str | None, seed: int, purpose: str) -> RunSpec:
    return RunSpec(
        submission_dir=submission_dir,
        input_dir=input_dir,
        command=command,
        image=image or settings.ARENA_RUNTIME_IMAGE,
        use_image_entrypoint=submission.kind == Submission.IMAGE,
        env={
            "ARENA_TASK": task.name,
            "ARENA_ROLE": task.role,
            "ARENA_INPUT": "/input",
            "ARENA_OUTPUT": "/output",
            "ARENA_SEED": str(seed),
        },
        limits=limits_for(phase=submission.phase),
        labels={"arena.submission": str(submission.pk), "arena.purpose": purpose},
    )


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A private scratch folder for one evaluation, removed afterwards.

    It is traversable but not listable (0711): the process backend starts the run as an
    unprivileged user that must reach ``submission/`` and ``input/`` inside it to bind them.
    The decrypted data (``data/``, 0700) and anything else stay unreadable to that user.
    """
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        os.chmod(tmp, 0o711)
        yield Path(tmp)


def _make_readable(folder: Path) -> None:
    """The run user is unprivileged: it must be able to read what /input holds, nothing more."""
    os.chmod(folder, 0o755)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(Path(root) / name, 0o755)
        for name in files:
            os.chmod(Path(root) / name, 0o644)


@dataclass
class Workspace:
    """A submission's code, unpacked or loaded once and reused by all its runs."""

    submission_dir: Path
    command: tuple[str, ...]
    image: str | None = None

    def close(self) -> None:
        if self.image:
            try:
                sandbox.remove_image(self.image)
            except Exception:
                log.exception("could not remove image %s", self.image)


def workspace_open(*, submission: Submission, scratch: Path) -> Workspace:
    upload = scratch / "upload"
    filestore.copy_to(submission.storage_path, upload, encrypted=False, sha256=submission.sha256)
    code_dir = scratch / "submission"
    if submission.kind == Submission.IMAGE:
        code_dir.mkdir(mode=0o755)
        image = sandbox.load_image_archive(upload, max_bytes=settings.ARENA_MAX_UPLOAD_BYTES)
        return Workspace(submission_dir=code_dir, command=(), image=image)
    from submissions.uploads import upload_limits

    command = archive.unpack_submission(upload, code_dir, limits=upload_limits())
    return Workspace(submission_dir=code_dir, command=command)


def sandbox_run(*, spec: RunSpec, output_dir: Path) -> RunResult:
    output_dir.mkdir(parents=True, exist_ok=True)
    backend = settings.ARENA_SANDBOX_BACKEND or None
    try:
        return sandbox.run(spec, output_dir=output_dir, backend=backend)
    except Exception as exc:  # the sandbox itself broke: not the team's fault
        raise InfrastructureFault(f"sandbox failed: {exc}") from exc


def run_record(*, submission: Submission, purpose: str, result: RunResult, saw_hidden_data: bool, target: Submission | None = None,
               started: dt.datetime) -> Run:
    return Run.objects.create(
        submission=submission, purpose=purpose, target=target, backend=result.backend,
        started=started, finished=timezone.now(), wall_seconds=result.wall_seconds, peak_memory_bytes=result.peak_memory_bytes,
        exit_code=result.exit_code, failure_class=result.failure.value if result.failure else "",
        message=result.message, saw_hidden_data=saw_hidden_data, stdout=result.stdout, stderr=result.stderr,
        logs_truncated=result.logs_truncated,
    )


def participant_message(*, error: OutputInvalid, saw_hidden_data: bool) -> str:
    """A validation error quotes the offending value; for output derived from hidden data that value
    could carry hidden records out, so the team gets the position and the rule, never the value."""
    if not saw_hidden_data:
        return str(error)
    return f"{error.without_values()}\n(Values from the output are withheld because this run saw hidden data.)"


# --------------------------------------------------------------------------- the pipeline


def submission_evaluate(*, submission_id: int) -> None:
    """Evaluate one submission. Safe to call twice: only a queued (or interrupted) one is run."""
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update(of=("self",)).select_related("competition", "phase", "team").filter(pk=submission_id).first()
        )
        if submission is None or submission.status not in (Submission.QUEUED, Submission.RUNNING, Submission.SCORING):
            return
        Submission.objects.filter(pk=submission.pk).update(attempts=submission.attempts + 1)
        submission.attempts += 1
        submission_services.submission_set_status(submission=submission, status=Submission.RUNNING)

    try:
        _evaluate(submission)
    except InfrastructureFault as exc:
        _infrastructure_failure(submission, str(exc))
    except Exception as exc:  # a platform bug: never blame the team, keep the details for organizers
        log.exception("evaluation of submission %s failed", submission.pk)
        _infrastructure_failure(submission, f"{type(exc).__name__}: {exc}")


def _infrastructure_failure(submission: Submission, detail: str) -> None:
    from . import queue

    Run.objects.create(submission=submission, purpose=Run.EVALUATION, failure_class=Submission.INFRASTRUCTURE,
                       message=detail, saw_hidden_data=True, finished=timezone.now())
    if submission.attempts <= settings.ARENA_MAX_INFRA_RETRIES:
        with transaction.atomic():
            submission_services.submission_set_status(submission=submission, status=Submission.QUEUED)
            transaction.on_commit(lambda: queue.evaluation_enqueue(submission_id=submission.pk))
    else:
        with transaction.atomic():
            submission_services.submission_set_status(
                submission=submission, status=Submission.FAILED, failure_class=Submission.INFRASTRUCTURE,
                error="The platform could not evaluate this submission (an infrastructure fault). "
                      "It does not count against your quota; please submit it again.",
            )


def _fail(submission: Submission, failure_class: str, error: str) -> None:
    with transaction.atomic():
        submission_services.submission_set_status(submission=submission, status=Submission.FAILED, failure_class=failure_class, error=error)


def _evaluate(submission: Submission) -> None:
    task = get_task(submission.task)
    competition, phase = submission.competition, submission.phase
    if competition.is_arena and task.role == Submission.ATTACK:
        _evaluate_arena_attack(submission, task)
        return
    with scratch_dir(f"arena-eval-{submission.pk}-") as scratch:
        data = task_data_materialize(competition=competition, dest=scratch / "data")
        seed = run_seed(competition=competition, purpose=f"submission:{submission.pk}")
        output_dir = scratch / "output"
        saw_hidden = False

        if submission.kind == Submission.FILE:
            prepared = task.prepare(data=data, dest=scratch / "input", check=False, seed=seed)
            output_dir.mkdir()
            filestore.copy_to(submission.storage_path, output_dir / task.output_name, encrypted=False, sha256=submission.sha256)
        else:
            try:
                workspace = workspace_open(submission=submission, scratch=scratch)
            except (archive.SubmissionArchiveInvalid, sandbox.ImageArchiveInvalid) as exc:
                _fail(submission, Submission.EXIT_CODE, f"The archive cannot be run: {exc}")
                return
            try:
                if phase.check_run and task.sees_hidden_data(check=False):
                    if not _check_run(submission, task, data, workspace, scratch, seed):
                        return
                prepared = task.prepare(data=data, dest=scratch / "input", check=False, seed=seed)
                _make_readable(prepared.input_dir)
                saw_hidden = task.sees_hidden_data(check=False)
                spec = run_spec_build(submission=submission, task=task, submission_dir=workspace.submission_dir,
                                      input_dir=prepared.input_dir, command=workspace.command, image=workspace.image,
                                      seed=seed, purpose=Run.EVALUATION)
                started = timezone.now()
                result = sandbox_run(spec=spec, output_dir=output_dir)
            finally:
                workspace.close()
            if result.failure is FailureClass.INFRASTRUCTURE:
                raise InfrastructureFault(result.message)
            run_record(submission=submission, purpose=Run.EVALUATION, result=result, saw_hidden_data=saw_hidden, started=started)
            if not result.ok:
                _fail(submission, result.failure.value, result.message + ("" if not saw_hidden else " (Logs of runs on hidden data are shown to organizers only.)"))
                return

        with transaction.atomic():
            submission_services.submission_set_status(submission=submission, status=Submission.SCORING)
        output_path = output_dir / task.output_name
        try:
            output = task.validate(path=output_path, prepared=prepared)
        except OutputInvalid as exc:
            Run.objects.filter(submission=submission, purpose=Run.EVALUATION).update(message=str(exc))
            _fail(submission, Submission.INVALID_OUTPUT, participant_message(error=exc, saw_hidden_data=saw_hidden))
            return
        scores = task.score(output=output, prepared=prepared, splits=splits_for(phase=phase))
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
    from . import arena

    if submission.kind == Submission.FILE:
        _fail(submission, Submission.INVALID_OUTPUT, uploads.ARENA_ATTACK_FILE)  # refused at upload; kept for older rows
        return
    if submission.phase.check_run and not arena.check_passed_before(submission=submission):
        with scratch_dir(f"arena-eval-{submission.pk}-") as scratch:
            data = task_data_materialize(competition=submission.competition, dest=scratch / "data")
            seed = run_seed(competition=submission.competition, purpose=f"submission:{submission.pk}")
            try:
                workspace = workspace_open(submission=submission, scratch=scratch)
            except (archive.SubmissionArchiveInvalid, sandbox.ImageArchiveInvalid) as exc:
                _fail(submission, Submission.EXIT_CODE, f"The archive cannot be run: {exc}")
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
    _make_readable(prepared.input_dir)
    spec = run_spec_build(submission=submission, task=task, submission_dir=workspace.submission_dir, input_dir=prepared.input_dir,
                          command=workspace.command, image=workspace.image, seed=seed, purpose=Run.CHECK)
    started = timezone.now()
    result = sandbox_run(spec=spec, output_dir=scratch / "check-output")
    if result.failure is FailureClass.INFRASTRUCTURE:
        raise InfrastructureFault(result.message)
    run = run_record(submission=submission, purpose=Run.CHECK, result=result, saw_hidden_data=False, started=started)
    if not result.ok:
        _fail(submission, result.failure.value, f"Check run on the public sample: {result.message} See the run's logs.")
        return False
    try:
        task.validate(path=scratch / "check-output" / task.output_name, prepared=prepared)
    except OutputInvalid as exc:
        Run.objects.filter(pk=run.pk).update(message=str(exc))
        _fail(submission, Submission.INVALID_OUTPUT, f"Check run on the public sample: {exc}")
        return False
    shutil.rmtree(scratch / "check-output", ignore_errors=True)
    return True


def scores_save(*, submission: Submission, scores: dict, release=None) -> None:
    """Save every split's scores and finish the submission in one transaction; push on commit."""
    with transaction.atomic():
        Score.objects.filter(submission=submission).delete()
        Score.objects.bulk_create([
            Score(submission=submission, split=split, metric=key, value=_finite(v.value), ci_low=_finite(v.ci_low),
                  ci_high=_finite(v.ci_high), detail=v.detail or {})
            for split, metrics in scores.items()
            for key, v in metrics.items()
        ])
        if release is not None:
            Submission.objects.filter(pk=submission.pk).update(release_path=release.path, release_sha256=release.sha256)
            submission.release_path, submission.release_sha256 = release.path, release.sha256
        submission_services.submission_set_status(submission=submission, status=Submission.FINISHED)
        _after_finish(submission)


def _after_finish(submission: Submission) -> None:
    """Arena competitions schedule the new defense's column or the new attack's row."""
    if submission.competition.is_arena:
        from . import arena

        arena.arena_schedule_for(submission=submission)


def _finite(value):
    import math

    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def orphaned_submissions_requeue(*, now: dt.datetime | None = None, grace_seconds: float = 120.0) -> int:
    """Queue again every submission that waits as ``queued`` with no job to run it.

    A job that failed before it marked its submission running (a database error, a worker
    killed between dequeue and start) would otherwise leave it queued for good. Submissions
    younger than ``grace_seconds`` are left alone: their job may be on its way (on commit).
    """
    from . import queue as evaluation_queue

    pending = evaluation_queue.submissions_with_jobs()
    if pending is None:
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=grace_seconds)
    orphans = (
        Submission.objects.filter(status=Submission.QUEUED, created__lt=cutoff)
        .exclude(pk__in=pending).order_by("created").values_list("pk", flat=True)
    )
    requeued = 0
    for pk in orphans:
        log.warning("submission %s was queued with no job to run it: queued again", pk)
        evaluation_queue.evaluation_enqueue(submission_id=pk)
        requeued += 1
    return requeued


def stale_runs_reap(*, now: dt.datetime | None = None) -> int:
    """No submission stays running past its time limit plus a margin: requeue it (an infrastructure fault)."""
    from . import arena

    now = now or timezone.now()
    reaped = arena.arena_pairs_reap(now=now)
    for submission in Submission.objects.filter(status__in=[Submission.RUNNING, Submission.SCORING]).select_related("phase", "competition"):
        if arena.is_arena_row_open(submission):
            continue  # its pairs are reaped one by one above
        allowed = 2 * float(submission.phase.limits.get("wall_seconds", 600)) + settings.ARENA_RUN_MARGIN_SECONDS
        if submission.started and (now - submission.started).total_seconds() > allowed:
            _infrastructure_failure(submission, "the worker stopped answering (killed or restarted) past the time limit")
            reaped += 1
    return reaped
