"""Both registration paths, the page and the API, go through one service and so keep one set
of rules: username form, case-insensitive uniqueness, the password validators."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


def _page(client, **fields):
    form = {"username": "ada", "email": "ada@example.org", "password1": PASSWORD, "password2": PASSWORD, **fields}
    return client.post("/accounts/register/", form)


def test_the_same_rules_on_both_paths(api_client, client):
    assert api_client.post("/api/v1/auth/register/", {"username": "ada", "password": PASSWORD, "email": "a@example.org"}).status_code == 201
    page = _page(client, username="ADA")
    assert page.status_code == 400 and "already exists" in page.content.decode()
    assert _page(client, username="Grace").status_code == 302
    taken = api_client.post("/api/v1/auth/register/", {"username": "grace", "password": PASSWORD, "email": "g@example.org"})
    assert taken.status_code == 409 and taken.json()["error"] == "username: 'grace' is taken."

    short = _page(client, username="ab")  # the API's username rule holds on the page too
    assert short.status_code == 400 and "3–150 letters" in short.content.decode()
    api_short = api_client.post("/api/v1/auth/register/", {"username": "ab", "password": PASSWORD, "email": "b@example.org"})
    assert api_short.status_code == 400 and api_short.json()["error"].startswith("username: 3–150 letters")
    bad_email = api_client.post("/api/v1/auth/register/", {"username": "carl", "password": PASSWORD, "email": "not-an-address"})
    assert bad_email.status_code == 400 and bad_email.json()["error"].startswith("email:")
    assert sorted(get_user_model().objects.values_list("username", flat=True)) == ["Grace", "ada"]


def test_the_page_sends_nobody_to_another_host_after_registering(client):
    for target in ["/\\evil.example/x", "//evil.example", "https://evil.example/", "/\\\\evil.example"]:
        response = _page(client, username=f"u{abs(hash(target)) % 10_000}", next=target)
        assert response.status_code == 302 and response["Location"] == "/", target
        client.logout()
    kept = _page(client, username="kept", next="/competitions/x/team/")
    assert kept["Location"] == "/competitions/x/team/"
