"""Writes for submissions: create (validate, quota, store), select finals, cancel, status changes.

Every status change goes through :func:`submission_set_status`, which also schedules the
realtime push on commit, so no code path can change a status without the watchers hearing.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_record
from competitions import access, filestore
from competitions import selectors as competition_selectors
from competitions.models import Competition, Phase, Team
from config.errors import Conflict, InvalidInput, LimitReached, TooLarge

from . import events, uploads
from .models import Submission


class QuotaExceeded(LimitReached):
    """The team's submission quota for the phase is used up."""


class StatusWriteRefused(Exception):
    """A status write that would change a finished, failed or cancelled submission (other than by
    an organizer's rerun), or that names an attempt which is no longer the current one: it
    changed nothing (see :mod:`evaluation.attempts`)."""


@dataclass(frozen=True)
class QuotaState:
    used_today: int
    used_total: int
    per_day: int
    total: int | None
    next_allowed: dt.datetime | None  # None: allowed now


def quota_state(*, team: Team, phase: Phase, now: dt.datetime | None = None) -> QuotaState:
    """How much of the phase's quota the team has used; infrastructure failures don't count."""
    now = now or timezone.now()
    day_start = now.astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    counted = [
        s for s in Submission.objects.filter(team=team, phase=phase).only("status", "failure_class", "started", "created")
        if s.counts_against_quota
    ]
    used_today = sum(1 for s in counted if s.created >= day_start)
    used_total = len(counted)
    next_allowed = None
    if phase.max_submissions_total is not None and used_total >= phase.max_submissions_total:
        next_allowed = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    elif used_today >= phase.max_submissions_per_day:
        next_allowed = day_start + dt.timedelta(days=1)
    return QuotaState(used_today, used_total, phase.max_submissions_per_day, phase.max_submissions_total, next_allowed)


def _quota_check(*, team: Team, phase: Phase) -> None:
    state = quota_state(team=team, phase=phase)
    if state.next_allowed is None:
        return
    if state.total is not None and state.used_total >= state.total:
        raise QuotaExceeded(
            f"Your team has used all {state.total} submissions of phase '{phase.name}'.",
            detail={"used_total": state.used_total, "limit_total": state.total, "next_allowed": None},
        )
    seconds = max(1, int((state.next_allowed - timezone.now()).total_seconds()))
    raise QuotaExceeded(
        f"Your team has used its {state.per_day} submissions for today (UTC) in phase '{phase.name}'. "
        f"The next submission is allowed at {state.next_allowed.isoformat().replace('+00:00', 'Z')}.",
        detail={"used_today": state.used_today, "limit_per_day": state.per_day,
                "next_allowed": state.next_allowed.isoformat().replace("+00:00", "Z")},
        retry_after=seconds,
    )


def _resolve_task(*, competition: Competition, role: str | None, task: str | None) -> tuple[str, str]:
    from evaluation.task_types import get_task

    tasks = [competition.task, *competition.attack_tasks]
    if task:
        if task not in tasks:
            raise InvalidInput(f"task: this competition has no task {task!r} (it has: {', '.join(tasks)}).")
        task_role = get_task(task).role
        if role and role != task_role:
            raise InvalidInput(f"role: task {task} is a {task_role} task, not {role}.")
        return task_role, task
    if role:
        if role not in (Submission.DEFENSE, Submission.ATTACK):
            raise InvalidInput("role: expected 'defense' or 'attack'.")
        matching = [t for t in tasks if get_task(t).role == role]
        if not matching:
            raise InvalidInput(f"role: this competition takes no {role} submissions.")
        if len(matching) > 1:
            raise _choice_needed(competition=competition, choices=[(role, t) for t in matching])
        return role, matching[0]
    if len(tasks) > 1:  # guessing would run an attack as a defense (or the reverse) and waste a slot
        raise _choice_needed(competition=competition, choices=[(get_task(t).role, t) for t in tasks])
    return get_task(competition.task).role, competition.task


def _choice_needed(*, competition: Competition, choices: list[tuple[str, str]]) -> InvalidInput:
    listed = "; ".join(f"role={role} task={task}" for role, task in choices)
    return InvalidInput(
        f"task: competition '{competition.slug}' takes several kinds of submission; name the one this is "
        f"with 'role' and 'task' ({listed}). Nothing was stored and no quota was used.",
        detail={"choices": [{"role": role, "task": task} for role, task in choices]},
    )


def submission_create(
    *,
    competition: Competition,
    team: Team,
    user,
    upload: BinaryIO,
    filename: str,
    size: int,
    role: str | None = None,
    task: str | None = None,
    description: str = "",
    phase: Phase | None = None,
) -> Submission:
    """Check and store an upload, then queue its evaluation once the transaction commits."""
    if size > settings.ARENA_MAX_UPLOAD_BYTES:
        raise TooLarge(f"file: {filename} is {size:,} bytes; the limit is {settings.ARENA_MAX_UPLOAD_BYTES:,} bytes.")
    phase = phase or competition_selectors.phase_open_latest(competition=competition)
    if phase is None or not phase.is_open():
        raise Conflict(f"Competition '{competition.slug}' has no phase open for submissions now.")
    role, task = _resolve_task(competition=competition, role=role, task=task)

    with tempfile.TemporaryDirectory(prefix="arena-upload-") as tmp:
        local = Path(tmp) / "upload"
        with open(local, "wb") as out:
            copied = 0
            for block in iter(lambda: upload.read(1024 * 1024), b""):
                copied += len(block)
                if copied > settings.ARENA_MAX_UPLOAD_BYTES:
                    raise TooLarge(f"file: {filename} is larger than {settings.ARENA_MAX_UPLOAD_BYTES:,} bytes.")
                out.write(block)
        kind = uploads.upload_check(path=local, filename=filename, task=task)
        uploads.upload_check_output(path=local, kind=kind, competition=competition, task=task)

        stored = None
        try:
            with transaction.atomic():
                Team.objects.select_for_update().get(pk=team.pk)  # serialises quota checks per team
                _quota_check(team=team, phase=phase)
                stored = filestore.store_path(local, folder=f"submissions/{competition.slug}", encrypt=False, filename=filename)
                submission = Submission.objects.create(
                    competition=competition, phase=phase, team=team, submitted_by=user, role=role, task=task,
                    kind=kind, description=description[:500], storage_path=stored.path,
                    original_filename=Path(filename).name[:255], sha256=stored.sha256, size=stored.size,
                )
                events.submission_changed(submission)
                _enqueue_on_commit(submission)
        except BaseException:
            if stored is not None:  # the row was rolled back: the file must not linger
                filestore.delete(stored.path)
            raise
    return submission


def baseline_create(*, competition: Competition, phase: Phase, name: str, role: str, task: str, path: Path, description: str = "") -> Submission:
    """An organizer reference submission: evaluated like any other, shown as a marked row."""
    kind = uploads.upload_check(path=path, filename=path.name, task=task)
    stored = filestore.store_path(path, folder=f"baselines/{competition.slug}", encrypt=False)
    submission = Submission.objects.create(
        competition=competition, phase=phase, team=None, role=role, task=task, kind=kind,
        description=description[:500], storage_path=stored.path, original_filename=path.name,
        sha256=stored.sha256, size=stored.size, is_baseline=True, baseline_name=name,
    )
    events.submission_changed(submission)
    _enqueue_on_commit(submission)
    return submission


def _enqueue_on_commit(submission: Submission, *, organizer: bool = False) -> None:
    from evaluation import queue

    # Robust: a queue that is away now (Redis restarting) must not undo an accepted upload; the
    # reaper enqueues what no job waits for (evaluation.services.orphaned_submissions_requeue).
    transaction.on_commit(lambda: queue.evaluation_enqueue(submission_id=submission.pk, organizer=organizer), robust=True)


def submission_select(*, submission: Submission, selected: bool = True) -> Submission:
    """Mark a finished submission as one of its team's finals for the private leaderboard.

    Only while the private scores are hidden from the team: after the phase ended or its board
    was revealed, a team could otherwise pick its best private score."""
    frozen = access.may_change_final_selection(phase=submission.phase)
    if frozen is not None:
        raise Conflict(f"Final submissions can no longer be changed: {frozen}.", detail={"phase": submission.phase.name})
    if submission.is_baseline:
        raise Conflict("Baselines cannot be selected.")
    if submission.status != Submission.FINISHED:
        raise Conflict(f"Only finished submissions can be selected; #{submission.pk} is {submission.status}.")
    assert submission.team_id is not None  # not a baseline, so a team's
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=submission.team_id)
        if selected and not submission.selected:
            others = Submission.objects.filter(team=submission.team, phase=submission.phase, task=submission.task, selected=True)
            limit = submission.phase.max_final_selections
            if others.count() >= limit:
                raise Conflict(
                    f"Your team already has {limit} final submission(s) for {submission.task} in phase "
                    f"'{submission.phase.name}'; unselect one first.",
                    detail={"selected": list(others.values_list("pk", flat=True))},
                )
        Submission.objects.filter(pk=submission.pk).update(selected=selected)
        submission.selected = selected
        events.leaderboard_changed(submission.phase)
    return submission


def submission_set_status(
    *, submission: Submission, status: str, failure_class: str = "", error: str = "", error_detail: str | None = None,
    rule: str = "", now: dt.datetime | None = None, retry_at: dt.datetime | None = None, rerun: bool = False,
) -> Submission:
    """The one place a submission's status changes; watchers hear of it after commit.

    ``error`` is what the team reads, ``error_detail`` (``error`` when not given) what the
    organizers read: see :mod:`submissions.disclosure`.

    The write names what the caller holds: only a submission still queued, running or scoring
    changes (a finished, failed or cancelled one only by an organizer's ``rerun``), and only while
    the instance's ``attempt_id`` is still the current attempt's. Otherwise nothing changes and
    :class:`StatusWriteRefused` is raised. ``started`` is the current attempt's start: set when
    an attempt begins, cleared when the submission goes back to the queue (so a cancel then is
    not charged); ``retry_at`` holds a retry back until then.
    """
    now = now or timezone.now()
    fields: dict[str, Any] = {"status": status}
    if status == Submission.RUNNING:
        fields["started"] = now
    if status == Submission.SCORING:
        fields["scoring_started"] = now
    if status in (Submission.FINISHED, Submission.FAILED, Submission.CANCELLED):
        fields["finished"] = now
        fields["failure_class"] = failure_class
        fields["error"] = error
        fields["error_detail"] = error if error_detail is None else error_detail
        fields["rule"] = rule
    if status == Submission.QUEUED:
        fields.update(failure_class="", error="", error_detail="", rule="", finished=None, started=None, scoring_started=None, attempt_id=None,
                      worker="", heartbeat=None, retry_at=retry_at)
    rows = Submission.objects.filter(pk=submission.pk)
    if not rerun:
        rows = rows.filter(status__in=Submission.ACTIVE_STATUSES)
        if submission.attempt_id is not None:
            rows = rows.filter(attempt_id=submission.attempt_id)
    if not rows.update(**fields):
        raise StatusWriteRefused(f"submission {submission.pk}: {status} refused (it ended, or attempt "
                                 f"{submission.attempt_id} is no longer current)")
    for name, value in fields.items():
        setattr(submission, name, value)
    events.submission_changed(submission)
    if status in (Submission.FINISHED, Submission.FAILED) and submission.phase_id:
        events.leaderboard_changed(submission.phase)
    return submission


def submission_cancel(*, submission: Submission, actor=None) -> Submission:
    """Cancel a queued submission. One queued again after an infrastructure fault has no start of
    its own (its attempt was given up), so its cancel is not charged either."""
    with transaction.atomic():
        current = Submission.objects.select_for_update().get(pk=submission.pk)
        if current.status != Submission.QUEUED:
            raise Conflict(f"Only queued submissions can be cancelled; #{submission.pk} is {current.status}.")
        submission.status, submission.attempt_id, submission.started = current.status, current.attempt_id, current.started
        audit_record(action=AuditEvent.CANCEL, actor=actor, competition_slug=submission.competition.slug,
                     target=f"submission:{submission.pk}")
        return submission_set_status(submission=submission, status=Submission.CANCELLED, error="Cancelled before it ran.")


def submission_rerun(*, submission: Submission, actor=None) -> Submission:
    """Organizers: evaluate a finished or failed submission again from the start.

    For when the data, a task type or the platform was fixed. Its scores leave the
    leaderboards until the new evaluation finishes; earlier runs stay on record. A rerun
    is the organizers' doing and so never counts against the team's quota.
    """
    from .models import Score

    if submission.status in Submission.ACTIVE_STATUSES:
        raise Conflict(f"Submission #{submission.pk} is {submission.status} already; wait for it to finish.")
    with transaction.atomic():
        audit_record(action=AuditEvent.RERUN, actor=actor, competition_slug=submission.competition.slug,
                     target=f"submission:{submission.pk}", detail={"previous_status": submission.status})
        Score.objects.filter(submission=submission).delete()
        Submission.objects.filter(pk=submission.pk).update(attempts=0, started=None, scoring_started=None)
        submission.attempts, submission.started, submission.scoring_started = 0, None, None
        submission_set_status(submission=submission, status=Submission.QUEUED, rerun=True)
        events.leaderboard_changed(submission.phase)
        _enqueue_on_commit(submission, organizer=True)  # behind the teams' own work
    return submission


def submission_hidden_detail_read(*, submission: Submission, actor, via: str) -> None:
    """Record that an organizer read what runs on hidden data left behind (their logs, their
    full error detail): teams never see it, so who did is for the audit log."""
    hidden_runs = [run.pk for run in submission.runs.all() if run.saw_hidden_data]
    if hidden_runs:
        audit_record(action=AuditEvent.HIDDEN_READ, actor=actor, competition_slug=submission.competition.slug,
                     target=f"submission:{submission.pk}", detail={"runs": hidden_runs, "via": via})
