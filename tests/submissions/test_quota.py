"""Quotas: per UTC day and in total; infrastructure failures and early cancels don't count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from competitions.services import team_create
from submissions.models import Submission
from submissions.services import quota_state, submission_set_status

pytestmark = pytest.mark.django_db

URL = "/api/v1/competitions/mia-test/submissions/"


@pytest.fixture
def member(make_user, membership_competition, settings):
    settings.ARENA_EVALUATION_MODE = "manual"
    user = make_user("quota")
    team_create(competition=membership_competition, user=user, name="Quota team")
    return user


def _submit(client):
    from competitions.models import Competition
    from tests.factories import predictions_for

    # A complete file: an incomplete one is refused at upload and never reaches the quota.
    file = predictions_for(Competition.objects.get(slug="mia-test"), perfect=False)
    return client.post(URL, {"file": SimpleUploadedFile("p.csv", file)}, format="multipart")


def test_daily_limit_names_the_next_allowed_time(client_for, member):
    client = client_for(member)
    for _ in range(3):  # the phase allows 3 a day
        assert _submit(client).status_code == 201
    refused = _submit(client)
    assert refused.status_code == 429
    body = refused.json()
    tomorrow = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    assert body["detail"]["next_allowed"] == tomorrow
    assert f"The next submission is allowed at {tomorrow}." in body["error"]
    assert int(refused["Retry-After"]) > 0
    assert Submission.objects.count() == 3


def test_yesterdays_submissions_do_not_count_today_but_count_in_total(client_for, member, membership_competition):
    client = client_for(member)
    for _ in range(3):
        _submit(client)
    yesterday = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    Submission.objects.update(created=yesterday)
    assert _submit(client).status_code == 201
    assert _submit(client).status_code == 201
    # Five in total is the phase's limit.
    refused = _submit(client)
    assert refused.status_code == 429
    assert refused.json()["detail"] == {"used_total": 5, "limit_total": 5, "next_allowed": None}
    assert "all 5 submissions" in refused.json()["error"]


def test_infrastructure_failures_and_early_cancels_do_not_count(client_for, member, membership_competition):
    client = client_for(member)
    ids = [_submit(client).json()["id"] for _ in range(3)]
    lost = Submission.objects.get(pk=ids[0])
    submission_set_status(submission=lost, status=Submission.FAILED, failure_class=Submission.INFRASTRUCTURE, error="engine gone")
    cancelled = client.post(f"/api/v1/submissions/{ids[1]}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    state = quota_state(team=lost.team, phase=lost.phase)
    assert (state.used_today, state.used_total, state.next_allowed) == (1, 1, None)
    assert _submit(client).status_code == 201
    assert _submit(client).status_code == 201
    assert _submit(client).status_code == 429


def test_a_real_failure_counts(client_for, member):
    client = client_for(member)
    first = Submission.objects.get(pk=_submit(client).json()["id"])
    submission_set_status(submission=first, status=Submission.FAILED, failure_class=Submission.EXIT_CODE, error="crashed")
    assert quota_state(team=first.team, phase=first.phase).used_today == 1
