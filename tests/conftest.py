"""Fixtures shared by the whole suite.

CI sets ``CI=true`` together with ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL``; there a
missing service fails the run instead of skipping tests (see ``tests/test_backing_services_reachable.py``).
"""

from __future__ import annotations

import pytest

from tests.factories import bundle_membership  # noqa: F401  (fixture helpers re-exported)


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    """Every test gets its own private storage and data key file; nothing leaks between tests."""
    storage = tmp_path / "storage"
    storage.mkdir()
    settings.ARENA_STORAGE_ROOT = storage
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(storage), "base_url": None}},
    }
    from django.core.cache import cache

    cache.clear()
    yield storage


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def make_user(db, django_user_model):
    counter = {"n": 0}

    def make(username: str | None = None, *, organizer: bool = False, password: str = "a-long-test-password"):
        counter["n"] += 1
        user = django_user_model.objects.create_user(
            username=username or f"user{counter['n']}", email=f"user{counter['n']}@example.org", password=password
        )
        if organizer:
            from django.contrib.auth.models import Permission

            user.user_permissions.add(Permission.objects.get(codename="add_competition"))
        return user

    return make


@pytest.fixture
def client_for(api_client):
    """An API client authenticated with the user's token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def make(user):
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def membership_competition(db, tmp_path):
    """An imported membership-inference competition (a predictions file is a valid submission)."""
    from competitions.services import competition_import

    bundle = bundle_membership(tmp_path / "bundle")
    return competition_import(path=bundle)


@pytest.fixture
def arena(settings, tmp_path, monkeypatch, django_user_model):
    """A 4-team arena evaluated inline in the process sandbox (:func:`tests.factories.arena.arena_make`).

    The command-line tests (tests/cli) name their own ``arena`` fixture: the ``arena`` program."""
    from tests.factories.arena import arena_make

    return arena_make(settings=settings, tmp_path=tmp_path, monkeypatch=monkeypatch, django_user_model=django_user_model)


@pytest.fixture
def team_member(make_user, membership_competition):
    """A user in team Alpha of the membership competition."""
    from competitions.services import team_create

    user = make_user("member")
    team_create(competition=membership_competition, user=user, name="Alpha")
    return user
