"""A queued submission's place in the fair queue, over the API, on its page and in ``arena submission ID``."""

from __future__ import annotations

import os
import uuid

import pytest


@pytest.fixture
def rq_mode(settings):
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set (the queue lives in Redis)")
    settings.REDIS_URL = url
    settings.ARENA_EVALUATION_MODE = "rq"
    return url


def test_a_queued_submission_shows_its_position_and_estimated_start(arena, live_server, competition, logged_in, rq_mode,
                                                                     client_for):
    from django.contrib.auth import get_user_model
    from django.test import Client
    from redis import Redis

    from competitions.services import team_create
    from evaluation import fair_queue, waiting
    from submissions.models import Submission

    comp, _ = competition
    logged_in("alice")
    alice = get_user_model().objects.get(username="alice")
    team = team_create(competition=comp, user=alice, name="Waiters")
    connection = Redis.from_url(rq_mode)

    def queued(n: int) -> list[Submission]:
        subs = [Submission.objects.create(competition=comp, phase=comp.phases.get(), team=team, submitted_by=alice,
                                          role="attack", task=comp.task, kind="code", storage_path="unused",
                                          original_filename="attack.zip", sha256=uuid.uuid4().hex * 2, size=10)
                for _ in range(n)]
        for sub in subs:
            fair_queue.fair_enqueue(connection=connection, owner=waiting.submission_owner(submission=sub),
                                    function="evaluation.jobs.evaluate_submission", args=(sub.pk,),
                                    job_id=waiting.submission_job_id(sub.pk))
        return subs

    first, second, third = queued(3)
    try:
        body = client_for(alice).get(f"/api/v1/submissions/{third.pk}/").json()
        assert body["queue_position"] == 2 and body["estimated_start"].endswith("Z")

        result = arena("submission", third.pk)
        assert result.code == 0, result
        assert "Queue:       2 job(s) before it; estimated start " in result.out

        browser = Client()
        browser.force_login(alice)
        page = browser.get(f"/submissions/{first.pk}/").content.decode()
        assert 'data-queue-position="0"' in page and "next; estimated start" in page

        Submission.objects.filter(pk=first.pk).update(status=Submission.FINISHED)
        assert client_for(alice).get(f"/api/v1/submissions/{first.pk}/").json()["queue_position"] is None
    finally:
        from rq import Queue

        Queue(waiting.submission_owner(submission=first).queue_name, connection=connection).empty()
