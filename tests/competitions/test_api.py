"""Every endpoint of DESIGN.md's API: its success case and each error code it can return."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import predictions_for, upload

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- auth


def test_register_returns_token_and_rejects_duplicates_and_weak_passwords(api_client):
    response = api_client.post("/api/v1/auth/register/", {"username": "ada", "password": "a-long-test-password", "email": "ada@example.org"})
    assert response.status_code == 201
    assert response.json()["username"] == "ada" and len(response.json()["token"]) == 40

    again = api_client.post("/api/v1/auth/register/", {"username": "ADA", "password": "another-long-password", "email": "x@example.org"})
    assert again.status_code == 409
    assert "taken" in again.json()["error"]

    weak = api_client.post("/api/v1/auth/register/", {"username": "bob", "password": "123", "email": "bob@example.org"})
    assert weak.status_code == 400
    assert weak.json()["error"].startswith("password:")

    missing = api_client.post("/api/v1/auth/register/", {"username": "carl"})
    assert missing.status_code == 400
    assert set(missing.json()["detail"]) == {"password", "email"}


def test_token_for_right_password_only(api_client, make_user):
    make_user("eve")
    ok = api_client.post("/api/v1/auth/token/", {"username": "eve", "password": "a-long-test-password"})
    assert ok.status_code == 200 and ok.json()["token"]
    wrong = api_client.post("/api/v1/auth/token/", {"username": "eve", "password": "nope"})
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "The username or password is wrong.", "detail": None}


def test_session_auth_works_too(client, make_user, membership_competition):
    assert client.get("/api/v1/competitions/mia-test/submissions/").status_code == 401
    client.force_login(make_user())
    response = client.get("/api/v1/competitions/mia-test/submissions/")
    assert response.status_code == 200 and response.json() == []


# --------------------------------------------------------------------------- competitions


def test_list_and_detail_show_published_competitions(api_client, membership_competition):
    listed = api_client.get("/api/v1/competitions/").json()
    assert [c["slug"] for c in listed] == ["mia-test"]
    detail = api_client.get("/api/v1/competitions/mia-test/").json()
    assert detail["phases"][0]["name"] == "development"
    assert {m["key"] for m in detail["metrics"]} >= {"auc", "tpr_at_fpr_0_1"}
    assert sum(m["primary"] for m in detail["metrics"]) == 1
    hidden = [d for d in detail["datasets"] if d["visibility"] == "hidden"]
    assert hidden == [{"name": "membership", "visibility": "hidden", "filename": None, "description": "", "size": None, "sha256": None}]


def test_unknown_and_unpublished_competitions_are_404(api_client, membership_competition, make_user, client_for):
    assert api_client.get("/api/v1/competitions/nope/").status_code == 404
    assert api_client.get("/api/v1/competitions/nope/").json()["error"] == "No competition 'nope'."
    membership_competition.published = False
    membership_competition.save()
    assert api_client.get("/api/v1/competitions/mia-test/").status_code == 404
    organizer = make_user()
    membership_competition.organizers.add(organizer)
    assert client_for(organizer).get("/api/v1/competitions/mia-test/").status_code == 200


def test_data_zip_holds_public_files_and_kit_but_never_hidden_ones(api_client, membership_competition):
    response = api_client.get("/api/v1/competitions/mia-test/data/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    names = set(zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist())
    assert names == {"data/release.csv", "data/candidates.csv", "data/population.csv", "starting_kit/README.md"}
    assert api_client.get("/api/v1/competitions/unknown/data/").status_code == 404


# --------------------------------------------------------------------------- teams


def test_team_create_join_and_limits(api_client, make_user, client_for, membership_competition):
    owner, friend, third, stranger = make_user(), make_user(), make_user(), make_user()
    assert api_client.post("/api/v1/competitions/mia-test/teams/", {"name": "A"}).status_code == 401

    created = client_for(owner).post("/api/v1/competitions/mia-test/teams/", {"name": "Alpha"})
    assert created.status_code == 201
    team = created.json()
    assert team["name"] == "Alpha" and team["invite_code"]

    assert client_for(stranger).post("/api/v1/competitions/mia-test/teams/", {"name": "Alpha"}).status_code == 409
    assert client_for(owner).post("/api/v1/competitions/mia-test/teams/", {"name": "Second"}).status_code == 409
    assert client_for(stranger).post("/api/v1/competitions/mia-test/teams/", {"name": ""}).status_code == 400
    assert client_for(stranger).post("/api/v1/competitions/missing/teams/", {"name": "X"}).status_code == 404

    wrong = client_for(friend).post(f"/api/v1/teams/{team['id']}/join/", {"invite_code": "guess"})
    assert wrong.status_code == 403 and wrong.json() == {"error": "invite_code: this is not the team's invite code.", "detail": None}
    from audit.models import AuditEvent  # a guessed code is a refused permission check, on the record

    guessed = AuditEvent.objects.get(action=AuditEvent.DENIED, target=f"team:{team['id']}")
    assert guessed.actor_username == friend.username and guessed.competition_slug == "mia-test"
    joined = client_for(friend).post(f"/api/v1/teams/{team['id']}/join/", {"invite_code": team["invite_code"]})
    assert joined.status_code == 200
    assert joined.json()["members"] == [owner.username, friend.username]
    again = client_for(friend).post(f"/api/v1/teams/{team['id']}/join/", {"invite_code": team["invite_code"]})
    assert again.status_code == 409
    # The phase allows two members per team.
    full = client_for(third).post(f"/api/v1/teams/{team['id']}/join/", {"invite_code": team["invite_code"]})
    assert full.status_code == 409 and "full" in full.json()["error"]
    assert client_for(third).post("/api/v1/teams/999999/join/", {"invite_code": "x"}).status_code == 404
    assert client_for(third).post(f"/api/v1/teams/{team['id']}/join/", {}).status_code == 400


def test_team_detail_is_for_members_only(make_user, client_for, membership_competition):
    owner, stranger = make_user(), make_user()
    team = client_for(owner).post("/api/v1/competitions/mia-test/teams/", {"name": "Alpha"}).json()
    assert client_for(owner).get(f"/api/v1/teams/{team['id']}/").status_code == 200
    assert client_for(stranger).get(f"/api/v1/teams/{team['id']}/").status_code == 404


# --------------------------------------------------------------------------- leaderboard


def test_leaderboard_public_private_and_errors(settings, api_client, client_for, make_user, team_member, membership_competition,
                                              django_capture_on_commit_callbacks):
    settings.ARENA_EVALUATION_MODE = "inline"
    with django_capture_on_commit_callbacks(execute=True):
        client_for(team_member).post("/api/v1/competitions/mia-test/submissions/", {"file": upload(predictions_for(membership_competition))},
                                     format="multipart")
    board = api_client.get("/api/v1/competitions/mia-test/leaderboard/").json()
    assert board["phase"] == "development" and board["split"] == "public"
    assert [(r["rank"], r["team"], r["baseline"]) for r in board["rows"]] == [(1, "Alpha", False)]
    assert board["rows"][0]["scores"]["auc"]["value"] == 1.0

    hidden = api_client.get("/api/v1/competitions/mia-test/leaderboard/?split=private")
    assert hidden.status_code == 403 and "hidden until" in hidden.json()["error"]
    assert api_client.get("/api/v1/competitions/mia-test/leaderboard/?phase=final").status_code == 404
    assert api_client.get("/api/v1/competitions/mia-test/leaderboard/?split=secret").status_code == 400
    assert api_client.get("/api/v1/competitions/nope/leaderboard/").status_code == 404

    organizer = make_user()
    membership_competition.organizers.add(organizer)
    assert client_for(organizer).get("/api/v1/competitions/mia-test/leaderboard/?split=private").status_code == 200
    assert client_for(team_member).post("/api/v1/competitions/mia-test/phases/development/reveal/").status_code == 403
    assert client_for(organizer).post("/api/v1/competitions/mia-test/phases/development/reveal/").status_code == 200
    private = api_client.get("/api/v1/competitions/mia-test/leaderboard/?split=private").json()
    assert private["rows"][0]["team"] == "Alpha"


def test_openapi_schema_and_docs(api_client):
    schema = api_client.get("/api/v1/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/v1/auth/register/", "/api/v1/competitions/{slug}/leaderboard/", "/api/v1/submissions/{submission_id}/select/"):
        assert path in text
    docs = api_client.get("/api/v1/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


# --------------------------------------------------------------------------- organizers


def test_participant_cannot_import_or_edit(client_for, make_user, membership_competition, tmp_path):
    from tests.factories import bundle_membership

    participant = make_user()
    bundle = bundle_membership(tmp_path / "b2", slug="other")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in bundle.rglob("*"):
            if path.is_file():
                zf.write(path, path.relative_to(bundle).as_posix())
    data = {"file": SimpleUploadedFile("bundle.zip", archive.getvalue(), content_type="application/zip")}
    assert client_for(participant).post("/api/v1/competitions/import/", data, format="multipart").status_code == 403
    edit = client_for(participant).patch("/api/v1/competitions/mia-test/", {"title": "Mine now"}, format="json")
    assert edit.status_code == 403

    organizer = make_user(organizer=True)
    data["file"].seek(0)
    created = client_for(organizer).post("/api/v1/competitions/import/", data, format="multipart")
    assert created.status_code == 201, created.json()
    assert created.json()["slug"] == "other"
    renamed = client_for(organizer).patch("/api/v1/competitions/other/", {"title": "Renamed"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["title"] == "Renamed"


def test_import_api_reports_field_errors(client_for, make_user, tmp_path):
    from tests.factories import bundle_membership

    organizer = make_user(organizer=True)
    bundle = bundle_membership(tmp_path / "bad", slug="Bad Slug!")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in bundle.rglob("*"):
            if path.is_file():
                zf.write(path, path.relative_to(bundle).as_posix())
    response = client_for(organizer).post("/api/v1/competitions/import/",
                                          {"file": SimpleUploadedFile("b.zip", archive.getvalue())}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"].startswith("The bundle is invalid: slug:")
    assert "slug" in response.json()["detail"]


def test_no_url_serves_a_hidden_file(api_client, client_for, make_user, membership_competition, _private_storage):
    """Whoever asks, wherever: the hidden file's bytes never come back, in clear or encrypted."""
    from django.urls import get_resolver

    hidden = membership_competition.datasets.get(name="membership")
    stored = (_private_storage / hidden.storage_path).read_bytes()
    assert b"is_member" not in stored  # encrypted at rest
    organizer = make_user()
    membership_competition.organizers.add(organizer)
    admin = make_user()
    admin.is_staff = admin.is_superuser = True
    admin.save()
    clients = [api_client, client_for(make_user()), client_for(organizer), client_for(admin)]
    candidates = [
        "/api/v1/competitions/mia-test/data/", f"/media/{hidden.storage_path}", f"/static/{hidden.storage_path}",
        f"/{hidden.storage_path}", "/api/v1/competitions/mia-test/", "/api/v1/competitions/",
    ]
    for client in clients:
        for url in candidates:
            response = client.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            if url.endswith("/data/"):
                body = b"".join(zipfile.ZipFile(io.BytesIO(body)).read(n) for n in zipfile.ZipFile(io.BytesIO(body)).namelist())
            assert b"is_member" not in body, url
            assert stored[:64] not in body, url
    # No route of the project is a file server for the storage root.
    assert not any("serve" in str(p.callback) for p in get_resolver().url_patterns if hasattr(p, "callback") and p.callback)
