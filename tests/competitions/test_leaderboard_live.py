"""Live leaderboards over websockets: a snapshot on connect, one message per change, private
boards only after the reveal, submission status only for the submitting team."""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from competitions.services import phase_reveal
from config.ws_routing import websocket_urlpatterns
from evaluation.services import scores_save
from evaluation.task_types.base import ScoreValue
from submissions.models import Submission
from submissions.services import submission_set_status
from tests.factories.records import competition_make, submission_make, team_make

pytestmark = pytest.mark.django_db(transaction=True)

SCORES = {
    "public": {"tpr_at_fpr_0_1": ScoreValue(0.61), "auc": ScoreValue(0.8)},
    "private": {"tpr_at_fpr_0_1": ScoreValue(0.777), "auc": ScoreValue(0.79)},
}


@pytest.fixture(autouse=True)
def in_memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def communicator(path: str, user=None) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    comm.scope["user"] = user or AnonymousUser()
    return comm


def run(scenario):
    async_to_sync(scenario)()


def test_a_spectator_gets_a_snapshot_then_the_new_score_pushed_from_the_service():
    c = competition_make()
    team = team_make(c, "Alpha")
    submission = submission_make(competition=c, team=team, status=Submission.SCORING)

    async def scenario():
        ws = communicator(f"/ws/competitions/{c.slug}/leaderboard/")
        connected, _ = await ws.connect()
        assert connected
        snapshot = await ws.receive_json_from()
        assert snapshot["type"] == "snapshot"
        assert [b["split"] for b in snapshot["leaderboards"]] == ["public"]
        assert snapshot["leaderboards"][0]["rows"] == []

        await database_sync_to_async(scores_save)(submission=submission, scores=SCORES)

        update = await ws.receive_json_from(timeout=5)
        assert update["type"] == "update"
        board = update["leaderboard"]
        assert (board["split"], board["rows"][0]["team"], board["rows"][0]["scores"]["tpr_at_fpr_0_1"]["value"]) == ("public", "Alpha", 0.61)
        assert "0.777" not in str(update)  # the private score stays hidden before the reveal
        assert await ws.receive_nothing(timeout=0.3)  # exactly one message for one change
        await ws.disconnect()

    run(scenario)


def test_every_watcher_gets_each_change_once_and_leaving_stops_only_that_watcher():
    c = competition_make()
    team = team_make(c, "Alpha")
    first, second = (submission_make(competition=c, team=team, status=Submission.SCORING) for _ in range(2))

    async def scenario():
        watchers = [communicator(f"/ws/competitions/{c.slug}/leaderboard/") for _ in range(3)]
        for ws in watchers:
            assert (await ws.connect())[0]
            assert (await ws.receive_json_from())["type"] == "snapshot"

        await database_sync_to_async(scores_save)(submission=first, scores=SCORES)
        for ws in watchers:
            assert (await ws.receive_json_from(timeout=5))["leaderboard"]["rows"][0]["scores"]["tpr_at_fpr_0_1"]["value"] == 0.61
            assert await ws.receive_nothing(timeout=0.2)

        await watchers[0].disconnect()
        better = {**SCORES, "public": {"tpr_at_fpr_0_1": ScoreValue(0.72), "auc": ScoreValue(0.8)}}
        await database_sync_to_async(scores_save)(submission=second, scores=better)
        for ws in watchers[1:]:
            assert (await ws.receive_json_from(timeout=5))["leaderboard"]["rows"][0]["scores"]["tpr_at_fpr_0_1"]["value"] == 0.72
            await ws.disconnect()

    run(scenario)


def test_a_change_committed_while_a_watcher_connects_is_never_sent_before_its_snapshot(monkeypatch):
    from competitions.leaderboards import consumers

    c = competition_make()
    submission = submission_make(competition=c, team=team_make(c, "Alpha"), status=Submission.SCORING)
    read_snapshot = consumers._snapshot

    async def snapshot_during_a_change(slug, user):
        await database_sync_to_async(scores_save)(submission=submission, scores=SCORES)  # pushed while this watcher waits
        return await read_snapshot(slug, user)

    monkeypatch.setattr(consumers, "_snapshot", snapshot_during_a_change)

    async def scenario():
        ws = communicator(f"/ws/competitions/{c.slug}/leaderboard/")
        assert (await ws.connect())[0]
        snapshot = await ws.receive_json_from(timeout=5)
        assert snapshot["type"] == "snapshot"
        assert snapshot["leaderboards"][0]["rows"][0]["scores"]["tpr_at_fpr_0_1"]["value"] == 0.61
        assert await ws.receive_nothing(timeout=0.3)  # the push carried this very board: not sent again
        await ws.disconnect()

    run(scenario)


def test_the_reveal_pushes_the_private_board_to_everyone_watching():
    c = competition_make()
    submission_make(competition=c, team=team_make(c, "Alpha"), public={"tpr_at_fpr_0_1": 0.5}, private={"tpr_at_fpr_0_1": 0.777})
    phase = c.phases.first()

    async def scenario():
        ws = communicator(f"/ws/competitions/{c.slug}/leaderboard/")
        await ws.connect()
        snapshot = await ws.receive_json_from()
        assert "0.777" not in str(snapshot)

        await database_sync_to_async(phase_reveal)(phase=phase)

        messages = [await ws.receive_json_from(timeout=5), await ws.receive_json_from(timeout=5)]
        private = [m["leaderboard"] for m in messages if m["leaderboard"]["split"] == "private"]
        assert private and private[0]["rows"][0]["scores"]["tpr_at_fpr_0_1"]["value"] == 0.777
        await ws.disconnect()

        late = communicator(f"/ws/competitions/{c.slug}/leaderboard/")
        await late.connect()
        assert sorted(b["split"] for b in (await late.receive_json_from())["leaderboards"]) == ["private", "public"]
        await late.disconnect()

    run(scenario)


def test_a_phase_that_has_ended_shows_its_private_board_in_the_snapshot():
    c = competition_make(phase_end=timezone.now() - dt.timedelta(minutes=1))
    submission_make(competition=c, team=team_make(c, "A"), public={"tpr_at_fpr_0_1": 0.5}, private={"tpr_at_fpr_0_1": 0.25})

    async def scenario():
        ws = communicator(f"/ws/competitions/{c.slug}/leaderboard/")
        await ws.connect()
        boards = (await ws.receive_json_from())["leaderboards"]
        assert {b["split"] for b in boards} == {"public", "private"}
        await ws.disconnect()

    run(scenario)


def test_unpublished_competitions_refuse_spectators_but_admit_organizers(make_user):
    c = competition_make(published=False)
    organizer = make_user("organizer")
    c.organizers.add(organizer)

    async def scenario():
        spectator = communicator(f"/ws/competitions/{c.slug}/leaderboard/")
        connected, code = await spectator.connect()
        assert not connected and code == 4404
        insider = communicator(f"/ws/competitions/{c.slug}/leaderboard/", organizer)
        connected, _ = await insider.connect()
        assert connected
        await insider.disconnect()

    run(scenario)


def test_submission_status_reaches_its_team_only(make_user):
    c = competition_make()
    member, stranger = make_user("member"), make_user("stranger")
    team = team_make(c, "Alpha", member)
    team_make(c, "Other", stranger)
    submission = submission_make(competition=c, team=team, status=Submission.QUEUED)

    async def scenario():
        outsider = communicator(f"/ws/submissions/{submission.pk}/", stranger)
        connected, code = await outsider.connect()
        assert not connected and code == 4404
        anonymous = communicator(f"/ws/submissions/{submission.pk}/")
        assert (await anonymous.connect())[0] is False

        ws = communicator(f"/ws/submissions/{submission.pk}/", member)
        assert (await ws.connect())[0]
        first = await ws.receive_json_from()
        assert (first["type"], first["submission"]["status"]) == ("status", "queued")

        await database_sync_to_async(submission_set_status)(submission=submission, status=Submission.RUNNING)
        assert (await ws.receive_json_from(timeout=5))["submission"]["status"] == "running"
        await database_sync_to_async(scores_save)(submission=submission, scores=SCORES)
        assert (await ws.receive_json_from(timeout=5))["submission"]["status"] == "finished"
        await ws.disconnect()

    run(scenario)
