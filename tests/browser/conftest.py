"""Browser tests: Playwright drives Debian's Chromium against a real ASGI server.

How the server runs, and why:

* pytest-django's ``live_server`` is WSGI only, and ``ChannelsLiveServerTestCase`` needs a
  unittest class and a database both processes can open. These tests instead start
  **daphne serving config.asgi in a subprocess**, exactly as production runs it, with its
  own SQLite file in a temporary folder (migrated and seeded by ``manage.py`` before
  daphne starts), in-process evaluation (``ARENA_EVALUATION_MODE=thread``) and, when a
  ``redis-server`` binary is installed, a private Redis on a free port for the channel
  layer and the cache (the production set-up); otherwise the in-memory layer.
* The test process never touches that database. It acts only as users do: through the
  browser, and through the REST API with a token where a test needs a second actor
  quickly. So nothing is shared with pytest-django's test database and the server is
  black-box.
* Evaluation is real: the competition is a membership-inference bundle
  (tests/factories) and a predictions file is a valid submission, so an upload runs
  the whole pipeline (validate, score on both splits, save, push) in the server's
  evaluation thread.

Chromium is Debian's (``apt-get install -y chromium``); Playwright's own browser download
is not used. Screenshots of the main pages go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
SLUG = "browser-mia"
ORGANIZER = ("organizer", "organizer-password-1")



def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout} s")


@dataclass
class ArenaServer:
    url: str
    slug: str
    bundle: Path
    log: Path

    def api(self, path: str) -> str:
        return f"{self.url}/api/v1/{path.lstrip('/')}"

    def predictions(self, *, perfect: bool) -> bytes:
        """A predictions.csv from the bundle's hidden answers: perfect, or every score 0.5."""
        with open(self.bundle / "hidden" / "membership.csv", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        lines = ["candidate_id,score"] + [f"{r['candidate_id']},{r['is_member'] if perfect else 0.5}" for r in rows]
        return ("\n".join(lines) + "\n").encode()

    def participant(self, username: str, team: str) -> str:
        """Register a user over the API, create a team, return the user's token."""
        response = requests.post(self.api("auth/register/"), json={"username": username, "password": "a-long-pass-4321", "email": f"{username}@example.org"}, timeout=10)
        response.raise_for_status()
        token = response.json()["token"]
        requests.post(self.api(f"competitions/{self.slug}/teams/"), json={"name": team}, headers={"Authorization": f"Token {token}"}, timeout=10).raise_for_status()
        return token

    def submit(self, token: str, content: bytes) -> dict:
        response = requests.post(self.api(f"competitions/{self.slug}/submissions/"), files={"file": ("predictions.csv", content)},
                                 headers={"Authorization": f"Token {token}"}, timeout=30)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="session")
def arena_server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from tests.factories import bundle_membership

    base = tmp_path_factory.mktemp("arena-browser")
    bundle = bundle_membership(base / "bundle", slug=SLUG, candidates=200,
                               phases=[{"name": "development", "start": "2020-01-01T00:00:00Z", "end": None,
                                        "max_submissions_per_day": 20, "max_final_selections": 1, "max_team_size": 3,
                                        "public_fraction": 0.5, "limits": {"wall_seconds": 30, "memory_mb": 512}}])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ARENA_", "DATABASE_URL", "REDIS_URL"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "ARENA_VAR_DIR": str(base / "var"),
        "DATABASE_URL": f"sqlite:///{base / 'arena.sqlite3'}",
        "ARENA_EVALUATION_MODE": "thread",
        "ARENA_START_EMBEDDED_WORKER": "1",
        "PYTHONUNBUFFERED": "1",
    }
    processes: list[subprocess.Popen] = []
    redis = shutil.which("redis-server")
    if redis:
        redis_port = _free_port()
        processes.append(subprocess.Popen([redis, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for_port(redis_port, processes[-1], "redis-server")
        env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"

    def manage(*args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)

    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput")
    manage("shell", "-c", (
        "from django.contrib.auth import get_user_model; from django.contrib.auth.models import Permission;"
        "from competitions.services import competition_import;"
        f"u = get_user_model().objects.create_user({ORGANIZER[0]!r}, 'org@example.org', {ORGANIZER[1]!r});"
        "u.user_permissions.add(Permission.objects.get(codename='add_competition'));"
        f"competition_import(path={str(bundle)!r}, user=u)"
    ))
    port = _free_port()
    log = base / "daphne.log"
    with open(log, "wb") as out:
        processes.append(subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
                                          cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
    try:
        _wait_for_port(port, processes[-1], "daphne")
        yield ArenaServer(url=f"http://127.0.0.1:{port}", slug=SLUG, bundle=bundle, log=log)
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


def log_in(page, server: ArenaServer, username: str, password: str) -> None:
    page.goto(f"{server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}/")
