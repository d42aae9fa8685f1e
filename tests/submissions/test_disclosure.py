"""What a team sees of a run on hidden data, for what the end-to-end tests do not run:
the identifiability report's metric errors, and rows written before the detail was kept apart."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.test import Client

from submissions.models import Run, Submission
from tests.factories.records import competition_make, submission_make, team_make

pytestmark = pytest.mark.django_db

LIBRARY_ERROR = "could not convert string to float: 'I50.9' (row r00042)"


def _browser(user=None) -> Client:
    browser = Client()
    if user is not None:
        browser.force_login(user)
    return browser


def test_a_metric_error_on_a_release_reaches_the_organizers_only(make_user, client_for):
    competition = competition_make(task="tabular-anonymization")
    member, organizer, stranger = make_user(), make_user(), make_user()
    competition.organizers.add(organizer)
    team = team_make(competition, "Shield", member)
    reason = "the release cannot support this metric (for example, a column it needs is suppressed entirely)"
    defense = submission_make(competition=competition, team=team, public={"inference_risk": None},
                              details={"inference_risk": {"reason": reason, "error": LIBRARY_ERROR}})
    Submission.objects.filter(pk=defense.pk).update(role=Submission.DEFENSE)

    for user in (member, stranger):
        report = client_for(user).get(f"/api/v1/submissions/{defense.pk}/report/").json()
        inference = next(c for c in report["criteria"] if c["criterion"] == "inference")
        assert reason in inference["explanation"] and inference["error"] is None
        assert "I50.9" not in str(report)
        page = _browser(user).get(f"/submissions/{defense.pk}/report/").content.decode()
        assert "I50.9" not in page and "not measured" in page
    assert "I50.9" not in _browser().get(f"/submissions/{defense.pk}/report/").content.decode()

    report = client_for(organizer).get(f"/api/v1/submissions/{defense.pk}/report/").json()
    assert next(c for c in report["criteria"] if c["criterion"] == "inference")["error"] == LIBRARY_ERROR
    assert "I50.9" in _browser(organizer).get(f"/submissions/{defense.pk}/report/").content.decode().replace("&#x27;", "'")


def test_rows_written_before_keep_their_detail_for_the_organizers_only(make_user, client_for):
    """The data migration: an old error that quoted a hidden run's lines and exit status."""
    competition = competition_make(task="tabular-anonymization")
    member, organizer = make_user(), make_user()
    competition.organizers.add(organizer)
    team = team_make(competition, "Old", member)
    old = "release.csv: 3 problems:\n  line 1073, column age: is not a number\n(Values from the output are withheld.)"
    failed = submission_make(competition=competition, team=team, status=Submission.FAILED)
    Submission.objects.filter(pk=failed.pk).update(failure_class="invalid_output", error=old)
    Run.objects.create(submission=failed, purpose=Run.CHECK, saw_hidden_data=False, exit_code=0)
    Run.objects.create(submission=failed, purpose=Run.EVALUATION, saw_hidden_data=True, exit_code=0, wall_seconds=1.073,
                       stderr="I50.9")
    check_failed = submission_make(competition=competition, team=team, status=Submission.FAILED)
    public_text = "Check run on the public sample: release.csv line 2, column age: 'abc' is not a number"
    Submission.objects.filter(pk=check_failed.pk).update(failure_class="invalid_output", error=public_text)
    Run.objects.create(submission=check_failed, purpose=Run.CHECK, saw_hidden_data=False, exit_code=0)
    Run.objects.create(submission=check_failed, purpose=Run.EVALUATION, saw_hidden_data=True, failure_class="infrastructure")
    defense = submission_make(competition=competition, team=team, public={"singling_out_risk": None},
                              details={"singling_out_risk": {"reason": LIBRARY_ERROR}})

    migration = importlib.import_module("submissions.migrations.0004_withhold_hidden_run_details_written_before")
    migration.withhold(apps, None)

    seen = client_for(member).get(f"/api/v1/submissions/{failed.pk}/").json()
    assert "1073" not in str(seen) and "I50.9" not in str(seen) and seen["rule"] == "output-format"
    assert seen["error"].startswith("The output breaks the rule output-format")
    assert client_for(member).get(f"/api/v1/submissions/{check_failed.pk}/").json()["error"] == public_text
    assert client_for(organizer).get(f"/api/v1/submissions/{failed.pk}/").json()["error_detail"] == old
    defense.refresh_from_db()
    detail = defense.scores.get().detail
    assert detail["error"] == LIBRARY_ERROR and "I50.9" not in detail["reason"]


def test_a_check_run_shows_its_team_everything_and_a_hidden_run_its_class_and_rule(make_user, client_for):
    competition = competition_make(task="tabular-anonymization")
    member = make_user()
    team = team_make(competition, "Open", member)
    submission = submission_make(competition=competition, team=team, status=Submission.FAILED)
    Run.objects.create(submission=submission, purpose=Run.CHECK, saw_hidden_data=False, exit_code=0, wall_seconds=0.5,
                       stdout="sample rows: 100", message="fine")
    Run.objects.create(submission=submission, purpose=Run.EVALUATION, saw_hidden_data=True, exit_code=0, wall_seconds=0.9,
                       peak_memory_bytes=2**20, failure_class="invalid_output", rule="duplicate-id", message="line 7: 'r1'",
                       stdout="hidden rows: 300", logs_truncated=True)

    check, hidden = client_for(member).get(f"/api/v1/submissions/{submission.pk}/").json()["runs"]
    assert check["stdout"] == "sample rows: 100" and check["wall_seconds"] == 0.5 and check["message"] == "fine"
    assert (hidden["failure_class"], hidden["rule"]) == ("invalid_output", "duplicate-id")
    assert [hidden[k] for k in ("exit_code", "wall_seconds", "peak_memory_bytes", "message", "stdout", "started",
                                "finished", "logs_truncated")] == [None] * 8
    page = _browser(member).get(f"/submissions/{submission.pk}/").content.decode()
    assert "sample rows: 100" in page and "duplicate-id" in page
    assert "hidden rows" not in page and "line 7" not in page and "0.90 s" not in page


def test_the_public_activity_feed_gives_end_times_to_the_minute_only(make_user):
    import datetime as dt

    competition = competition_make(task="tabular-anonymization")
    team = team_make(competition, "Timed", make_user())
    submission = submission_make(competition=competition, team=team, public={"k_anonymity": 3.0})
    ended = dt.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=dt.timezone.utc)
    Submission.objects.filter(pk=submission.pk).update(finished=ended)

    page = _browser().get("/").content.decode()
    assert "Timed" in page and "2026-03-04T05:06:00" in page
    assert "05:06:07" not in page and "891011" not in page and ".891" not in page


def test_scores_tell_a_team_no_more_digits_than_the_metric_has(make_user, client_for):
    """A release or a predictions file scored against hidden data steers every bit of its
    score: past the metric's precision the float would carry hidden data out. The team, other
    teams and spectators get the score to its precision, the organizers the stored float."""
    competition = competition_make(metrics=[("auc", "ROC AUC", "higher", 3, True), ("tpr_at_fpr_0_1", "TPR", "higher", 4, False)])
    member, organizer = make_user(), make_user()
    competition.organizers.add(organizer)
    team = team_make(competition, "Shield", member)
    stored = (0.7123456789012345, 0.6987654321098765, 0.7259259259259259)
    submission = submission_make(competition=competition, team=team, public={"auc": stored, "tpr_at_fpr_0_1": 0.123456789})

    shown = client_for(member).get(f"/api/v1/submissions/{submission.pk}/").json()["public_scores"]
    assert shown == {"auc": {"value": 0.712, "ci_low": 0.699, "ci_high": 0.726},
                     "tpr_at_fpr_0_1": {"value": 0.1235, "ci_low": None, "ci_high": None}}
    listed = client_for(member).get(f"/api/v1/competitions/{competition.slug}/submissions/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert next(r for r in rows if r["id"] == submission.pk)["public_scores"] == shown

    full = client_for(organizer).get(f"/api/v1/submissions/{submission.pk}/").json()["public_scores"]
    assert full["auc"] == {"value": stored[0], "ci_low": stored[1], "ci_high": stored[2]}
    assert full["tpr_at_fpr_0_1"]["value"] == 0.123456789


def test_the_report_tells_anyone_but_the_organizers_four_digits(make_user, client_for):
    competition = competition_make(task="tabular-anonymization")
    member, organizer = make_user(), make_user()
    competition.organizers.add(organizer)
    team = team_make(competition, "Shield", member)
    defense = submission_make(competition=competition, team=team,
                              public={"singling_out_risk": (0.123456789, 0.0987654321, 0.14814814814)})
    Submission.objects.filter(pk=defense.pk).update(role=Submission.DEFENSE)

    def singling_out(user):
        report = client_for(user).get(f"/api/v1/submissions/{defense.pk}/report/").json()
        return next(c for c in report["criteria"] if c["criterion"] == "singling_out")

    for user in (member, make_user()):
        assert (singling_out(user)["value"], singling_out(user)["ci_low"], singling_out(user)["ci_high"]) == (0.1235, 0.0988, 0.1481)
    assert singling_out(organizer)["value"] == 0.123456789
