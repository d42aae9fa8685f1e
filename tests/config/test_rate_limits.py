"""Login, token, registration and submissions are rate limited: 429 with Retry-After.

The suite's settings raise the limits so no other test trips them; these tests set real,
low limits and hit the real limiters."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import predictions_for

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


@pytest.fixture
def strict(settings):
    settings.ARENA_RATE_LIMITS = {"login": "1000/minute", "register": "1000/minute", "submit": "1000/minute"}
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = 0.25  # hours
    return settings


def test_wrong_passwords_lock_the_token_endpoint_even_for_the_right_one(strict, api_client, make_user):
    make_user("victim", password=PASSWORD)
    answers = [api_client.post("/api/v1/auth/token/", {"username": "victim", "password": f"guess-{n}"}).status_code
               for n in range(5)]
    assert answers == [400, 400, 400, 400, 429]  # the fifth failure locks
    locked = api_client.post("/api/v1/auth/token/", {"username": "victim", "password": PASSWORD})
    assert locked.status_code == 429 and locked["Retry-After"] == "900"
    assert "Too many failed logins" in locked.json()["error"] and "token" not in locked.json()


def test_wrong_passwords_lock_the_login_page(strict, client, make_user):
    make_user("victim", password=PASSWORD)
    answers = [client.post("/accounts/login/", {"username": "victim", "password": f"guess-{n}"}).status_code for n in range(5)]
    assert answers == [200, 200, 200, 200, 429]
    locked = client.post("/accounts/login/", {"username": "victim", "password": PASSWORD})
    assert locked.status_code == 429 and locked["Retry-After"] == "900"
    assert "Too many failed logins" in locked.content.decode() and "_auth_user_id" not in client.session


def test_a_successful_login_below_the_limit_works(strict, api_client, make_user):
    make_user("ada", password=PASSWORD)
    for attempt in range(3):
        api_client.post("/api/v1/auth/token/", {"username": "ada", "password": f"guess-{attempt}"})
    assert api_client.post("/api/v1/auth/token/", {"username": "ada", "password": PASSWORD}).status_code == 200


def test_login_requests_are_throttled_per_address_whatever_the_forwarded_header(strict, api_client, client):
    strict.ARENA_RATE_LIMITS = {**strict.ARENA_RATE_LIMITS, "login": "3/minute"}
    for n in range(3):
        assert api_client.post("/api/v1/auth/token/", {"username": f"u{n}", "password": "x"},
                               HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code == 400
    throttled = api_client.post("/api/v1/auth/token/", {"username": "u9", "password": "x"}, HTTP_X_FORWARDED_FOR="10.0.0.9")
    assert throttled.status_code == 429 and 0 < int(throttled["Retry-After"]) <= 60
    # The page counts its own requests in the same scope: it is throttled as well.
    for n in range(3):
        client.post("/accounts/login/", {"username": f"p{n}", "password": "x"})
    page = client.post("/accounts/login/", {"username": "p9", "password": "x"})
    assert page.status_code == 429 and "Retry-After" in page and "Too many attempts" in page.content.decode()
    assert client.get("/accounts/login/").status_code == 200  # reading the form is never throttled


def test_registration_is_throttled_on_both_paths(strict, api_client, client):
    strict.ARENA_RATE_LIMITS = {**strict.ARENA_RATE_LIMITS, "register": "2/hour"}
    for n in range(2):
        created = api_client.post("/api/v1/auth/register/", {"username": f"bot{n}", "password": PASSWORD, "email": f"b{n}@example.org"})
        assert created.status_code == 201
    refused = api_client.post("/api/v1/auth/register/", {"username": "bot9", "password": PASSWORD, "email": "b9@example.org"})
    assert refused.status_code == 429 and 3000 < int(refused["Retry-After"]) <= 3600
    form = {"username": "pagebot", "email": "p@example.org", "password1": PASSWORD, "password2": PASSWORD}
    for n in range(2):
        client.post("/accounts/register/", {**form, "username": f"pagebot{n}"})
        client.logout()
    page = client.post("/accounts/register/", form)
    assert page.status_code == 429 and "Retry-After" in page
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="pagebot").exists()


def test_submissions_are_throttled_per_user(strict, make_user, client_for, membership_competition):
    strict.ARENA_RATE_LIMITS = {**strict.ARENA_RATE_LIMITS, "submit": "2/hour"}
    strict.ARENA_EVALUATION_MODE = "manual"
    member = client_for(make_user("member"))
    member.post("/api/v1/competitions/mia-test/teams/", {"name": "Alpha"})

    def submit():
        return member.post("/api/v1/competitions/mia-test/submissions/",
                           {"file": SimpleUploadedFile("predictions.csv", predictions_for(membership_competition))}, format="multipart")

    assert [submit().status_code for _ in range(2)] == [201, 201]
    throttled = submit()
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert member.get("/api/v1/competitions/mia-test/submissions/").status_code == 200  # reading is not limited
    other = client_for(make_user("other"))
    other.post("/api/v1/competitions/mia-test/teams/", {"name": "Beta"})
    assert other.post("/api/v1/competitions/mia-test/submissions/",
                      {"file": SimpleUploadedFile("predictions.csv", predictions_for(membership_competition))},
                      format="multipart").status_code == 201
