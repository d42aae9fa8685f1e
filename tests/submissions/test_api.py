"""The submission endpoints of DESIGN.md's API: upload, list, detail and final selection, with
each error code they can return (moved here from the competitions' API tests)."""

from __future__ import annotations

import pytest

from submissions.models import Submission
from tests.factories import predictions_for, upload

pytestmark = pytest.mark.django_db


def test_submit_file_lists_details_and_scores(settings, client_for, team_member, membership_competition, django_capture_on_commit_callbacks):
    settings.ARENA_EVALUATION_MODE = "inline"
    client = client_for(team_member)
    content = predictions_for(membership_competition, perfect=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/competitions/mia-test/submissions/", {"file": upload(content), "description": "perfect"},
                               format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] in ("queued", "finished") and body["role"] == "attack" and body["kind"] == "file"

    detail = client.get(f"/api/v1/submissions/{body['id']}/").json()
    assert detail["status"] == "finished", detail
    assert detail["public_scores"]["auc"]["value"] == pytest.approx(1.0)
    assert detail["private_scores"] is None  # hidden until the reveal
    assert detail["sha256"] and detail["finished"]

    listed = client.get("/api/v1/competitions/mia-test/submissions/").json()
    assert [s["id"] for s in listed] == [body["id"]]


def test_submit_errors(settings, api_client, client_for, make_user, team_member, membership_competition):
    settings.ARENA_EVALUATION_MODE = "manual"
    client = client_for(team_member)
    url = "/api/v1/competitions/mia-test/submissions/"
    assert api_client.post(url, {"file": upload(b"a,b\n")}, format="multipart").status_code == 401
    outsider = client_for(make_user())
    no_team = outsider.post(url, {"file": upload(b"candidate_id,score\n")}, format="multipart")
    assert no_team.status_code == 403 and "team" in no_team.json()["error"]
    assert client.post("/api/v1/competitions/nope/submissions/", {"file": upload(b"x")}, format="multipart").status_code == 404
    assert client.post(url, {}, format="multipart").status_code == 400
    empty = client.post(url, {"file": upload(b"")}, format="multipart")
    assert empty.status_code == 400
    binary = client.post(url, {"file": upload(b"\xff\xfe\x00\x01" * 10)}, format="multipart")
    assert binary.status_code == 400 and "UTF-8" in binary.json()["error"]
    wrong_role = client.post(url, {"file": upload(b"candidate_id,score\n"), "role": "defense"}, format="multipart")
    assert wrong_role.status_code == 400 and "defense" in wrong_role.json()["error"]
    assert Submission.objects.count() == 0  # none of the bad uploads stored anything


def test_submission_over_size_limit_is_413_and_nothing_stored(settings, client_for, team_member, membership_competition, _private_storage):
    settings.ARENA_MAX_UPLOAD_BYTES = 1000
    response = client_for(team_member).post("/api/v1/competitions/mia-test/submissions/",
                                            {"file": upload(b"candidate_id,score\n" + b"c0001,0.5\n" * 500)}, format="multipart")
    assert response.status_code == 413
    assert "limit" in response.json()["error"]
    assert Submission.objects.count() == 0
    assert not any(p.is_file() for p in _private_storage.rglob("*") if "submissions" in p.parts)


def test_closed_phase_is_409(settings, client_for, team_member, membership_competition):
    from django.utils import timezone

    membership_competition.phases.update(end=timezone.now() - timezone.timedelta(days=1), start=timezone.now() - timezone.timedelta(days=9))
    response = client_for(team_member).post("/api/v1/competitions/mia-test/submissions/", {"file": upload(b"candidate_id,score\n")},
                                            format="multipart")
    assert response.status_code == 409
    assert "no phase open" in response.json()["error"]


def test_member_of_other_team_gets_404_for_a_submission(settings, client_for, make_user, team_member, membership_competition):
    from competitions.services import team_create

    settings.ARENA_EVALUATION_MODE = "manual"
    mine = client_for(team_member).post("/api/v1/competitions/mia-test/submissions/",
                                        {"file": upload(predictions_for(membership_competition))}, format="multipart").json()
    rival = make_user("rival")
    team_create(competition=membership_competition, user=rival, name="Beta")
    for path in (f"/api/v1/submissions/{mine['id']}/", ):
        response = client_for(rival).get(path)
        assert response.status_code == 404
        assert response.json()["error"] == f"No submission {mine['id']}."
    assert client_for(rival).post(f"/api/v1/submissions/{mine['id']}/select/").status_code == 404
    assert client_for(rival).get("/api/v1/competitions/mia-test/submissions/").json() == []
    assert client_for(team_member).get("/api/v1/submissions/987654/").status_code == 404


def test_select_final_submissions(settings, client_for, team_member, membership_competition, django_capture_on_commit_callbacks):
    settings.ARENA_EVALUATION_MODE = "inline"
    client = client_for(team_member)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post("/api/v1/competitions/mia-test/submissions/", {"file": upload(predictions_for(membership_competition))},
                            format="multipart").json()
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post("/api/v1/competitions/mia-test/submissions/",
                             {"file": upload(predictions_for(membership_competition, perfect=False))}, format="multipart").json()
    selected = client.post(f"/api/v1/submissions/{first['id']}/select/")
    assert selected.status_code == 200 and selected.json()["selected"] is True
    # The phase allows one final: a second is refused until the first is unselected.
    over = client.post(f"/api/v1/submissions/{second['id']}/select/")
    assert over.status_code == 409 and "unselect" in over.json()["error"]
    assert client.post(f"/api/v1/submissions/{first['id']}/select/", {"selected": False}).json()["selected"] is False
    assert client.post(f"/api/v1/submissions/{second['id']}/select/").status_code == 200


def test_select_unfinished_is_409(settings, client_for, team_member, membership_competition):
    settings.ARENA_EVALUATION_MODE = "manual"
    client = client_for(team_member)
    queued = client.post("/api/v1/competitions/mia-test/submissions/", {"file": upload(predictions_for(membership_competition))},
                         format="multipart").json()
    response = client.post(f"/api/v1/submissions/{queued['id']}/select/")
    assert response.status_code == 409 and "finished" in response.json()["error"]
