"""Whatever name an upload carries, the answer is a clear one, never a server error."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from submissions.models import Submission
from tests.factories import predictions_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("length", [240, 250, 255])
def test_a_long_filename_is_stored(settings, make_user, client_for, membership_competition, length):
    settings.ARENA_EVALUATION_MODE = "manual"
    client = client_for(make_user("member"))
    client.post("/api/v1/competitions/mia-test/teams/", {"name": "Alpha"})
    name = "p" * (length - len(".csv")) + ".csv"
    response = client.post("/api/v1/competitions/mia-test/submissions/",
                           {"file": SimpleUploadedFile(name, predictions_for(membership_competition))}, format="multipart")
    assert response.status_code == 201, response.content[:300]
    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.original_filename == name
    assert submission.storage_path.endswith(".csv") and len(submission.storage_path.rsplit("/", 1)[1]) <= 100


def test_odd_characters_in_a_filename_stay_out_of_storage_paths(settings, make_user, client_for, membership_competition):
    settings.ARENA_EVALUATION_MODE = "manual"
    client = client_for(make_user("member"))
    client.post("/api/v1/competitions/mia-test/teams/", {"name": "Alpha"})
    name = "..préd ictions\u202e.csv"
    response = client.post("/api/v1/competitions/mia-test/submissions/",
                           {"file": SimpleUploadedFile(name, predictions_for(membership_competition))}, format="multipart")
    assert response.status_code == 201
    stored = Submission.objects.get(pk=response.json()["id"]).storage_path.rsplit("/", 1)[1]
    assert stored.isascii() and " " not in stored and stored.endswith(".csv")
