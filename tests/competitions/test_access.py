"""The access matrix: role × object × action, as answered by competitions/access.py.

Each row names an action and the roles allowed it; every other role is refused. Views, API
views, serializers and templates ask these functions, so this table is the site's rulebook.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.utils import timezone

from competitions import access
from competitions.models import Competition, Phase, Team, TeamMembership
from submissions.models import Run, Submission

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "user", "member", "other_team", "organizer", "other_organizer", "staff"]


@pytest.fixture
def world(django_user_model):
    def user(name, *, create=False, staff=False):
        u = django_user_model.objects.create_user(name, password="a-long-test-password", is_staff=staff)
        if create:
            u.user_permissions.add(Permission.objects.get(codename="add_competition"))
        return django_user_model.objects.get(pk=u.pk)  # fresh: permission cache

    people = {
        "anonymous": AnonymousUser(), "user": user("user"), "member": user("member"), "other_team": user("other_team"),
        "organizer": user("organizer", create=True), "other_organizer": user("other_organizer", create=True),
        "staff": user("staff", staff=True),
    }
    competition = Competition.objects.create(slug="c", title="C", task="membership-inference", schema={})
    competition.organizers.add(people["organizer"])
    orphan = Competition.objects.create(slug="orphan", title="Nobody's", task="membership-inference", schema={})
    phase = Phase.objects.create(competition=competition, name="main", start=timezone.now() - dt.timedelta(days=1),
                                 end=timezone.now() + dt.timedelta(days=1))
    teams = {}
    for role, name in (("member", "Alpha"), ("other_team", "Beta")):
        teams[role] = Team.objects.create(competition=competition, name=name)
        TeamMembership.objects.create(team=teams[role], user=people[role], competition=competition)
    submission = Submission.objects.create(competition=competition, phase=phase, team=teams["member"], role="attack",
                                           task="membership-inference", kind="file", storage_path="x", sha256="0" * 64, size=1,
                                           original_filename="p.csv")
    hidden_run = Run.objects.create(submission=submission, purpose=Run.EVALUATION, saw_hidden_data=True)
    check_run = Run.objects.create(submission=submission, purpose=Run.CHECK, saw_hidden_data=False)
    return {"people": people, "competition": competition, "orphan": orphan, "phase": phase, "team": teams["member"],
            "submission": submission, "hidden_run": hidden_run, "check_run": check_run}


def _asks(world):
    c, s = world["competition"], world["submission"]

    def organizer(u):
        return access.may_organize(competition=c, user=u)

    return {
        "create a competition": lambda u: access.may_create_competitions(user=u),
        "organize it (edit, reveal, rerun, queue)": organizer,
        "read its audit log": lambda u: access.may_read_audit_log(competition=c, user=u),
        "replace it by import": lambda u: access.may_replace(competition=c, user=u),
        "replace one nobody organizes": lambda u: access.may_replace(competition=world["orphan"], user=u),
        "see the private board before the reveal": lambda u: access.may_see_private(phase=world["phase"], user=u),
        "see a team's submission": lambda u: access.may_see_submission(submission=s, user=u),
        "choose the team's finals": lambda u: access.may_choose_finals(submission=s, user=u),
        "see the team's invite code": lambda u: access.may_see_invite_code(team=world["team"], user=u),
        "read a hidden run's logs": lambda u: access.may_read_run_logs(run=world["hidden_run"], organizer=organizer(u)),
        "read a defense's public report": lambda u: access.may_read_report(
            phase=world["phase"], split="public", organizer=organizer(u), own=access.is_member(team=world["team"], user=u)),
        "read a defense's private report before the reveal": lambda u: access.may_read_report(
            phase=world["phase"], split="private", organizer=organizer(u), own=access.is_member(team=world["team"], user=u)),
    }


MATRIX = {
    "create a competition": {"organizer", "other_organizer", "staff"},
    "organize it (edit, reveal, rerun, queue)": {"organizer", "staff"},
    "read its audit log": {"organizer", "staff"},
    "replace it by import": {"organizer", "staff"},
    "replace one nobody organizes": {"staff"},
    "see the private board before the reveal": {"organizer", "staff"},
    "see a team's submission": {"member", "organizer", "staff"},
    "choose the team's finals": {"member"},
    "see the team's invite code": {"member", "organizer", "staff"},
    "read a hidden run's logs": {"organizer", "staff"},
    "read a defense's public report": set(ROLES),
    "read a defense's private report before the reveal": {"organizer", "staff"},
}


@pytest.mark.parametrize("action", list(MATRIX))
def test_access_matrix(world, action):
    ask = _asks(world)[action]
    allowed = {role for role in ROLES if ask(world["people"][role])}
    assert allowed == MATRIX[action]


def test_what_changes_once_the_phase_ends_or_is_revealed(world):
    phase = world["phase"]
    assert access.may_change_final_selection(phase=phase) is None
    assert access.may_read_run_logs(run=world["check_run"], organizer=False)  # a public-sample run's logs: the team's
    phase.end = timezone.now() - dt.timedelta(seconds=1)
    assert all(access.may_see_private(phase=phase, user=world["people"][role]) for role in ROLES)
    assert "ended at" in access.may_change_final_selection(phase=phase)
    phase.end, phase.private_revealed_at = None, timezone.now()
    assert all(access.may_see_private(phase=phase, user=world["people"][role]) for role in ROLES)
    assert "has been revealed" in access.may_change_final_selection(phase=phase)
    # Once revealed, the private report is the defense's team's (a baseline's: everyone's), still not another team's.
    team = world["team"]
    readers = {role for role in ROLES if access.may_read_report(
        phase=phase, split="private", organizer=access.may_organize(competition=world["competition"], user=world["people"][role]),
        own=access.is_member(team=team, user=world["people"][role]))}
    assert readers == {"member", "organizer", "staff"}
    assert access.may_read_report(phase=phase, split="private", organizer=False, own=True)  # a baseline's, to anyone


def test_an_organizer_who_lost_the_right_to_create_cannot_replace(world):
    organizer = world["people"]["organizer"]
    organizer.user_permissions.clear()
    organizer = type(organizer).objects.get(pk=organizer.pk)
    assert access.may_organize(competition=world["competition"], user=organizer)
    assert not access.may_replace(competition=world["competition"], user=organizer)
