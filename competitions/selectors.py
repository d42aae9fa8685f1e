"""Reads with rules: who may see which competition, team and data."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from .models import Competition, Phase, Team, TeamMembership


def competitions_visible(*, user) -> QuerySet[Competition]:
    """Published competitions for everyone; unpublished ones for their organizers and staff."""
    qs = Competition.objects.all()
    if user is not None and user.is_authenticated:
        if user.is_staff:
            return qs
        return (qs.filter(published=True) | qs.filter(organizers=user)).distinct()
    return qs.filter(published=True)


def competition_get(*, slug: str, user) -> Competition:
    competition = competitions_visible(user=user).filter(slug=slug).prefetch_related("phases", "metrics", "datasets").first()
    if competition is None:
        raise Http404(f"No competition '{slug}'.")
    return competition


def competition_phases(*, slug: str, user) -> list[Phase] | None:
    """The phases of a competition the user may see, all sharing one competition, in one query.

    None when there is no such competition or the user may not see it; an empty list when it
    has no phases. The leaderboard reads (API and websocket) start here: it is their only
    database query once the board itself is cached.
    """
    visible = competitions_visible(user=user)
    if user is None or not user.is_authenticated:
        phases = list(Phase.objects.select_related("competition").filter(competition__slug=slug, competition__published=True))
    else:
        phases = list(Phase.objects.select_related("competition").filter(competition__slug=slug, competition__in=visible))
    if not phases:
        return [] if visible.filter(slug=slug).exists() else None
    for phase in phases[1:]:
        phase.competition = phases[0].competition
    return phases


def is_organizer(*, competition: Competition, user) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return user.is_staff or competition.organizers.filter(pk=user.pk).exists()


def team_of(*, competition: Competition, user) -> Team | None:
    if user is None or not user.is_authenticated:
        return None
    membership = TeamMembership.objects.filter(competition=competition, user=user).select_related("team").first()
    return membership.team if membership else None


def team_by_invite_code(*, competition: Competition, invite_code: str) -> Team | None:
    """The competition's team holding this invite code (the join page asks for the code only)."""
    code = (invite_code or "").strip()
    if not code:
        return None
    return Team.objects.filter(competition=competition, invite_code=code).first()


def team_members(*, team: Team) -> list:
    return [m.user for m in TeamMembership.objects.filter(team=team).select_related("user").order_by("joined")]


def competitions_organized(*, user) -> QuerySet[Competition]:
    if user is None or not user.is_authenticated:
        return Competition.objects.none()
    if user.is_staff:
        return Competition.objects.all()
    return Competition.objects.filter(organizers=user)


def can_create_competitions(*, user) -> bool:
    return bool(user and user.is_authenticated and (user.is_staff or user.has_perm("competitions.add_competition")))


def phase_choose(*, competition, name: str | None) -> Phase:
    """The competition's phase called ``name``, or by default (``None``) the latest open one (else the latest)."""
    return phase_choose_among(phases=list(competition.phases.all()), slug=competition.slug, name=name)


def phase_choose_among(*, phases: list[Phase], slug: str, name: str | None) -> Phase:
    """:func:`phase_choose` over phases already read (``slug`` names the competition in the error)."""
    if not phases:
        raise Http404(f"Competition '{slug}' has no phases.")
    if name is None:
        open_phases = [p for p in phases if p.is_open()]
        return (open_phases or phases)[-1]
    for phase in phases:
        if phase.name == name:
            return phase
    raise Http404(f"Competition '{slug}' has no phase {name!r} (it has: {', '.join(p.name for p in phases)}).")


def phase_open_latest(*, competition, at=None) -> Phase | None:
    """The latest phase open for submissions at ``at`` (now by default); ``None`` when none is open.

    Unlike :func:`phase_choose` it never falls back to a closed phase: it answers where a
    submission would go.
    """
    at = at or timezone.now()
    open_phases = [p for p in competition.phases.all() if p.is_open(at)]
    return open_phases[-1] if open_phases else None
