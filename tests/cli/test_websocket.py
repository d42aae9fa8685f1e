"""Token authentication on the submission websocket, and ``arena submit --wait`` following it live.

The live test runs the real ASGI application under Daphne in a thread of the test process,
so it shares the test database; Twisted's reactor runs once per process, hence one server
for the whole session.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from tests.factories.cli import predictions


def _submission(competition, user):
    from competitions.services import team_create
    from submissions.models import Submission

    team = team_create(competition=competition, user=user, name=f"team of {user.username}")
    phase = competition.phases.get()
    return Submission.objects.create(competition=competition, phase=phase, team=team, submitted_by=user, role="attack",
                                     task=competition.task, kind="file", storage_path="unused", original_filename="p.csv",
                                     sha256="0" * 64, size=1)


async def _connect(submission_id: int, headers):
    from config.asgi import application

    communicator = WebsocketCommunicator(application, f"/ws/submissions/{submission_id}/", headers=headers)
    connected, _ = await communicator.connect()
    message = await communicator.receive_json_from() if connected else None
    await communicator.disconnect()
    return connected, message


@pytest.fixture
def membership(tmp_path, transactional_db):
    from competitions.services import competition_import
    from tests.factories.cli import write_bundle

    answers = write_bundle(tmp_path / "bundle", slug="mia-ws")
    return competition_import(path=tmp_path / "bundle"), answers


def test_token_header_authenticates_the_submission_websocket(membership, user):
    competition, _ = membership
    owner, stranger = user("owner"), user("stranger")
    submission = _submission(competition, owner)
    origin = (b"origin", b"http://localhost")

    token = Token.objects.create(user=owner).key.encode()
    connected, message = async_to_sync(_connect)(submission.pk, [origin, (b"authorization", b"Token " + token)])
    assert connected and message["submission"]["id"] == submission.pk and message["submission"]["status"] == "queued"

    other = Token.objects.create(user=stranger).key.encode()
    assert async_to_sync(_connect)(submission.pk, [origin, (b"authorization", b"Token " + other)]) == (False, None)
    assert async_to_sync(_connect)(submission.pk, [origin, (b"authorization", b"Token not-a-key")]) == (False, None)
    assert async_to_sync(_connect)(submission.pk, [origin]) == (False, None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker):
    """The project's ASGI application (HTTP and websockets) served by Daphne on a free port."""
    from daphne.endpoints import build_endpoint_description_strings
    from daphne.server import Server  # installs Twisted's asyncio reactor on import

    from config.asgi import application

    port = _free_port()
    server = Server(application=application, endpoints=build_endpoint_description_strings(host="127.0.0.1", port=port),
                    signal_handlers=False, verbosity=0)
    thread = threading.Thread(target=server.run, name="daphne", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("Daphne did not start listening") from None
            time.sleep(0.05)
    with django_db_blocker.unblock():
        yield f"http://127.0.0.1:{port}"
    from twisted.internet import reactor

    reactor.callFromThread(reactor.stop)
    thread.join(10)


def test_submit_wait_follows_the_status_over_the_websocket(asgi_server, membership, user, arena, inline, tmp_path, monkeypatch):
    from submissions.models import Submission

    competition, answers = membership
    owner = user("alice")
    from competitions.services import team_create

    team_create(competition=competition, user=owner, name="Live")
    monkeypatch.setenv("ARENA_TOKEN", Token.objects.create(user=owner).key)
    monkeypatch.setenv("ARENA_SERVER", asgi_server)

    result = arena("submit", "mia-ws", predictions(answers, tmp_path / "predictions.csv"), "--wait")

    assert result.code == 0, result
    submission = Submission.objects.get(team__name="Live")
    assert "Following live over the websocket." in result.err
    assert "No websocket" not in result.err
    assert f"#{submission.pk}  finished" in result.out
    assert "TPR at FPR 0.1 *" in result.out


def test_submit_wait_prints_each_pushed_status_change(asgi_server, membership, user, settings, capsys, tmp_path, monkeypatch):
    """Evaluation is held back (manual mode) while the CLI listens; each change then arrives as a push."""
    from arena_cli.main import main
    from competitions.services import team_create
    from submissions import services
    from submissions.models import Submission

    settings.ARENA_EVALUATION_MODE = "manual"
    competition, answers = membership
    owner = user("alice")
    team_create(competition=competition, user=owner, name="Patient")
    monkeypatch.setenv("ARENA_TOKEN", Token.objects.create(user=owner).key)
    monkeypatch.setenv("ARENA_SERVER", asgi_server)
    file = predictions(answers, tmp_path / "predictions.csv")
    codes = []
    cli = threading.Thread(target=lambda: codes.append(main(["submit", "mia-ws", str(file), "--wait"])), daemon=True)
    started = time.monotonic()
    cli.start()

    out, err = "", ""
    deadline = time.monotonic() + 15
    while "Following live over the websocket." not in err:  # printed once the snapshot arrived: it is listening
        assert time.monotonic() < deadline and cli.is_alive(), (out, err)
        time.sleep(0.05)
        captured = capsys.readouterr()
        out, err = out + captured.out, err + captured.err
    submission = Submission.objects.get(team__name="Patient")
    for status in ("running", "scoring"):
        services.submission_set_status(submission=submission, status=status)
        time.sleep(0.3)
    services.submission_set_status(submission=submission, status="failed", failure_class="invalid_output",
                                   error="predictions.csv line 2, column score: 'x' is not a number in [0, 1]")
    cli.join(20)

    assert not cli.is_alive() and codes == [1]
    assert time.monotonic() - started < 15  # pushes, not the quiet-spell fallback, carried the changes
    captured = capsys.readouterr()
    out, err = out + captured.out, err + captured.err
    statuses = [line.split()[-1] for line in out.splitlines() if f"#{submission.pk}  " in line]
    assert statuses == ["queued", "running", "scoring", "failed"]
    assert "Following live over the websocket." in err
    assert err.rstrip().endswith(
        f"Submission #{submission.pk} failed (invalid_output): predictions.csv line 2, column score: 'x' is not a number in [0, 1]")


# ---------------------------------------------------------------------------- clients that are not browsers


def _plain_connect(url: str, **kwargs):
    """A plain websockets client, as a script or notebook would use: it sends no Origin unless told."""
    import json

    from websockets.sync.client import connect

    with connect(url, open_timeout=10, proxy=None, **kwargs) as connection:
        return json.loads(connection.recv(timeout=10))


def test_a_script_without_origin_may_watch_while_foreign_origins_are_refused(asgi_server, membership, user, settings):
    from websockets.exceptions import InvalidStatus

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]  # as in production; the test settings allow any host
    competition, _ = membership
    ws = asgi_server.replace("http://", "ws://")

    snapshot = _plain_connect(f"{ws}/ws/competitions/{competition.slug}/leaderboard/")  # anonymous, no Origin
    assert snapshot["type"] == "snapshot"
    board = snapshot["leaderboards"][0]
    assert board["phase"] == "development" and board["split"] == "public" and board["task"] == "membership-inference"
    assert board["rows"] == []  # the baseline is not scored yet (evaluation is held back here)

    owner = user("scripter")
    submission = _submission(competition, owner)
    token = Token.objects.create(user=owner).key
    status = _plain_connect(f"{ws}/ws/submissions/{submission.pk}/", additional_headers={"Authorization": f"Token {token}"})
    assert status == {"type": "status", "submission": {**status["submission"], "id": submission.pk, "status": "queued"}}

    with pytest.raises(InvalidStatus) as refused:  # a page of another site, riding on its visitor's session
        _plain_connect(f"{ws}/ws/competitions/{competition.slug}/leaderboard/", origin="https://evil.example")
    assert refused.value.response.status_code == 403
    same_site = _plain_connect(f"{ws}/ws/competitions/{competition.slug}/leaderboard/", origin=asgi_server)
    assert same_site["type"] == "snapshot"
