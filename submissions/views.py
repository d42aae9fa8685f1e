"""Pages for a team's submissions: submit, follow, list, choose finals, read allowed logs.

The submit page uploads with XHR straight to the REST API (the session authenticates it)
so the browser can show progress; these views only render and handle the final-selection
form. Each team sees only its own submissions; organizers see all of their competition's.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from competitions import access
from competitions import selectors as competition_selectors
from competitions.leaderboards.selectors import task_metrics, team_history
from competitions.views import competition_context
from config.errors import ArenaError
from evaluation.waiting import queue_position

from . import disclosure, selectors, services
from .events import submission_payload
from .models import Score, Submission


@login_required
def submission_submit(request, slug: str):
    context = competition_context(request, slug)
    competition = context["competition"]
    from evaluation.task_types import get_task

    tasks = []
    for task in [competition.task, *competition.attack_tasks]:
        task_type = get_task(task)
        tasks.append({"name": task, "role": task_type.role, "accepts_file": task_type.accepts_file,
                      "output_name": task_type.output_name})
    phase = competition_selectors.phase_choose(competition=competition, name=None)
    quota = None
    if context["team"] is not None:
        quota = services.quota_state(team=context["team"], phase=phase)
    from django.conf import settings

    context.update(tab="submit", tasks=tasks, phase=phase, phase_open=phase.is_open(), quota=quota,
                   max_upload=settings.ARENA_MAX_UPLOAD_BYTES)
    return render(request, "submissions/submit.html", context)


@login_required
def submission_list(request, slug: str):
    context = competition_context(request, slug)
    competition = context["competition"]
    organizer = context["is_organizer"]
    submissions = list(selectors.submissions_of_team(competition=competition, user=request.user))
    phases = {p.pk: p for p in competition.phases.all()}
    primaries = {}
    for task in {s.task for s in submissions}:
        metrics = task_metrics(competition=competition, task=task)
        primaries[task] = metrics[0] if metrics else None
    rows: list[dict[str, Any]] = []
    for sub in submissions:
        shown = disclosure.submission_view(
            submission=sub, saw_hidden_data=disclosure.submission_saw_hidden_data(runs=sub.runs.all()), organizer=organizer
        )
        phase = phases[sub.phase_id]
        metric = primaries.get(sub.task)
        private_ok = access.may_see_private(phase=phase, organizer=organizer)
        scores = {s.split: s for s in sub.scores.all() if metric and s.metric == metric.key}
        rows.append({
            "submission": sub,
            "metric": metric,
            "public": scores.get(Score.PUBLIC),
            "private": scores.get(Score.PRIVATE) if private_ok else None,
            "private_hidden": not private_ok,
            "active": sub.status in Submission.ACTIVE_STATUSES,
            "error": shown["error_detail"] if organizer else shown["error"],
        })
    history = []
    if context["team"] is not None:
        phase = competition_selectors.phase_choose(competition=competition, name=request.GET.get("phase") or None)
        history = team_history(phase=phase, team_id=context["team"].pk, include_private=access.may_see_private(phase=phase, organizer=organizer))
    context.update(tab="submissions", rows=rows, history=history,
                   active_ids=[r["submission"].pk for r in rows if r["active"]])
    return render(request, "submissions/list.html", context)


@login_required
@require_POST
def submission_select_view(request, submission_id: int):
    submission, _ = selectors.submission_get(submission_id=submission_id, user=request.user)
    if not access.may_choose_finals(submission=submission, user=request.user):
        raise Http404(f"No submission {submission_id}.")
    selected = request.POST.get("selected") == "true"
    try:
        services.submission_select(submission=submission, selected=selected)
        messages.success(request, f"#{submission.pk} is {'now' if selected else 'no longer'} a final submission.")
    except ArenaError as exc:
        messages.error(request, exc.message)
    return redirect("submission-list", slug=submission.competition.slug)


@login_required
def submission_detail(request, submission_id: int):
    submission, organizer = selectors.submission_get(submission_id=submission_id, user=request.user)
    context = competition_context(request, submission.competition.slug)
    metrics = task_metrics(competition=submission.competition, task=submission.task)
    private_ok = access.may_see_private(phase=submission.phase, organizer=organizer)
    by_split: dict[str, dict] = {Score.PUBLIC: {}, Score.PRIVATE: {}}
    for score in submission.scores.all():
        by_split[score.split][score.metric] = score
    score_rows = [
        {"metric": m, "public": by_split[Score.PUBLIC].get(m.key), "private": by_split[Score.PRIVATE].get(m.key) if private_ok else None}
        for m in metrics
    ]
    runs = submission.runs.all()
    shown = disclosure.submission_view(
        submission=submission, saw_hidden_data=disclosure.submission_saw_hidden_data(runs=runs), organizer=organizer
    )
    if organizer:
        services.submission_hidden_detail_read(submission=submission, actor=request.user, via="page")
    context.update(tab="submissions", submission=submission, score_rows=score_rows, private_ok=private_ok,
                   shown=shown, runs=[{**disclosure.run_view(run=run, organizer=organizer), "label": run.get_purpose_display()} for run in runs],
                   organizer_view=organizer, payload=submission_payload(submission, organizer=organizer),
                   queue=queue_position(submission=submission))
    return render(request, "submissions/detail.html", context)
