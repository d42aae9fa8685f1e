"""arena register, cancel and rerun, and what ``arena submit --help`` tells, against the real server."""

from __future__ import annotations

import json

from rest_framework.authtoken.models import Token

from tests.factories.cli import PASSWORD, predictions


def test_register_creates_the_account_and_logs_in(arena, live_server, monkeypatch, cli_env, django_user_model):
    asked = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or PASSWORD)

    result = arena("register", "--server", live_server.url, "--username", "newcomer", "--email", "new@example.org")

    assert result.code == 0, result
    assert len(asked) == 2 and "again" in asked[1]  # typed twice
    user = django_user_model.objects.get(username="newcomer")
    assert user.email == "new@example.org" and user.check_password(PASSWORD)
    assert json.loads(cli_env.read_text())["token"] == Token.objects.get(user=user).key
    assert "Registered newcomer" in result.out and "arena team create" in result.out
    assert arena("competitions").code == 0  # logged in with the stored token

    taken = arena("register", "--server", live_server.url, "--username", "newcomer", "--email", "x@example.org")
    assert taken.code == 1 and taken.err.strip() == "username: 'newcomer' is taken."


def test_register_refuses_two_different_passwords(arena, live_server, monkeypatch, django_user_model):
    typed = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))

    result = arena("register", "--server", live_server.url, "-u", "typo", "--email", "t@example.org")

    assert result.code == 2 and "the two passwords differ" in result.err
    assert not django_user_model.objects.filter(username="typo").exists()


def test_cancel_a_queued_submission_and_organizers_rerun_one(arena, live_server, competition, logged_in, settings,
                                                              tmp_path, django_user_model):
    from submissions.models import Submission

    comp, answers = competition
    logged_in("alice")
    assert arena("team", "create", "mia-cli", "Second thoughts").code == 0
    settings.ARENA_EVALUATION_MODE = "manual"  # stays queued
    assert arena("submit", "mia-cli", predictions(answers, tmp_path / "predictions.csv")).code == 0
    queued = Submission.objects.get(is_baseline=False)

    cancelled = arena("cancel", queued.pk)
    assert cancelled.code == 0, cancelled
    assert f"Submission #{queued.pk} is cancelled" in cancelled.out and "does not count against your quota" in cancelled.out
    queued.refresh_from_db()
    assert queued.status == "cancelled" and not queued.counts_against_quota
    again = arena("cancel", queued.pk)
    assert again.code == 1 and again.err.strip() == f"Only queued submissions can be cancelled; #{queued.pk} is cancelled."

    refused = arena("rerun", queued.pk)  # a team member is no organizer
    assert refused.code == 1 and refused.err.strip() == "Only the competition's organizers can rerun a submission."

    settings.ARENA_EVALUATION_MODE = "inline"
    organizer = django_user_model.objects.get(username="alice")
    comp.organizers.add(organizer)
    rerun = arena("rerun", queued.pk)
    assert rerun.code == 0, rerun
    assert f"Submission #{queued.pk} is queued again" in rerun.out
    queued.refresh_from_db()
    assert queued.status == "finished"  # evaluated inline, this time


def test_submit_help_documents_every_kind_of_submission(arena):
    result = arena("submit", "--help")
    assert result.code == 0
    for fact in ("main.py", "submission.yaml", "command: [python3", "docker save", "ENTRYPOINT", "--role attack --task"):
        assert fact in result.out, fact
    assert all(len(line) <= 100 for line in result.out.splitlines())
