"""The audit log: who did what to a competition and its hidden data, when, from where;
readable by its organizers and staff, changeable by no one."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from submissions.models import Run, Submission
from tests.factories import predictions_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def organizer(make_user, membership_competition):
    user = make_user("organizer", organizer=True)
    membership_competition.organizers.add(user)
    return user


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_organizer_actions_are_recorded_with_actor_time_request_id_and_address(
        client_for, client, organizer, make_user, membership_competition, tmp_path):
    api = client_for(organizer)
    edited = api.patch("/api/v1/competitions/mia-test/", {"title": "Renamed"}, format="json", HTTP_X_REQUEST_ID="req-edit-0001")
    assert edited.status_code == 200 and edited["X-Request-ID"] == "req-edit-0001"
    assert api.post("/api/v1/competitions/mia-test/phases/development/reveal/").status_code == 200

    member = make_user("member")
    member_api = client_for(member)
    member_api.post("/api/v1/competitions/mia-test/teams/", {"name": "Alpha"})
    queued = member_api.post("/api/v1/competitions/mia-test/submissions/",
                             {"file": SimpleUploadedFile("predictions.csv", predictions_for(membership_competition))},
                             format="multipart").json()
    assert member_api.post(f"/api/v1/submissions/{queued['id']}/cancel/").status_code == 200
    client.force_login(organizer)
    rerun = client.post("/competitions/mia-test/organize/action/", {"action": "rerun", "submission": queued["id"]})
    assert rerun.status_code == 302
    call_command("export_competition", "mia-test", str(tmp_path / "export"))

    assert _actions() == [AuditEvent.IMPORT, AuditEvent.UPDATE, AuditEvent.REVEAL, AuditEvent.CANCEL, AuditEvent.RERUN,
                          AuditEvent.EXPORT]
    _, edit, reveal, cancel, rerun_event, export = AuditEvent.objects.order_by("id")
    assert edit.actor_username == "organizer" and edit.request_id == "req-edit-0001" and edit.ip == "127.0.0.1"
    assert edit.detail == {"title": {"from": "Membership inference test", "to": "Renamed"}}
    assert reveal.target == "phase:development" and cancel.actor_username == "member"
    assert rerun_event.target == f"submission:{queued['id']}" and len(rerun_event.request_id) == 32
    assert export.actor_username == "" and export.detail["hidden_files"] == ["hidden/membership.csv"]
    assert all(e.competition_slug == "mia-test" for e in AuditEvent.objects.all())


def test_failed_permission_checks_are_recorded(client_for, client, organizer, make_user):
    intruder = make_user("intruder")
    assert client_for(intruder).patch("/api/v1/competitions/mia-test/", {"title": "x"}, format="json").status_code == 403
    assert client_for(intruder).post("/api/v1/competitions/mia-test/phases/development/reveal/").status_code == 403
    client.force_login(intruder)
    assert client.get("/competitions/mia-test/organize/").status_code == 404
    denied = AuditEvent.objects.filter(action=AuditEvent.DENIED).order_by("id")
    assert [e.target for e in denied] == ["PATCH /api/v1/competitions/mia-test/",
                                          "POST /api/v1/competitions/mia-test/phases/development/reveal/",
                                          "GET /competitions/mia-test/organize/"]
    assert {e.actor_username for e in denied} == {"intruder"} and {e.competition_slug for e in denied} == {"mia-test"}


def test_organizers_reading_a_hidden_run_s_detail_is_recorded(client_for, organizer, make_user, membership_competition):
    member = make_user("member")
    member_api = client_for(member)
    member_api.post("/api/v1/competitions/mia-test/teams/", {"name": "Alpha"})
    submitted = member_api.post("/api/v1/competitions/mia-test/submissions/",
                                {"file": SimpleUploadedFile("predictions.csv", predictions_for(membership_competition))},
                                format="multipart").json()
    submission = Submission.objects.get(pk=submitted["id"])
    run = Run.objects.create(submission=submission, purpose="evaluation", saw_hidden_data=True)
    assert member_api.get(f"/api/v1/submissions/{submission.pk}/").status_code == 200  # the team's own read: nothing to record
    assert not AuditEvent.objects.filter(action=AuditEvent.HIDDEN_READ).exists()
    assert client_for(organizer).get(f"/api/v1/submissions/{submission.pk}/").status_code == 200
    event = AuditEvent.objects.get(action=AuditEvent.HIDDEN_READ)
    assert event.actor_username == "organizer" and event.detail == {"runs": [run.pk], "via": "api"}


def test_the_log_is_for_organizers_and_staff(api_client, client_for, client, organizer, make_user, django_user_model):
    client_for(organizer).post("/api/v1/competitions/mia-test/phases/development/reveal/")
    listed = client_for(organizer).get("/api/v1/competitions/mia-test/audit/")
    assert listed.status_code == 200 and [e["action"] for e in listed.json()] == [AuditEvent.REVEAL, AuditEvent.IMPORT]
    assert listed.json()[0]["actor"] == "organizer"
    staff = django_user_model.objects.create_user("admin", password="a-long-test-password", is_staff=True)
    assert client_for(staff).get("/api/v1/competitions/mia-test/audit/").status_code == 200

    other_organizer = make_user("other", organizer=True)
    assert client_for(other_organizer).get("/api/v1/competitions/mia-test/audit/").status_code == 403
    assert api_client.get("/api/v1/competitions/mia-test/audit/").status_code == 401

    client.force_login(organizer)
    page = client.get("/competitions/mia-test/organize/audit/")
    assert page.status_code == 200 and "phase.reveal" in page.content.decode()
    client.force_login(other_organizer)
    assert client.get("/competitions/mia-test/organize/audit/").status_code == 404


def test_no_one_can_change_or_delete_an_event(client_for, client, organizer, django_user_model):
    client_for(organizer).post("/api/v1/competitions/mia-test/phases/development/reveal/")
    event = AuditEvent.objects.get(action=AuditEvent.REVEAL)
    for method in ("put", "patch", "delete"):
        assert getattr(client_for(organizer), method)("/api/v1/competitions/mia-test/audit/").status_code == 405
    staff = django_user_model.objects.create_superuser("root", "root@example.org", "a-long-test-password")
    client.force_login(staff)
    assert client.get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200  # staff may read it there
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"action": "phase.reveal", "target": "x"}).status_code == 403
    if connection.vendor == "postgresql":  # and the database refuses it outright
        for write in (lambda: AuditEvent.objects.filter(pk=event.pk).update(target="forged"),
                      lambda: AuditEvent.objects.filter(pk=event.pk).delete()):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                write()
    assert AuditEvent.objects.get(pk=event.pk).target == "phase:development"


def test_organizer_grants_and_removals_are_recorded(client_for, organizer, make_user):
    colleague, outsider = make_user("colleague"), make_user("outsider")
    api = client_for(organizer)
    assert client_for(outsider).post("/api/v1/competitions/mia-test/organizers/", {"username": "outsider"}).status_code == 403
    granted = api.post("/api/v1/competitions/mia-test/organizers/", {"username": "Colleague"})
    assert granted.status_code == 201 and granted.json()["organizers"] == ["colleague", "organizer"]
    assert client_for(colleague).get("/api/v1/competitions/mia-test/audit/").status_code == 200
    assert api.post("/api/v1/competitions/mia-test/organizers/", {"username": "nobody"}).status_code == 404
    removed = client_for(colleague).delete("/api/v1/competitions/mia-test/organizers/organizer/")
    assert removed.status_code == 200 and removed.json()["organizers"] == ["colleague"]
    last = client_for(colleague).delete("/api/v1/competitions/mia-test/organizers/colleague/")
    assert last.status_code == 409 and "last organizer" in last.json()["error"]
    events = AuditEvent.objects.exclude(action=AuditEvent.IMPORT).order_by("id")
    assert [(e.action, e.actor_username, e.target) for e in events] == [
        (AuditEvent.DENIED, "outsider", "POST /api/v1/competitions/mia-test/organizers/"),
        (AuditEvent.ORGANIZER_ADD, "organizer", "user:colleague"),
        (AuditEvent.ORGANIZER_REMOVE, "colleague", "user:organizer"),
    ]
