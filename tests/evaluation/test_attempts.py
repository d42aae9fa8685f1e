"""Attempts: one live attempt per submission, late writes of a given-up attempt change nothing,
and the reaper tells a dead worker from a slow run by the heartbeat.

The fault suite (tests/faults/) causes these situations with real killed workers; here each
rule is pinned down on its own against the database.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from competitions.services import team_create
from evaluation import attempts, services
from submissions.models import Submission
from submissions.services import (
    StatusWriteRefused,
    quota_state,
    submission_cancel,
    submission_set_status,
)
from tests.factories import predictions_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/competitions/mia-test/submissions/"


@pytest.fixture
def submission(make_user, membership_competition, settings, client_for):
    settings.ARENA_EVALUATION_MODE = "manual"
    user = make_user("attempts")
    team_create(competition=membership_competition, user=user, name="Attempt team")
    # A complete file: an incomplete one is refused at upload.
    predictions = predictions_for(membership_competition, perfect=False)
    response = client_for(user).post(URL, {"file": SimpleUploadedFile("p.csv", predictions)}, format="multipart")
    assert response.status_code == 201
    attempts.worker_identity_set("test-worker")
    yield Submission.objects.get(pk=response.json()["id"])
    attempts.worker_identity_set("")


def _age(submission: Submission, seconds: float) -> None:
    Submission.objects.filter(pk=submission.pk).update(heartbeat=timezone.now() - dt.timedelta(seconds=seconds))


def test_a_second_job_for_a_submission_whose_attempt_beats_runs_nothing(submission):
    first = attempts.attempt_begin(submission_id=submission.pk)
    assert first is not None and first.status == Submission.RUNNING
    assert attempts.attempt_begin(submission_id=submission.pk) is None
    _age(first, 60)  # its worker stopped beating: the next job takes over with a new identity
    second = attempts.attempt_begin(submission_id=submission.pk)
    assert second is not None and second.attempt_id != first.attempt_id and second.attempts == 2


def test_a_late_write_from_a_given_up_attempt_changes_nothing(submission):
    first = attempts.attempt_begin(submission_id=submission.pk)
    _age(first, 60)
    assert services.stale_runs_reap() == 1  # dead by its heartbeat: queued again
    second = attempts.attempt_begin(submission_id=submission.pk)
    with pytest.raises(StatusWriteRefused):
        submission_set_status(submission=first, status=Submission.FINISHED)
    current = Submission.objects.get(pk=submission.pk)
    assert current.status == Submission.RUNNING and current.attempt_id == second.attempt_id


def test_the_reaper_leaves_a_slow_run_whose_worker_beats(submission):
    running = attempts.attempt_begin(submission_id=submission.pk)
    Submission.objects.filter(pk=submission.pk).update(started=timezone.now() - dt.timedelta(hours=3))
    assert services.stale_runs_reap() == 0
    assert Submission.objects.get(pk=submission.pk).attempt_id == running.attempt_id


def test_finished_failed_and_cancelled_never_go_back_to_the_queue(submission):
    running = attempts.attempt_begin(submission_id=submission.pk)
    submission_set_status(submission=running, status=Submission.FINISHED)
    with pytest.raises(StatusWriteRefused):
        submission_set_status(submission=running, status=Submission.QUEUED)
    _age(running, 60)
    assert services.stale_runs_reap() == 0
    assert attempts.attempt_begin(submission_id=submission.pk) is None
    assert Submission.objects.get(pk=submission.pk).status == Submission.FINISHED


def test_a_cancel_after_a_requeue_is_not_charged(submission):
    running = attempts.attempt_begin(submission_id=submission.pk)
    _age(running, 60)
    services.stale_runs_reap()
    submission_cancel(submission=Submission.objects.get(pk=submission.pk))
    cancelled = Submission.objects.get(pk=submission.pk)
    assert cancelled.status == Submission.CANCELLED and not cancelled.counts_against_quota
    assert quota_state(team=cancelled.team, phase=cancelled.phase).used_total == 0
