"""The API fuzzer: requests generated from /api/v1/schema/, valid and invalid, as a caller
with every role at once (organizer, team member, staff-less) and as nobody. None may get a 5xx.

Bounded so the whole run stays under two minutes: a few examples per operation and mode.
"""

from __future__ import annotations

import re
import traceback

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from schemathesis import GenerationMode

from tests.factories import predictions_for

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

EXAMPLES = 6  # per operation, generation mode and caller


@pytest.fixture
def world(settings, make_user, client_for, membership_competition):
    """An organizer who is also in a team with one queued submission, so that generated
    requests reach real objects and not only 404s."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.authtoken.models import Token

    settings.ARENA_EVALUATION_MODE = "manual"
    settings.DEBUG_PROPAGATE_EXCEPTIONS = True
    user = make_user("fuzzer", organizer=True)
    membership_competition.organizers.add(user)
    client = client_for(user)
    team = client.post("/api/v1/competitions/mia-test/teams/", {"name": "Fuzz"}).json()
    submission = client.post("/api/v1/competitions/mia-test/submissions/",
                             {"file": SimpleUploadedFile("predictions.csv", predictions_for(membership_competition))},
                             format="multipart").json()
    known = {"slug": "mia-test", "team_id": team["id"], "submission_id": submission["id"], "phase_name": "development"}
    return {"token": Token.objects.get(user=user).key, "known": known}


@pytest.fixture
def wsgi_app():
    """The real WSGI application, kept from closing the test's database connection at the end
    of each request (as Django's own test client does)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_no_generated_request_gets_a_server_error(world, wsgi_app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", wsgi_app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    for operation in operations:
        names = re.findall(r"{(\w+)}", operation.path)
        known = {name: world["known"][name] for name in names if name in world["known"]}
        token = {"Authorization": f"Token {world['token']}"}
        variants = [  # (what is generated, path parameters, who asks)
            (GenerationMode.POSITIVE, known, token),  # valid requests reaching real objects
            (GenerationMode.NEGATIVE, known, token),  # invalid bodies and queries on real objects
            (GenerationMode.POSITIVE, {}, token),  # arbitrary ids and slugs
            (GenerationMode.NEGATIVE, {}, {}),  # invalid everything, anonymous
        ]
        for mode, path_parameters, headers in variants:
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None)
            _fuzz(strategy, headers, failures)
    assert not failures, "\n".join(failures[:5])


def _fuzz(strategy, headers: dict, failures: list[str]) -> None:
    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
    @hypothesis.given(case=strategy)
    def call(case):
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # DEBUG_PROPAGATE_EXCEPTIONS: the server's own exception, with its trace
            failures.append(f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:200]!r} "
                            f"-> {''.join(traceback.format_exception(exc)[-6:])}")
            return
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:200]!r} "
                            f"-> {response.status_code}: {response.text[:300]}")

    try:
        call()
    except hypothesis.errors.Unsatisfiable:
        pass  # no invalid request exists for an operation without inputs
