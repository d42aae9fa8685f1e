"""The ``arena`` CLI driven against a live test server over real HTTP.

Every test gets a private config folder (XDG_CONFIG_HOME) and none of the ARENA_* variables
of the surrounding shell. Competitions are built from a small membership-inference bundle
written by tests/factories/cli.py, so a predictions file is a complete submission and no container engine is
needed; evaluation runs inline, inside the upload request.
"""

from __future__ import annotations

import pytest

from arena_cli.main import main
from tests.factories.cli import PASSWORD, write_bundle


@pytest.fixture(autouse=True)
def cli_env(tmp_path, monkeypatch):
    """A clean environment: credentials under a temporary XDG_CONFIG_HOME, no ARENA_* leaking in."""
    for name in ("ARENA_CONFIG", "ARENA_TOKEN", "ARENA_SERVER", "ARENA_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "anomed-arena" / "credentials.json"


class Result:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def arena(capsys):
    """Run ``arena ARGS`` in-process; returns the exit status and what it printed."""

    def run(*argv) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def inline(settings):
    settings.ARENA_EVALUATION_MODE = "inline"  # scored inside the upload request
    return settings


@pytest.fixture
def competition(live_server, inline, tmp_path):
    """An imported competition (its baseline already scored) and its hidden answers."""
    from competitions.services import competition_import

    answers = write_bundle(tmp_path / "bundle", slug="mia-cli")
    competition = competition_import(path=tmp_path / "bundle")
    return competition, answers


@pytest.fixture
def user(transactional_db, django_user_model):
    def make(username: str):
        return django_user_model.objects.create_user(username=username, email=f"{username}@example.org", password=PASSWORD)

    return make


@pytest.fixture
def logged_in(arena, live_server, user, monkeypatch):
    """Create a user and log the CLI in as them through the real token endpoint."""

    def login(username: str = "alice"):
        user(username)
        monkeypatch.setenv("ARENA_PASSWORD", PASSWORD)
        result = arena("login", "--server", live_server.url, "--username", username)
        monkeypatch.delenv("ARENA_PASSWORD")
        assert result.code == 0, result
        return result

    return login
