"""Who may replace a competition by importing a bundle: decided on the bundle as parsed, for
every archive format and entry point (issue: competition takeover through bundle import)."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from competitions.models import Competition, Team
from submissions.models import Submission
from tests.factories import bundle_membership, predictions_for

pytestmark = pytest.mark.django_db


def _zip(folder: Path, *, decoy_slug: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        if decoy_slug:  # listed before the real manifest: what a peek at "the first competition.yaml" reads
            zf.writestr("a/competition.yaml", yaml.safe_dump({"slug": decoy_slug}))
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _tar_gz(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tf.add(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _import(client, content: bytes, name: str, **fields):
    data = {"file": SimpleUploadedFile(name, content), **fields}
    return client.post("/api/v1/competitions/import/", data, format="multipart")


@pytest.fixture
def victim(make_user, client_for, tmp_path):
    """Organizer A's competition with a team that has submitted."""
    owner = make_user("owner", organizer=True)
    created = _import(client_for(owner), _zip(bundle_membership(tmp_path / "victim")), "bundle.zip")
    assert created.status_code == 201, created.json()
    competition = Competition.objects.get(slug="mia-test")
    participant = make_user("participant")
    client = client_for(participant)
    assert client.post("/api/v1/competitions/mia-test/teams/", {"name": "Alpha"}).status_code == 201
    submitted = client.post("/api/v1/competitions/mia-test/submissions/",
                            {"file": SimpleUploadedFile("predictions.csv", predictions_for(competition))}, format="multipart")
    assert submitted.status_code == 201, submitted.json()
    return {"owner": owner, "competition": competition}


def _intact(victim) -> None:
    competition = Competition.objects.get(slug="mia-test")
    assert competition.pk == victim["competition"].pk
    assert list(competition.organizers.all()) == [victim["owner"]]
    assert Team.objects.filter(competition=competition, name="Alpha").exists()
    assert Submission.objects.filter(competition=competition, team__isnull=False).count() == 1


@pytest.mark.parametrize("packer, name", [(_tar_gz, "bundle.tar.gz"), (lambda f: _zip(f, decoy_slug="decoy"), "bundle.zip")],
                         ids=["tar.gz with the victim's slug", "zip with a decoy manifest first"])
def test_another_organizer_cannot_replace_a_competition(victim, make_user, client_for, tmp_path, packer, name):
    attacker = make_user("attacker", organizer=True)
    hostile = bundle_membership(tmp_path / "hostile", title="Mine now")
    response = _import(client_for(attacker), packer(hostile), name, replace="true", discard_submissions="true")
    assert response.status_code == 403, response.json()
    assert "only its organizers may replace it" in response.json()["error"]
    _intact(victim)
    denied = AuditEvent.objects.get(action=AuditEvent.DENIED, competition_slug="mia-test")
    assert denied.actor_username == "attacker" and denied.detail == {"attempted": AuditEvent.REPLACE}
    assert denied.request_id and denied.ip == "127.0.0.1"


def test_the_organizers_page_and_the_command_refuse_the_same(victim, make_user, client, tmp_path):
    attacker = make_user("attacker", organizer=True)
    client.force_login(attacker)
    hostile = bundle_membership(tmp_path / "hostile", title="Mine now")
    page = client.post("/organize/", {"bundle": SimpleUploadedFile("b.tar.gz", _tar_gz(hostile)), "replace": "on",
                                      "discard_submissions": "on"})
    assert page.status_code == 403 and "only its organizers may replace it" in page.content.decode()
    with pytest.raises(CommandError, match="only its organizers may replace it"):
        call_command("import_competition", str(hostile), "--replace", "--discard-submissions", "--organizer", "attacker")
    _intact(victim)


def test_replacing_a_competition_with_team_submissions_needs_the_explicit_flag(victim, client_for, tmp_path):
    owner_client = client_for(victim["owner"])
    update = bundle_membership(tmp_path / "update", title="Second edition")
    refused = _import(owner_client, _tar_gz(update), "bundle.tgz", replace="true")
    assert refused.status_code == 409
    assert "1 team submission(s) from 1 team(s)" in refused.json()["error"] and "discard_submissions=true" in refused.json()["error"]
    _intact(victim)

    replaced = _import(owner_client, _tar_gz(update), "bundle.tgz", replace="true", discard_submissions="true")
    assert replaced.status_code == 201, replaced.json()
    competition = Competition.objects.get(slug="mia-test")
    assert competition.title == "Second edition" and list(competition.organizers.all()) == [victim["owner"]]
    assert not Submission.objects.filter(competition=competition, team__isnull=False).exists()
    event = AuditEvent.objects.get(action=AuditEvent.REPLACE)
    assert event.actor_username == "owner" and event.detail["discarded"] == {"submissions": 1, "teams": 1}
    assert event.detail["hidden_files"] == ["hidden/membership.csv"]


def test_a_competition_nobody_organizes_is_replaced_by_staff_only(make_user, client_for, tmp_path, django_user_model):
    call_command("import_competition", str(bundle_membership(tmp_path / "demo")))  # the demo's way: no organizer
    assert not Competition.objects.get(slug="mia-test").organizers.exists()
    organizer = make_user("organizer", organizer=True)
    content = _zip(bundle_membership(tmp_path / "again", title="Taken"))
    refused = _import(client_for(organizer), content, "bundle.zip", replace="true")
    assert refused.status_code == 403 and "only staff" in refused.json()["error"]
    staff = django_user_model.objects.create_user("admin", password="a-long-test-password", is_staff=True)
    replaced = _import(client_for(staff), content, "bundle.zip", replace="true")
    assert replaced.status_code == 201 and Competition.objects.get(slug="mia-test").title == "Taken"


def test_participants_cannot_import_through_the_command_either(make_user, tmp_path):
    make_user("participant")
    with pytest.raises(CommandError, match="Only organizers can import"):
        call_command("import_competition", str(bundle_membership(tmp_path / "b")), "--organizer", "participant")
    assert not Competition.objects.exists()
