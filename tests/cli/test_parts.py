"""The CLI's pieces on their own: streaming upload body, status following, tables, credentials."""

from __future__ import annotations

import email.parser
import io
import json
import os
import stat

from arena_cli import credentials, follow
from arena_cli.multipart import MultipartEncoder
from arena_cli.output import score, table


def test_multipart_body_streams_the_file_in_blocks_and_parses_back(tmp_path):
    payload = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / 'my "odd" file.zip'
    path.write_bytes(payload)
    sent = []
    body = MultipartEncoder(fields={"description": "naïve test", "role": "attack"}, file_field="file", path=path,
                            progress=sent.append, block_size=64 * 1024)

    blocks = list(body)

    assert max(len(b) for b in blocks) <= 64 * 1024 + len(body.head)
    assert all(len(b) <= 64 * 1024 for b in blocks[1:-1])  # the file itself never comes in one piece
    raw = b"".join(blocks)
    assert len(raw) == len(body) == sum(sent)
    message = email.parser.BytesParser().parsebytes(b"Content-Type: " + body.content_type.encode() + b"\r\n\r\n" + raw)
    parts = {part.get_param("name", header="content-disposition"): part for part in message.get_payload()}
    assert parts["description"].get_payload(decode=True).decode() == "naïve test"
    assert parts["role"].get_payload(decode=True) == b"attack"
    assert parts["file"].get_filename() == "my %22odd%22 file.zip"
    assert parts["file"].get_payload(decode=True) == payload


class FakeClient:
    """Answers GET /submissions/{id}/ from a scripted list of statuses."""

    token = None
    server = "http://arena.invalid"

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.calls = 0
        self.now = 0.0  # advanced by sleep()
        self.asked_at = []

    def sleep(self, seconds):
        assert 0 < seconds <= follow.WAKE_SECONDS  # waits are cut into short naps, so progress can redraw
        self.now += seconds

    def gaps(self):
        return [round(b - a, 4) for a, b in zip(self.asked_at, self.asked_at[1:], strict=False)]

    def get(self, path):
        assert path == "submissions/7/"
        self.asked_at.append(self.now)
        status = self.statuses[min(self.calls, len(self.statuses) - 1)]
        self.calls += 1
        return {"id": 7, "status": status, "public_scores": {}}


def test_polling_reports_each_change_once_and_backs_off():
    client = FakeClient(["queued", "queued", "running", "running", "scoring", "finished"])
    reported, ticks = [], []

    final = follow.follow(client, 7, report=lambda p: reported.append(p["status"]), note=lambda t: None,
                          sleep=client.sleep, tick=lambda: ticks.append(client.now))

    assert reported == ["queued", "running", "scoring", "finished"]
    assert client.gaps()[:5] == [1.0, 1.5, 2.25, 3.375, 5.0625]
    assert final["status"] == "finished"
    assert len(ticks) >= int(client.now)  # woken at least once a second while waiting


def test_polling_backoff_is_capped():
    client = FakeClient(["running"] * 12 + ["failed"])
    follow.follow(client, 7, report=lambda p: None, note=lambda t: None, sleep=client.sleep)
    gaps = client.gaps()[:-1]  # the last read fetches the full submission
    assert max(gaps) == follow.POLL_MAX and gaps[-1] == follow.POLL_MAX


def test_websocket_url_follows_the_server_scheme():
    assert follow.websocket_url("https://arena.example.org", 3) == "wss://arena.example.org/ws/submissions/3/"
    assert follow.websocket_url("http://localhost:8000", 3) == "ws://localhost:8000/ws/submissions/3/"


def test_table_aligns_columns_and_scores_show_their_interval():
    out = io.StringIO()
    table(["RANK", "TEAM", "SCORE"], [[1, "A long team name", score({"value": 0.5, "ci_low": 0.41, "ci_high": 0.6}, 3)],
                                      [None, "B", score({"value": None})]], out=out, right=[0])
    lines = out.getvalue().splitlines()
    assert lines[0] == "RANK  TEAM              SCORE"
    assert lines[2] == "   1  A long team name  0.500 [0.410, 0.600]"
    assert lines[3] == "   -  B                 -"


def test_credentials_are_rewritten_private_and_only_sent_to_their_server(tmp_path, monkeypatch):
    path = tmp_path / "cfg" / "credentials.json"
    monkeypatch.setenv("ARENA_CONFIG", str(path))
    monkeypatch.delenv("ARENA_TOKEN", raising=False)
    monkeypatch.delenv("ARENA_SERVER", raising=False)
    path.parent.mkdir()
    path.write_text("{}")
    os.chmod(path, 0o644)

    credentials.save(credentials.Credentials(server="https://a.example.org", token="k1", username="u"))

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text())["token"] == "k1"
    assert credentials.load().token == "k1"
    assert credentials.load(server="https://a.example.org/").token == "k1"
    assert credentials.load(server="https://b.example.org").token is None  # never leaked to another server
    monkeypatch.setenv("ARENA_TOKEN", "from-env")
    assert credentials.load(server="https://b.example.org").token == "from-env"


def test_a_damaged_credentials_file_is_reported(tmp_path, monkeypatch, capsys):
    from arena_cli.main import main

    path = tmp_path / "credentials.json"
    path.write_text("not json")
    monkeypatch.setenv("ARENA_CONFIG", str(path))
    assert main(["competitions"]) == 1
    assert "is not valid JSON" in capsys.readouterr().err
