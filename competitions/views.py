"""Server-rendered pages for competitions, leaderboards, teams, scenarios and organizers.

Thin views: each reads through the selectors and writes through the services, exactly as
the REST API does; live parts of the pages subscribe to the websockets in config/ws_routing.
Visibility rules are the selectors' (unpublished competitions 404, private boards hidden
until the reveal except to organizers, invite codes for members only).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.services import user_register
from audit.services import audit_denied
from config.errors import ArenaError, InvalidInput, NotFound
from config.errors import status_code as error_status
from evaluation import identifiability
from evaluation import selectors as arena_selectors
from evaluation.task_types import get_task
from submissions import selectors as submission_selectors
from submissions import services as submission_services
from submissions.models import Score, Submission

from . import access, selectors, services
from .bundles import BundleInvalid
from .leaderboards import charts, explain
from .leaderboards.selectors import (
    board_tasks,
    leaderboard_csv,
    leaderboard_snapshot,
    pareto_axes,
    score_history,
)
from .models import Dataset, StartingKit

# --------------------------------------------------------------------------- helpers


def competition_context(request, slug: str) -> dict:
    """What every competition page needs: the competition, the caller's role and team."""
    competition = selectors.competition_get(slug=slug, user=request.user)
    return {
        "competition": competition,
        "is_organizer": access.may_organize(competition=competition, user=request.user),
        "team": selectors.team_of(competition=competition, user=request.user),
    }


def _task_choose(competition, name: str | None) -> str:
    tasks = board_tasks(competition=competition)
    if name and name not in tasks:
        raise Http404(f"Competition '{competition.slug}' has no task {name!r}.")
    return name or tasks[0]


# --------------------------------------------------------------------------- public pages


def home(request):
    competitions = list(selectors.competitions_visible(user=request.user).prefetch_related("phases"))
    now = timezone.now()
    cards = []
    for competition in competitions:
        phases = list(competition.phases.all())
        open_phase = next((p for p in reversed(phases) if p.is_open(now)), None)
        cards.append({"competition": competition, "open_phase": open_phase, "phases": phases})
    published = [c for c in competitions if c.published]
    return render(request, "home.html", {
        "cards": cards,
        "activity": submission_selectors.recent_finished(competitions=published),
        "live_slugs": [c.slug for c in published],
    })


def glossary(request):
    """Every term the pages explain on hover, on one page (the tooltips link here)."""
    entries = sorted(explain.GLOSSARY, key=lambda e: e["term"].lower())
    return render(request, "glossary.html", {"entries": entries})


def competition_detail(request, slug: str):
    context = competition_context(request, slug)
    competition = context["competition"]
    phases = list(competition.phases.all())
    now = timezone.now()
    start = min((p.start for p in phases), default=now)
    ends = [p.end for p in phases if p.end]
    finish = max(ends + [now]) if ends else now
    span = max((finish - start).total_seconds(), 1.0)
    timeline = []
    for phase in phases:
        left = (phase.start - start).total_seconds() / span * 100
        right = ((phase.end or finish) - start).total_seconds() / span * 100
        timeline.append({"phase": phase, "left": round(left, 2), "width": round(max(right - left, 1.5), 2)})
    metrics_by_task = []
    for task in board_tasks(competition=competition):
        metrics_by_task.append({"task": task, "metrics": [m for m in competition.metrics.all() if m.task == task]})
    context.update(
        phases=phases,
        timeline=timeline,
        now_position=round((now - start).total_seconds() / span * 100, 2),
        public_datasets=[d for d in competition.datasets.all() if d.visibility == Dataset.PUBLIC],
        hidden_datasets=[d for d in competition.datasets.all() if d.visibility == Dataset.HIDDEN],
        starting_kit=StartingKit.objects.filter(competition=competition).first(),
        metrics_by_task=metrics_by_task,
        tab="overview",
    )
    return render(request, "competitions/detail.html", context)


def _report_links(*, phase, split: str, entries: list[dict], organizer: bool, team) -> set[int]:
    """The submissions among a board's rows (or the matrix's defenses) whose identifiability
    report on ``split`` the viewer may read: the template links exactly these."""
    return {
        entry["submission"] for entry in entries
        if access.may_read_report(phase=phase, split=split, organizer=organizer,
                                  own=bool(entry.get("baseline")) or (team is not None and entry.get("team_id") == team.pk))
    }


def competition_leaderboard(request, slug: str):
    context = competition_context(request, slug)
    competition = context["competition"]
    phase = selectors.phase_choose(competition=competition, name=request.GET.get("phase") or None)
    task = _task_choose(competition, request.GET.get("task"))
    organizer = context["is_organizer"]
    public = leaderboard_snapshot(phase=phase, split=Score.PUBLIC, task=task)
    private_for_all = phase.private_visible()
    private = leaderboard_snapshot(phase=phase, split=Score.PRIVATE, task=task) if access.may_see_private(phase=phase, organizer=organizer) else None
    split = request.GET.get("split") if request.GET.get("split") in (Score.PUBLIC, Score.PRIVATE) else Score.PUBLIC
    role = get_task(task).role
    pareto = pareto_axes(competition=competition, metrics=public["metrics"]) if role == Submission.DEFENSE else None
    history = score_history(phase=phase, task=task)
    # Arenas: the attack × defense matrix under the boards, refetched live on every change. It
    # follows the chosen tab where that split may be read here (the private one once revealed,
    # or for organizers), else it stays on the public split and says so.
    matrix_split = Score.PRIVATE if split == Score.PRIVATE and private is not None else Score.PUBLIC
    matrix = arena_selectors.arena_matrix_shared(phase=phase, split=matrix_split) if competition.is_arena else None
    matrix_url = (reverse("api-arena-matrix", kwargs={"slug": competition.slug}) + "?" + urlencode({"phase": phase.name})
                  if matrix is not None else None)
    report_url = reverse("submission-report", kwargs={"submission_id": 0}).replace("/0/", "/{id}/")
    team = context["team"]
    reports = {
        "public": _report_links(phase=phase, split=Score.PUBLIC, entries=public["rows"], organizer=organizer, team=team),
        "private": _report_links(phase=phase, split=Score.PRIVATE, entries=private["rows"], organizer=organizer, team=team)
        if private is not None else set(),
        "matrix": _report_links(phase=phase, split=matrix_split, entries=matrix["defenses"], organizer=organizer, team=team)
        if matrix is not None else set(),
    }
    context.update(
        tab="leaderboard",
        phase=phase,
        phases=list(competition.phases.all()),
        tasks=board_tasks(competition=competition),
        task=task,
        split=split,
        public=public,
        private=private,
        private_for_all=private_for_all,
        has_roc=any("roc" in row for row in public["rows"]),
        pareto=pareto,
        defense_board=role == Submission.DEFENSE,
        reports=reports,
        matrix=matrix,
        matrix_bands=identifiability.risk_bands(),
        page_data={
            "slug": competition.slug,
            "phase": phase.name,
            "task": task,
            "split": split,
            "public": public,
            "private": private,
            "privateForAll": private_for_all,
            "organizer": organizer,
            "history": history,
            "pareto": pareto,
            "myTeam": context["team"].pk if context["team"] else None,
            "defenseBoard": role == Submission.DEFENSE,
            "reportUrl": report_url,
            "matrixUrl": matrix_url,
            "matrixSplit": matrix_split,
            "explanations": explain.glossary_for(task=task, metrics=public["metrics"]),
            "matrixExplanations": explain.matrix_explanations(matrix=matrix),
        },
    )
    return render(request, "competitions/leaderboard.html", context)


def competition_leaderboard_csv(request, slug: str):
    competition = selectors.competition_get(slug=slug, user=request.user)
    phase = selectors.phase_choose(competition=competition, name=request.GET.get("phase") or None)
    task = _task_choose(competition, request.GET.get("task"))
    split = request.GET.get("split", Score.PUBLIC)
    if split not in (Score.PUBLIC, Score.PRIVATE):
        raise Http404(f"No split {split!r}.")
    if split == Score.PRIVATE and not access.may_see_private(phase=phase, user=request.user):
        raise PermissionDenied("The private leaderboard is hidden until the organizers reveal it or the phase ends.")
    snapshot = leaderboard_snapshot(phase=phase, split=split, task=task)
    response = HttpResponse(leaderboard_csv(snapshot), content_type="text/csv; charset=utf-8")
    filename = f"{competition.slug}-{phase.name}-{task}-{split}.csv".replace(" ", "_")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def competition_scenario(request, slug: str):
    context = competition_context(request, slug)
    competition = context["competition"]
    phase = selectors.phase_choose(competition=competition, name=request.GET.get("phase") or None)
    boards = [leaderboard_snapshot(phase=phase, split=Score.PUBLIC, task=t) for t in board_tasks(competition=competition)]
    matrix = arena_selectors.arena_matrix_shared(phase=phase, split=Score.PUBLIC) if competition.is_arena else None
    roles = {board["task"]: get_task(board["task"]).role for board in boards}
    context.update(tab="scenario", phase=phase,
                   game=arena_selectors.membership_game_overview(phase=phase),
                   **charts.scenario_page(competition=competition, boards=boards, roles=roles, matrix=matrix))
    return render(request, "competitions/scenario.html", context)


# --------------------------------------------------------------------------- teams


@login_required
@require_http_methods(["GET", "POST"])
def competition_team(request, slug: str):
    context = competition_context(request, slug)
    competition = context["competition"]
    if request.method == "POST" and context["team"] is None:
        action = request.POST.get("action")
        try:
            if action == "create":
                services.team_create(competition=competition, user=request.user, name=request.POST.get("name", ""))
                messages.success(request, "Your team is ready. Share the invite code with your teammates.")
                return redirect("competition-team", slug=slug)
            if action == "join":
                team = selectors.team_by_invite_code(competition=competition, invite_code=request.POST.get("invite_code", ""))
                if team is None:
                    raise NotFound("invite_code: no team of this competition has this invite code.")
                services.team_join(team=team, user=request.user, invite_code=request.POST.get("invite_code", "").strip())
                messages.success(request, f"You joined {team.name}.")
                return redirect("competition-team", slug=slug)
            raise InvalidInput("Choose to create a team or to join one.")
        except ArenaError as exc:
            context["error"] = exc.message
            context["form_action"] = action
            return render(request, "competitions/team.html", {**context, "tab": "team"}, status=error_status(exc))
    if context["team"] is not None:
        context["members"] = selectors.team_members(team=context["team"])
    context["tab"] = "team"
    return render(request, "competitions/team.html", context)


# --------------------------------------------------------------------------- accounts


class RegisterForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.fields["email"].help_text = "For messages about your submissions; never shown to others."


@require_http_methods(["GET", "POST"])
def register(request):
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_register(username=form.cleaned_data["username"], email=form.cleaned_data["email"],
                                 password=form.cleaned_data["password1"])
        except ArenaError as exc:
            field, _, message = exc.message.partition(": ")
            form.add_error("password1" if field == "password" else field if field in form.fields else None, message or exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            target = request.POST.get("next") or "/"
            if not target.startswith("/") or target.startswith("//") or "\\" in target:
                target = "/"
            return redirect(target)
    return render(request, "registration/register.html", {"form": form, "next": request.GET.get("next") or request.POST.get("next", "")},
                  status=400 if request.method == "POST" else 200)


# --------------------------------------------------------------------------- organizers


@login_required
@require_http_methods(["GET", "POST"])
def organize_index(request):
    can_create = access.may_create_competitions(user=request.user)
    context = {"organized": selectors.competitions_organized(user=request.user), "can_create": can_create, "errors": []}
    if request.method == "POST":
        if not can_create:
            raise PermissionDenied("Only organizers can create competitions.")
        upload = request.FILES.get("bundle")
        if upload is None:
            context["errors"] = [("bundle", "choose a bundle file (a zip or tar.gz of the competition folder)")]
            return render(request, "organize/index.html", context, status=400)
        from django.conf import settings

        if upload.size > settings.ARENA_MAX_BUNDLE_BYTES:
            context["errors"] = [("bundle", f"the bundle is larger than {settings.ARENA_MAX_BUNDLE_BYTES:,} bytes")]
            return render(request, "organize/index.html", context, status=413)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bundle"
            with open(path, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            try:
                competition = services.competition_import(
                    path=path, user=request.user, replace=request.POST.get("replace") == "on",
                    discard_submissions=request.POST.get("discard_submissions") == "on",
                )
            except BundleInvalid as exc:
                context["errors"] = exc.errors
                return render(request, "organize/index.html", context, status=400)
            except ArenaError as exc:
                field, _, message = exc.message.partition(": ")
                context["errors"] = [(field, message)] if message else [("bundle", exc.message)]
                return render(request, "organize/index.html", context, status=error_status(exc))
        messages.success(request, f"Imported {competition.title}. Its baselines are queued for evaluation.")
        return redirect("organize-competition", slug=competition.slug)
    return render(request, "organize/index.html", context)


def organizer_context(request, slug: str) -> dict:
    context = competition_context(request, slug)
    if not context["is_organizer"]:
        audit_denied(actor=request.user, competition_slug=slug, target=f"{request.method} {request.path}",
                     reason="not an organizer")
        raise Http404(f"No competition '{slug}' to organize.")  # as if it did not exist: nothing to learn here
    return context


@login_required
def organize_competition(request, slug: str):
    context = organizer_context(request, slug)
    competition = context["competition"]
    submissions = list(submission_selectors.submissions_of_competition(competition=competition)[:200])
    counts = {status: 0 for status, _ in Submission.STATUSES}
    for status in submission_selectors.submissions_of_competition(competition=competition).values_list("status", flat=True):
        counts[status] += 1
    context.update(tab="organize", submissions=submissions, counts=counts, phases=list(competition.phases.all()))
    return render(request, "organize/competition.html", context)


@login_required
@require_POST
def organize_action(request, slug: str):
    context = organizer_context(request, slug)
    competition = context["competition"]
    action = request.POST.get("action")
    try:
        if action == "reveal":
            phase = selectors.phase_choose(competition=competition, name=request.POST.get("phase") or None)
            services.phase_reveal(phase=phase, actor=request.user)
            messages.success(request, f"The private leaderboard of {phase.name} is now public.")
        elif action in ("publish", "unpublish"):
            services.competition_update(competition=competition, published=action == "publish", actor=request.user)
            messages.success(request, "Published: spectators can now watch." if action == "publish" else "Unpublished.")
        elif action == "rerun":
            submission = submission_selectors.submissions_of_competition(competition=competition).filter(
                pk=request.POST.get("submission") or 0).first()
            if submission is None:
                raise Http404("No such submission in this competition.")
            submission_services.submission_rerun(submission=submission, actor=request.user)
            messages.success(request, f"Submission #{submission.pk} is queued again.")
        else:
            raise InvalidInput(f"Unknown action {action!r}.")
    except ArenaError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("organize-competition", kwargs={"slug": slug}))
