"""Who may see or do what. Every such question is answered here, as a boolean.

Views, API views, serializers, templates and services ask these functions and never write a
rule out themselves. The tests of this module read as the access matrix
(``tests/competitions/test_access.py``).

Roles: *staff* (the site's administrators), a competition's *organizers*, a team's
*members*, any logged-in *user*, and anonymous *spectators*. The system itself (a management
command run by the operator, a job) is not a user and is not asked about.
"""

from __future__ import annotations

from django.utils import timezone

from .models import Competition, Phase, Team


def _authenticated(user) -> bool:
    return bool(user is not None and user.is_authenticated)


def may_create_competitions(*, user) -> bool:
    return _authenticated(user) and (user.is_staff or user.has_perm("competitions.add_competition"))


def may_organize(*, competition: Competition, user) -> bool:
    """Organizer actions on one competition: edit, reveal, rerun, read its queue and audit log."""
    if not _authenticated(user):
        return False
    return user.is_staff or competition.organizers.filter(pk=user.pk).exists()


def may_replace(*, competition: Competition, user) -> bool:
    """Replace a competition by importing a bundle with its slug.

    Its own organizers (who may still create competitions) and staff. A competition nobody
    organizes (the demo's, one imported from the command line) belongs to the site: staff only.
    """
    if not _authenticated(user):
        return False
    if user.is_staff:
        return True
    return may_create_competitions(user=user) and competition.organizers.filter(pk=user.pk).exists()


def may_see_private(*, phase: Phase, user=None, organizer: bool | None = None) -> bool:
    """The private split of a phase: organizers always, everyone once revealed or ended.

    ``organizer`` may be passed where the caller already knows it (saves a query)."""
    if phase.private_visible():
        return True
    if organizer is None:
        organizer = may_organize(competition=phase.competition, user=user)
    return organizer


def may_read_report(*, phase: Phase, split: str, organizer: bool, own: bool) -> bool:
    """A finished defense's identifiability report on ``split`` (of a competition the reader
    may see): the public split for everyone; the private split for organizers always, and for
    the defense's team (``own``; for an organizer baseline: everyone) once the phase's private
    board is visible. The boards and the arena matrix link a report exactly where this holds."""
    if split != "private" or organizer:
        return True
    return own and phase.private_visible()


def may_read_audit_log(*, competition: Competition, user) -> bool:
    return may_organize(competition=competition, user=user)


def is_member(*, team: Team | None, user) -> bool:
    if team is None or not _authenticated(user):
        return False
    return team.memberships.filter(user=user).exists()


def may_see_submission(*, submission, user, organizer: bool | None = None) -> bool:
    """A submission: its team's members and the competition's organizers; anyone else is told it
    does not exist."""
    if organizer is None:
        organizer = may_organize(competition=submission.competition, user=user)
    return organizer or is_member(team=submission.team, user=user)


def may_choose_finals(*, submission, user) -> bool:
    """Selecting final submissions is the team's own choice: organizers do not make it for them."""
    return submission.team_id is not None and is_member(team=submission.team, user=user)


def may_see_invite_code(*, team: Team, user) -> bool:
    return is_member(team=team, user=user) or may_organize(competition=team.competition, user=user)


def may_read_run_logs(*, run, organizer: bool) -> bool:
    """Logs of a run that saw hidden data are the organizers' only (DESIGN.md, "Data and security")."""
    return organizer or not run.saw_hidden_data


def may_change_final_selection(*, phase: Phase) -> str | None:
    """None when a team may still choose its final submissions in ``phase``, else why not.

    The choice is frozen once the private scores can be read by the team (the phase ended or
    its private board was revealed): choosing after seeing them would rank a team by the best
    of all its private scores, which the private board exists to prevent."""
    if phase.private_revealed_at is not None:
        return f"the private leaderboard of phase '{phase.name}' has been revealed"
    if phase.end is not None and timezone.now() >= phase.end:
        return f"phase '{phase.name}' ended at {phase.end.isoformat().replace('+00:00', 'Z')}"
    return None
