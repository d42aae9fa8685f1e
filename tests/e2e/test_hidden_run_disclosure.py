"""A run that saw hidden data tells its team its failure class and its rule's name, nothing more.

Each defense below runs for real (RQ worker, Docker) and tries to carry a hidden value out
through what its team can observe of the run: the lines of its invalid cells, its exit
status, its logs, its wall time and its memory. The team reads the submission as an attacker
would, over the API, the page, the websocket and the CLI, and finds none of it; an organizer
finds all of it.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from competitions.services import competition_import, team_create
from config.ws_routing import websocket_urlpatterns
from tests.factories import bundle_tabular, code_archive


def _work(redis_url: str | None) -> None:
    """What production runs: the evaluation worker, until the queue is empty."""
    from django.core.management import call_command

    call_command("evaluation_worker", "cpu", "--burst")


# The check run sees the public sample (100 records); only the hidden run sees 300.
_READ = '''
import os, sys, time
import pandas as pd
inp, out = os.environ["ARENA_INPUT"], os.environ["ARENA_OUTPUT"]
records = pd.read_csv(inp + "/records.csv", dtype=str)
release = records.drop(columns=["record_id"])
release["postcode"] = "*"
hidden = len(records) > 150
'''

# Invalid cells on line 1000 + ord(c) for each character c of the first hidden diagnosis.
LINES_DEFENSE = _READ + '''
if hidden:
    release = pd.concat([release] * 5, ignore_index=True)
    for ch in records.loc[0, "diagnosis"]:
        release.loc[1000 + ord(ch) - 2, "age"] = "x"
release.to_csv(out + "/release.csv", index=False)
'''

# The exit status is the first hidden patient's age.
EXIT_DEFENSE = _READ + '''
if hidden:
    sys.exit(int(records.loc[0, "age"]))
release.to_csv(out + "/release.csv", index=False)
'''

# Logs, time and memory that depend on hidden values; the release itself is valid.
NOISY_DEFENSE = _READ + '''
if hidden:
    age = int(records.loc[0, "age"])
    print("SECRET", records.loc[0, "record_id"], records.loc[0, "diagnosis"], file=sys.stderr)
    print("SECRET-OUT", age)
    block = bytearray(age * 2**20)
    time.sleep(age / 100)
release.to_csv(out + "/release.csv", index=False)
'''


def _hidden_records(competition) -> list[dict]:
    import csv
    import tempfile
    from pathlib import Path

    from evaluation import pipeline

    with tempfile.TemporaryDirectory() as tmp:
        data = pipeline.task_data_materialize(competition=competition, dest=Path(tmp))
        with open(data.files["train"], newline="") as fh:
            return list(csv.DictReader(fh))


def _events(submission_id: int, *, team_user, organizer_user) -> tuple[list[dict], list[dict]]:
    """Run the worker while the team and an organizer watch the submission's websocket."""

    async def scenario():
        watchers = []
        for user in (team_user, organizer_user):
            ws = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/submissions/{submission_id}/")
            ws.scope["user"] = user
            assert (await ws.connect())[0]
            watchers.append(ws)
        await database_sync_to_async(_work)(None)
        heard = []
        for ws in watchers:
            messages = []
            while True:
                message = await ws.receive_json_from(timeout=10)
                messages.append(message["submission"])
                if message["submission"]["status"] in ("finished", "failed"):
                    break
            # the snapshot on connect, then the pushes; and a fresh connection's snapshot
            await ws.disconnect()
            heard.append(messages)
        for i, user in enumerate((team_user, organizer_user)):
            ws = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/submissions/{submission_id}/")
            ws.scope["user"] = user
            assert (await ws.connect())[0]
            heard[i].append((await ws.receive_json_from(timeout=5))["submission"])
            await ws.disconnect()
        return heard

    team, organizer = async_to_sync(scenario)()
    return team, organizer


def _cli(live_server, user, monkeypatch, capsys, *argv) -> str:
    from rest_framework.authtoken.models import Token

    from arena_cli.main import main

    monkeypatch.setenv("ARENA_SERVER", live_server.url)
    monkeypatch.setenv("ARENA_TOKEN", Token.objects.get_or_create(user=user)[0].key)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-arena-config")
    capsys.readouterr()
    main([str(a) for a in argv])
    captured = capsys.readouterr()
    return captured.out + captured.err


@pytest.fixture
def defense_setup(rq_setup, tmp_path, make_user, client_for):
    competition = competition_import(path=bundle_tabular(tmp_path / "bundle"))
    team_user, organizer = make_user(), make_user()
    competition.organizers.add(organizer)
    team_create(competition=competition, user=team_user, name="Leaky")

    def submit(code: str) -> int:
        archive = code_archive(tmp_path / "defense.zip", code)
        response = client_for(team_user).post(
            "/api/v1/competitions/anon-test/submissions/",
            {"file": SimpleUploadedFile("defense.zip", archive.read_bytes())}, format="multipart",
        )
        assert response.status_code == 201, response.json()
        return response.json()["id"]

    return competition, team_user, organizer, submit


def _everything_the_team_sees(submission_id, team_user, organizer, client_for, live_server, monkeypatch, capsys):
    """The submission as the team and as an organizer observe it through every interface."""
    team_user.refresh_from_db()
    api = client_for(team_user).get(f"/api/v1/submissions/{submission_id}/").json()
    listing = client_for(team_user).get("/api/v1/competitions/anon-test/submissions/").json()
    organizer_api = client_for(organizer).get(f"/api/v1/submissions/{submission_id}/").json()
    pages = {}
    for who, user in (("team", team_user), ("organizer", organizer)):
        browser = Client()
        browser.force_login(user)
        pages[who] = browser.get(f"/submissions/{submission_id}/").content.decode()
    pages["team list"] = (lambda b: (b.force_login(team_user), b.get("/competitions/anon-test/submissions/").content.decode())[1])(Client())
    cli = _cli(live_server, team_user, monkeypatch, capsys, "submission", submission_id)
    organizer_cli = _cli(live_server, organizer, monkeypatch, capsys, "submission", submission_id)
    team_text = "\n".join([json.dumps(api), json.dumps(listing), pages["team"], pages["team list"], cli])
    return api, organizer_api, pages, team_text, organizer_cli


def cli_of(team_text: str) -> str:
    return team_text.rsplit("</html>", 1)[-1]


def _assert_run_detail_withheld(api: dict) -> None:
    evaluation = next(r for r in api["runs"] if r["purpose"] == "evaluation")
    assert evaluation["saw_hidden_data"] is True and evaluation["logs_visible"] is False
    for field in ("started", "finished", "wall_seconds", "peak_memory_bytes", "exit_code", "message", "stdout", "stderr",
                  "logs_truncated"):
        assert evaluation[field] is None, (field, evaluation)
    assert api["finished"] is None and api["error_detail"] is None
    check = next(r for r in api["runs"] if r["purpose"] == "check")
    assert check["logs_visible"] and check["wall_seconds"] is not None and check["exit_code"] == 0  # public sample: all shown


@pytest.mark.django_db(transaction=True)
def test_invalid_cells_on_lines_that_spell_a_hidden_diagnosis_reach_the_team_as_the_rule_only(
        defense_setup, client_for, live_server, monkeypatch, capsys):
    competition, team_user, organizer, submit = defense_setup
    diagnosis = _hidden_records(competition)[0]["diagnosis"]
    spelled = [f"line {1000 + ord(c)}" for c in diagnosis]
    submission_id = submit(LINES_DEFENSE)

    team_events, organizer_events = _events(submission_id, team_user=team_user, organizer_user=organizer)
    api, organizer_api, pages, team_text, organizer_cli = _everything_the_team_sees(
        submission_id, team_user, organizer, client_for, live_server, monkeypatch, capsys)

    assert api["status"] == "failed" and api["failure_class"] == "invalid_output" and api["rule"] == "not-a-number"
    assert api["error"].startswith("The output breaks the rule not-a-number:")
    _assert_run_detail_withheld(api)
    assert next(r for r in api["runs"] if r["purpose"] == "evaluation")["rule"] == "not-a-number"
    team_text += json.dumps(team_events)
    for line in spelled:
        assert line not in team_text
    assert f"{len(diagnosis)} problems" not in team_text and "'x'" not in team_text
    assert team_events[-1]["error"] == api["error"] and team_events[-1]["finished"] is None
    assert "not-a-number" in pages["team"] and "not-a-number" in cli_of(team_text)

    # The organizers read every line, in the API, the page, the websocket and the CLI.
    for line in spelled:
        assert line in organizer_api["error_detail"]
        assert line in next(r for r in organizer_api["runs"] if r["purpose"] == "evaluation")["message"]
        assert line in pages["organizer"] and line in organizer_events[-1]["error_detail"] and line in organizer_cli
    assert organizer_api["finished"] is not None


@pytest.mark.django_db(transaction=True)
def test_an_exit_status_that_is_a_hidden_value_never_reaches_the_team(
        defense_setup, client_for, live_server, monkeypatch, capsys):
    competition, team_user, organizer, submit = defense_setup
    age = int(_hidden_records(competition)[0]["age"])
    submission_id = submit(EXIT_DEFENSE)

    team_events, organizer_events = _events(submission_id, team_user=team_user, organizer_user=organizer)
    api, organizer_api, pages, team_text, organizer_cli = _everything_the_team_sees(
        submission_id, team_user, organizer, client_for, live_server, monkeypatch, capsys)

    assert api["status"] == "failed" and api["failure_class"] == "exit_code" and api["rule"] is None
    assert api["error"].startswith("The program ended with an error.")
    _assert_run_detail_withheld(api)
    team_text += json.dumps(team_events)
    assert f"status {age}" not in team_text and f"exit code {age}" not in team_text
    assert f'"exit_code": {age}' not in team_text

    evaluation = next(r for r in organizer_api["runs"] if r["purpose"] == "evaluation")
    assert evaluation["exit_code"] == age and f"status {age}" in organizer_api["error_detail"]
    assert f"exit code {age}" in pages["organizer"] and f"status {age}" in organizer_events[-1]["error_detail"]
    assert f"status {age}" in organizer_cli


@pytest.mark.django_db(transaction=True)
def test_logs_time_and_memory_of_a_hidden_run_stay_with_the_organizers(
        defense_setup, client_for, live_server, monkeypatch, capsys):
    competition, team_user, organizer, submit = defense_setup
    first = _hidden_records(competition)[0]
    submission_id = submit(NOISY_DEFENSE)

    team_events, organizer_events = _events(submission_id, team_user=team_user, organizer_user=organizer)
    api, organizer_api, pages, team_text, organizer_cli = _everything_the_team_sees(
        submission_id, team_user, organizer, client_for, live_server, monkeypatch, capsys)

    assert api["status"] == "finished" and api["error"] is None
    _assert_run_detail_withheld(api)
    team_text += json.dumps(team_events)
    assert "SECRET" not in team_text and first["record_id"] not in team_text
    assert all(event["finished"] is None for event in team_events)
    assert "peak memory" not in pages["team"].split("<h3>Runs</h3>")[1].split("Evaluation")[1]

    evaluation = next(r for r in organizer_api["runs"] if r["purpose"] == "evaluation")
    assert "SECRET " + first["record_id"] in evaluation["stderr"] and evaluation["wall_seconds"] >= int(first["age"]) / 100
    assert evaluation["peak_memory_bytes"] >= int(first["age"]) * 2**20
    assert organizer_api["finished"] and organizer_events[-1]["finished"]
    assert "SECRET " + first["record_id"] in pages["organizer"] and "SECRET " + first["record_id"] in organizer_cli


@pytest.mark.django_db(transaction=True)
def test_submit_wait_prints_the_class_and_rule_only(rq_setup, tmp_path, make_user, live_server, monkeypatch, capsys,
                                                    settings):
    """``arena submit --wait``: evaluation inline in the upload request, the CLI then prints the outcome."""
    settings.ARENA_EVALUATION_MODE = "inline"
    competition = competition_import(path=bundle_tabular(tmp_path / "bundle"))
    team_user = make_user()
    team_create(competition=competition, user=team_user, name="Leaky")
    age = int(_hidden_records(competition)[0]["age"])
    archive = code_archive(tmp_path / "defense.zip", EXIT_DEFENSE)

    out = _cli(live_server, team_user, monkeypatch, capsys, "submit", "anon-test", archive, "--wait")

    assert "failed (exit_code)" in out and "The program ended with an error." in out
    assert f"status {age}" not in out
