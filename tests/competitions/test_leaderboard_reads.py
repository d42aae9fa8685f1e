"""Anonymous leaderboard reads answered from the cache in front of Django: the same answers as
Django's, current after every change, never a board or a competition that is not public."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.core.asgi import get_asgi_application
from django.utils import timezone

from competitions.api.views import LeaderboardView
from competitions.leaderboards.reads import ROUTE_SECONDS, CachedLeaderboardReads, route_valid_until
from competitions.models import Phase
from competitions.services import competition_update, phase_reveal
from evaluation.services import scores_save
from evaluation.task_types.base import ScoreValue
from submissions.models import Submission
from tests.factories.records import competition_make, submission_make, team_make


@pytest.fixture
def reads(settings):
    if not settings.ARENA_LEADERBOARD_FAST_READS:
        pytest.skip("cached reads sit on the Redis cache: set REDIS_URL")
    return CachedLeaderboardReads(get_asgi_application())


@pytest.fixture
def django_calls(monkeypatch):
    """How many requests reached the Django view."""
    calls = []
    original = LeaderboardView.get

    def counted(self, request, slug):
        calls.append(request.get_full_path())
        return original(self, request, slug)

    monkeypatch.setattr(LeaderboardView, "get", counted)
    return calls


def get(app, path: str, *headers: tuple[bytes, bytes]) -> dict:
    async def request():
        communicator = HttpCommunicator(app, "GET", path, headers=[(b"host", b"testserver"), *headers])
        response = await communicator.get_response(timeout=20)
        await communicator.wait(timeout=20)  # let Django finish the request (and give back its connection)
        return response

    return async_to_sync(request)()


def url(competition, query: str = "") -> str:
    return f"/api/v1/competitions/{competition.slug}/leaderboard/" + (f"?{query}" if query else "")


@pytest.mark.django_db(transaction=True)
def test_a_repeated_anonymous_read_is_answered_from_the_cache_alike(reads, django_calls):
    c = competition_make()
    submission_make(competition=c, team=team_make(c, "Alpha"), public={"tpr_at_fpr_0_1": 0.5}, private={"tpr_at_fpr_0_1": 0.9})

    first = get(reads, url(c))
    second = get(reads, url(c))
    third = get(reads, url(c, "task=&other=1"))  # the same board: parameters the view ignores do not matter

    assert django_calls == [url(c)]
    assert first["status"] == second["status"] == third["status"] == 200
    assert second["body"] == first["body"] == third["body"]
    assert dict(second["headers"]) == dict(first["headers"])  # content type, security headers, Vary
    board = json.loads(second["body"])
    assert [(r["team"], r["scores"]["tpr_at_fpr_0_1"]["value"]) for r in board["rows"]] == [("Alpha", 0.5)]


@pytest.mark.django_db(transaction=True)
def test_a_new_score_is_in_the_very_next_cached_read(reads, django_calls):
    c = competition_make()
    submission_make(competition=c, team=team_make(c, "Alpha"), public={"tpr_at_fpr_0_1": 0.5})
    get(reads, url(c))
    newcomer = submission_make(competition=c, team=team_make(c, "Newcomer"), status=Submission.SCORING)

    scores_save(submission=newcomer, scores={"public": {"tpr_at_fpr_0_1": ScoreValue(0.8)}, "private": {}})
    board = json.loads(get(reads, url(c))["body"])

    assert [r["team"] for r in board["rows"]] == ["Newcomer", "Alpha"]
    assert len(django_calls) == 1  # the pushing process cached the new board: still no trip through Django


@pytest.mark.django_db(transaction=True)
def test_unpublishing_ends_cached_reads_at_once(reads, django_calls):
    c = competition_make()
    submission_make(competition=c, team=team_make(c, "Alpha"), public={"tpr_at_fpr_0_1": 0.5})
    assert get(reads, url(c))["status"] == 200

    competition_update(competition=c, published=False)

    assert get(reads, url(c))["status"] == 404
    assert len(django_calls) == 2


@pytest.mark.django_db(transaction=True)
def test_an_edit_outside_the_services_also_ends_cached_reads(reads, django_calls):
    """The Django admin saves models directly: a plain save drops the cached routes too."""
    c = competition_make()
    submission_make(competition=c, team=team_make(c, "Alpha"), public={"tpr_at_fpr_0_1": 0.5})
    assert get(reads, url(c))["status"] == 200

    c.published = False
    c.save()

    assert get(reads, url(c))["status"] == 404
    assert len(django_calls) == 2

    c.published = True
    c.save()
    assert get(reads, url(c))["status"] == 200
    assert len(django_calls) == 3
    get(reads, url(c))
    assert len(django_calls) == 3  # cached again
    phase = Phase.objects.get(competition=c)
    phase.end = timezone.now() + dt.timedelta(days=3)  # a new end date: what a cached route was valid for
    phase.save()
    get(reads, url(c))
    assert len(django_calls) == 4  # the edited phase is read through Django again


@pytest.mark.django_db(transaction=True)
def test_the_private_board_is_refused_on_every_read_until_the_reveal(reads, django_calls):
    c = competition_make()
    submission_make(competition=c, team=team_make(c, "Alpha"), public={"tpr_at_fpr_0_1": 0.5}, private={"tpr_at_fpr_0_1": 0.777})

    for _ in range(2):
        refused = get(reads, url(c, "split=private"))
        assert refused["status"] == 403 and b"0.777" not in refused["body"]
    assert len(django_calls) == 2  # a refusal is never answered from the cache

    phase_reveal(phase=Phase.objects.select_related("competition").get(competition=c))
    revealed = [get(reads, url(c, "split=private")) for _ in range(2)]

    assert all(r["status"] == 200 and b"0.777" in r["body"] for r in revealed)
    assert len(django_calls) == 3


@pytest.mark.django_db(transaction=True)
def test_a_token_or_a_session_always_reaches_django(reads, django_calls):
    c = competition_make()
    submission_make(competition=c, team=team_make(c, "Alpha"), public={"tpr_at_fpr_0_1": 0.5})
    get(reads, url(c))

    assert get(reads, url(c), (b"authorization", b"Token not-a-real-token"))["status"] == 401
    get(reads, url(c), (b"cookie", b"sessionid=abc; csrftoken=x"))

    assert len(django_calls) == 2  # the first read and the session's (the bad token fails before the view)


@pytest.mark.django_db(transaction=True)
def test_an_unknown_host_is_left_to_django(reads, django_calls, settings):
    settings.ALLOWED_HOSTS = ["arena.example.org"]
    c = competition_make()
    for _ in range(2):
        assert get(reads, url(c))["status"] == 400  # Django refuses the host; nothing is cached for it
    assert django_calls == []


def test_a_route_holds_until_the_next_phase_start_or_end():
    now = timezone.now()
    phases = [
        Phase(name="development", start=now - dt.timedelta(days=3), end=now - dt.timedelta(days=1)),
        Phase(name="final", start=now - dt.timedelta(days=1), end=now + dt.timedelta(seconds=7)),
        Phase(name="later", start=now + dt.timedelta(seconds=12), end=None),
    ]
    assert route_valid_until(phases=phases, now=now.timestamp()) == pytest.approx((now + dt.timedelta(seconds=7)).timestamp())
    assert route_valid_until(phases=phases[:1], now=now.timestamp()) == pytest.approx(now.timestamp() + ROUTE_SECONDS)
