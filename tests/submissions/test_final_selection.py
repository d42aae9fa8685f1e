"""Final selection is frozen once the team can read private scores (the phase ended or its
board was revealed): choosing afterwards would rank a team by its best private score."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from competitions.models import Phase
from submissions.models import Submission
from tests.factories import predictions_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished(settings, make_user, client_for, membership_competition, django_capture_on_commit_callbacks):
    """A team with two finished submissions, the first selected, in the open phase."""
    settings.ARENA_EVALUATION_MODE = "inline"
    member = make_user("member")
    client = client_for(member)
    client.post("/api/v1/competitions/mia-test/teams/", {"name": "Alpha"})
    ids = []
    for perfect in (False, True):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/v1/competitions/mia-test/submissions/",
                                   {"file": SimpleUploadedFile("predictions.csv", predictions_for(membership_competition, perfect=perfect))},
                                   format="multipart")
        ids.append(response.json()["id"])
    assert Submission.objects.filter(pk__in=ids, status=Submission.FINISHED).count() == 2
    assert client.post(f"/api/v1/submissions/{ids[0]}/select/").status_code == 200
    return {"client": client, "member": member, "ids": ids, "phase": Phase.objects.get(competition=membership_competition)}


def _selected(ids) -> list[int]:
    return list(Submission.objects.filter(pk__in=ids, selected=True).values_list("pk", flat=True))


def test_selection_is_refused_after_the_phase_ended(finished):
    Phase.objects.filter(pk=finished["phase"].pk).update(end=timezone.now() - dt.timedelta(minutes=1))
    client, (worse, better) = finished["client"], finished["ids"]
    unselect = client.post(f"/api/v1/submissions/{worse}/select/", {"selected": False})
    assert unselect.status_code == 409
    assert "can no longer be changed: phase 'development' ended at" in unselect.json()["error"]
    select = client.post(f"/api/v1/submissions/{better}/select/")
    assert select.status_code == 409 and "ended at" in select.json()["error"]
    assert _selected(finished["ids"]) == [worse]


def test_selection_is_refused_once_the_private_board_is_revealed(finished, client):
    Phase.objects.filter(pk=finished["phase"].pk).update(private_revealed_at=timezone.now())
    client_api, (worse, better) = finished["client"], finished["ids"]
    response = client_api.post(f"/api/v1/submissions/{worse}/select/", {"selected": False})
    assert response.status_code == 409 and "leaderboard of phase 'development' has been revealed" in response.json()["error"]
    client.force_login(finished["member"])
    page = client.post(f"/submissions/{better}/select/", {"selected": "true"}, follow=True)
    assert "can no longer be changed" in page.content.decode()
    assert _selected(finished["ids"]) == [worse]
