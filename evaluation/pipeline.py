"""The building blocks of every evaluation, written once: one program run, one output check,
one score write.

A *program run* (:class:`ProgramRun`) says which program runs (a submission's workspace), on
which inputs (an ``/input`` folder a task type prepared), what it may have seen (hidden data
or only the public sample), and why it runs (its ``Run`` purpose: check, evaluation, arena
pair). The blocks do not care whose run it is: the submission flow
(:mod:`evaluation.services`) and the arena (:mod:`evaluation.arena`) compose them.

This module is a leaf of the evaluation layer: it imports the sandbox, the task types, the
models and the file store, and nothing that schedules or queues. The sandbox never sees
Django: :func:`run_spec_build` translates models and settings into a ``RunSpec``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
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
from config.formats import finite
from evaluation.splits import KeyedSplits
from evaluation.task_types.base import OutputInvalid, Prepared, Schema, ScoreValue, TaskData, TaskType
from sandbox import archive
from sandbox.spec import FailureClass, Limits, RunResult, RunSpec
from submissions import services as submission_services
from submissions.models import Run, Score, Submission
from submissions.uploads import upload_limits

log = logging.getLogger(__name__)


class InfrastructureFault(Exception):
    """The platform, not the submission, failed: retried and never counted against quota."""


# --------------------------------------------------------------------------- what a run needs


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


def input_make_readable(folder: Path) -> None:
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


class ProgramUnrunnable(Exception):
    """The submission's archive or image cannot be run at all (the team's fault, not the platform's)."""


def workspace_open(*, submission: Submission, scratch: Path) -> Workspace:
    """Unpack (or load) the submission's code under ``scratch``; :class:`ProgramUnrunnable` when it cannot be."""
    upload = scratch / "upload"
    filestore.copy_to(submission.storage_path, upload, encrypted=False, sha256=submission.sha256)
    code_dir = scratch / "submission"
    try:
        if submission.kind == Submission.IMAGE:
            code_dir.mkdir(mode=0o755)
            image = sandbox.load_image_archive(upload, max_bytes=settings.ARENA_MAX_UPLOAD_BYTES)
            return Workspace(submission_dir=code_dir, command=(), image=image)
        command = archive.unpack_submission(upload, code_dir, limits=upload_limits())
    except (archive.SubmissionArchiveInvalid, sandbox.ImageArchiveInvalid) as exc:
        raise ProgramUnrunnable(f"The archive cannot be run: {exc}") from exc
    return Workspace(submission_dir=code_dir, command=command)


# --------------------------------------------------------------------------- one program run


@dataclass(frozen=True)
class ProgramRun:
    """One run of a team's program, described in full.

    ``submission`` and ``workspace``: which program; ``task`` and ``prepared``: which role it
    plays and what its ``/input`` holds; ``saw_hidden_data``: whether that input derives from
    hidden data (then its logs and the values of its output stay with the organizers);
    ``purpose``: why it runs (a ``Run`` purpose); ``target``: the other side of an arena pair.
    """

    submission: Submission
    workspace: Workspace
    task: TaskType
    prepared: Prepared
    output_dir: Path
    seed: int
    purpose: str
    saw_hidden_data: bool
    target: Submission | None = None


def run_spec_build(*, run: ProgramRun) -> RunSpec:
    submission, task, workspace = run.submission, run.task, run.workspace
    return RunSpec(
        submission_dir=workspace.submission_dir,
        input_dir=run.prepared.input_dir,
        command=workspace.command,
        image=workspace.image or settings.ARENA_RUNTIME_IMAGE,
        use_image_entrypoint=submission.kind == Submission.IMAGE,
        env={
            "ARENA_TASK": task.name,
            "ARENA_ROLE": task.role,
            "ARENA_INPUT": "/input",
            "ARENA_OUTPUT": "/output",
            "ARENA_SEED": str(run.seed),
        },
        limits=limits_for(phase=submission.phase),
        labels={"arena.submission": str(submission.pk), "arena.purpose": run.purpose},
    )


def sandbox_call(*, spec: RunSpec, output_dir: Path) -> RunResult:
    """Hand one spec to the configured sandbox backend; a sandbox that breaks is an :class:`InfrastructureFault`."""
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


def program_run(*, run: ProgramRun) -> tuple[RunResult, Run]:
    """Run the program in the sandbox and record the run.

    The input is made readable to the unprivileged run user first. A failure of the platform
    raises :class:`InfrastructureFault` and records nothing; any other outcome, success or the
    program's own failure, is recorded as a ``Run`` and returned for the caller to judge.
    """
    input_make_readable(run.prepared.input_dir)
    spec = run_spec_build(run=run)
    started = timezone.now()
    result = sandbox_call(spec=spec, output_dir=run.output_dir)
    if result.failure is FailureClass.INFRASTRUCTURE:
        raise InfrastructureFault(result.message)
    record = run_record(submission=run.submission, purpose=run.purpose, result=result, saw_hidden_data=run.saw_hidden_data,
                        target=run.target, started=started)
    return result, record


# --------------------------------------------------------------------------- one output check


def output_check(*, task: TaskType, path: Path, prepared: Prepared, run: Run | None = None):
    """The task type's parsed output at ``path``; raises ``OutputInvalid`` when it breaks a rule.

    The full error (values included) goes on the recorded ``run`` for the organizers; what
    the team is told is :func:`participant_message`'s choice.
    """
    try:
        return task.validate(path=path, prepared=prepared)
    except OutputInvalid as exc:
        if run is not None:
            Run.objects.filter(pk=run.pk).update(message=str(exc))
        raise


def participant_message(*, error: OutputInvalid, saw_hidden_data: bool) -> str:
    """A validation error quotes the offending value; for output derived from hidden data that value
    could carry hidden records out, so the team gets the position and the rule, never the value."""
    if not saw_hidden_data:
        return str(error)
    return f"{error.without_values()}\n(Values from the output are withheld because this run saw hidden data.)"


# --------------------------------------------------------------------------- one score write


def scores_write(*, submission: Submission, scores: dict[str, dict[str, ScoreValue]], keys: set[str] | None = None) -> None:
    """Replace ``submission``'s Score rows for ``keys`` (all its rows when None) by ``scores``.

    ``scores`` maps split → metric key → value; values that are not finite are stored as missing.
    """
    existing = Score.objects.filter(submission=submission)
    if keys is not None:
        existing = existing.filter(metric__in=keys)
    existing.delete()
    Score.objects.bulk_create([
        Score(submission=submission, split=split, metric=key, value=finite(v.value), ci_low=finite(v.ci_low),
              ci_high=finite(v.ci_high), detail=v.detail or {})
        for split, metrics in scores.items()
        for key, v in metrics.items()
    ])


def submission_finish(*, submission: Submission, scores: dict[str, dict[str, ScoreValue]], release=None) -> None:
    """Save every split's scores (and a defense's stored release) and mark the submission finished.

    Runs in one transaction; the leaderboard push follows its commit (see
    :func:`submissions.services.submission_set_status`).
    """
    with transaction.atomic():
        scores_write(submission=submission, scores=scores)
        if release is not None:
            Submission.objects.filter(pk=submission.pk).update(release_path=release.path, release_sha256=release.sha256)
            submission.release_path, submission.release_sha256 = release.path, release.sha256
        submission_services.submission_set_status(submission=submission, status=Submission.FINISHED)


def submission_fail(*, submission: Submission, failure_class: str, error: str) -> None:
    with transaction.atomic():
        submission_services.submission_set_status(submission=submission, status=Submission.FAILED, failure_class=failure_class, error=error)
