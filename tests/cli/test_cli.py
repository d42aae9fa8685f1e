"""The ``arena`` commands end to end against a live server (real HTTP, real token auth)."""

from __future__ import annotations

import json
import os
import socket
import stat
import zipfile

from rest_framework.authtoken.models import Token

from tests.factories.cli import PASSWORD, predictions


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ---------------------------------------------------------------------------- login


def test_login_stores_the_token_with_private_permissions(arena, live_server, logged_in, cli_env, django_user_model):
    result = logged_in("alice")

    assert cli_env.is_file()
    assert str(cli_env) in result.out and live_server.url in result.out
    assert _mode(cli_env) == 0o600
    assert _mode(cli_env.parent) == 0o700
    stored = json.loads(cli_env.read_text())
    assert stored["server"] == live_server.url
    assert stored["token"] == Token.objects.get(user__username="alice").key

    # The stored login is used by later commands without any option.
    listed = arena("competitions", "--json")
    assert listed.code == 0 and json.loads(listed.out) == []

    out = arena("logout")
    assert out.code == 0 and not cli_env.exists()


def test_arena_config_overrides_the_credentials_path(arena, live_server, user, monkeypatch, tmp_path):
    user("bob")
    target = tmp_path / "elsewhere" / "creds.json"
    monkeypatch.setenv("ARENA_CONFIG", str(target))
    monkeypatch.setenv("ARENA_PASSWORD", PASSWORD)

    assert arena("login", "--server", live_server.url, "-u", "bob").code == 0
    assert _mode(target) == 0o600
    assert not (tmp_path / "xdg").exists()


def test_wrong_password_shows_the_servers_message_and_stores_nothing(arena, live_server, user, monkeypatch, cli_env):
    user("carol")
    monkeypatch.setenv("ARENA_PASSWORD", "not-the-password")

    result = arena("login", "--server", live_server.url, "--username", "carol")

    assert result.code == 1
    assert result.err.strip() == "The username or password is wrong."
    assert not cli_env.exists()


def test_password_is_asked_with_getpass(arena, live_server, user, monkeypatch, cli_env):
    user("dora")
    asked = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or PASSWORD)

    assert arena("login", "--server", live_server.url, "--username", "dora").code == 0
    assert asked and "dora" in asked[0] and live_server.url in asked[0]
    assert cli_env.exists()


def test_environment_token_and_server_override_the_stored_login(arena, live_server, user, monkeypatch, cli_env):
    token = Token.objects.create(user=user("erin"))
    monkeypatch.setenv("ARENA_SERVER", live_server.url)
    monkeypatch.setenv("ARENA_TOKEN", "0" * 40)

    bad = arena("submissions", "no-such-competition")
    assert bad.code == 1 and bad.err.splitlines()[0] == "Invalid token."

    monkeypatch.setenv("ARENA_TOKEN", token.key)
    good = arena("competitions")
    assert good.code == 0 and "No competitions" in good.out
    assert not cli_env.exists()


# ---------------------------------------------------------------------------- reading


def test_competitions_table_and_json(arena, live_server, competition, logged_in):
    logged_in()
    table = arena("competitions")
    assert table.code == 0
    header, rule, row = table.out.splitlines()[:3]
    assert header.split() == ["SLUG", "TITLE", "TASK", "ATTACK", "TASKS", "SCENARIO"]
    assert set(rule) <= {"-", " "}
    assert row.startswith("mia-cli") and "membership-inference" in row
    assert row.index("membership-inference") == header.index("TASK")  # columns line up

    data = json.loads(arena("competitions", "--json").out)
    assert [c["slug"] for c in data] == ["mia-cli"]


def test_unknown_competition_prints_the_servers_message(arena, live_server, logged_in):
    logged_in()
    result = arena("download", "does-not-exist")
    assert result.code == 1
    assert result.err.strip() == "No competition 'does-not-exist'."

    leaderboard = arena("leaderboard", "does-not-exist")
    assert leaderboard.code == 1 and leaderboard.err.strip() == "No competition 'does-not-exist'."


def test_download_holds_the_public_files_and_never_the_hidden_ones(arena, live_server, competition, tmp_path):
    _, answers = competition
    out_dir = tmp_path / "data"

    result = arena("download", "mia-cli", "-o", out_dir, "--unzip", "--server", live_server.url)  # no login needed

    assert result.code == 0, result
    archive = out_dir / "mia-cli-data.zip"
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        contents = b"".join(zf.read(n) for n in names)
    assert {n.rsplit("/", 1)[-1] for n in names} == {"release.csv", "candidates.csv", "population.csv", "README.md"}
    assert "starting_kit/README.md" in names
    assert not any("membership" in n or "hidden" in n for n in names)
    assert b"is_member" not in contents
    assert not list(out_dir.glob("*.part"))
    unpacked = out_dir / "mia-cli-data"
    candidates = next(unpacked.rglob("candidates.csv"))
    assert candidates.read_text().startswith("candidate_id,")
    assert (unpacked / "starting_kit" / "README.md").exists()
    assert "Unpacked 4 file(s)" in result.out


def test_not_logged_in_shows_the_servers_message_and_how_to_log_in(arena, live_server, competition):
    result = arena("submissions", "mia-cli", "--server", live_server.url)
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[0] == "Authentication credentials were not provided."
    assert lines[1] == f"Log in first: arena login --server {live_server.url}"


def test_unreachable_server_is_named(arena):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = arena("competitions", "--server", f"http://127.0.0.1:{port}")
    assert result.code == 1
    assert result.err.strip() == f"Could not reach the server at http://127.0.0.1:{port}: connection refused."


def test_usage_errors_exit_with_2(arena, tmp_path):
    assert arena("leaderboard", "x", "--split", "secret").code == 2
    assert arena().code == 2
    missing = arena("submit", "x", tmp_path / "nope.csv")
    assert missing.code == 2 and "no such file" in missing.err


# ---------------------------------------------------------------------------- teams


def test_team_create_and_join(arena, live_server, competition, logged_in):
    logged_in("alice")
    created = arena("team", "create", "mia-cli", "Linkers", "--json")
    assert created.code == 0, created
    team = json.loads(created.out)
    assert team["name"] == "Linkers" and team["members"] == ["alice"]

    text = arena("team", "create", "mia-cli", "Again")
    assert text.code == 1 and text.err.strip()  # the server refuses a second team, in its own words

    logged_in("bob")
    wrong = arena("team", "join", team["id"], "wrong-code")
    assert wrong.code == 1 and wrong.err.strip()
    joined = arena("team", "join", team["id"], team["invite_code"])
    assert joined.code == 0, joined
    assert "Linkers" in joined.out and "alice, bob" in joined.out


# ---------------------------------------------------------------------------- submitting


def test_submit_wait_leaderboard_and_select(arena, live_server, competition, logged_in, tmp_path, monkeypatch):
    from submissions.models import Submission

    _, answers = competition
    logged_in("alice")
    team_out = arena("team", "create", "mia-cli", "Perfect Guessers")
    assert team_out.code == 0 and "Invite code:" in team_out.out

    file = predictions(answers, tmp_path / "predictions.csv")
    result = arena("submit", "mia-cli", file, "-m", "oracle", "--role", "attack", "--wait")

    assert result.code == 0, result
    submission = Submission.objects.get(team__name="Perfect Guessers")
    assert submission.status == "finished" and submission.description == "oracle"
    assert f"#{submission.pk}  finished" in result.out
    assert "TPR at FPR 0.1 *" in result.out and "1.0000" in result.out
    assert "No websocket" in result.err  # the live test server speaks plain HTTP: the CLI polled

    listing = arena("submissions", "mia-cli")
    assert listing.code == 0
    row = next(line for line in listing.out.splitlines() if line.lstrip().startswith(str(submission.pk)))
    assert "finished" in row and "predictions.csv" in row and "oracle" in row

    detail = arena("submission", submission.pk)
    assert detail.code == 0
    assert "Status:" in detail.out and "finished" in detail.out
    assert "hidden until revealed" in detail.out  # private scores stay hidden before the reveal

    monkeypatch.setenv("COLUMNS", "100")
    board = arena("leaderboard", "mia-cli")
    assert board.code == 0, board
    lines = board.out.splitlines()
    assert lines[0] == "mia-cli - phase development, public leaderboard, task membership-inference"
    ours = next(line for line in lines if "Perfect Guessers" in line)
    baseline = next(line for line in lines if "Noisy guess" in line)
    assert ours.split()[0] == "1"
    assert baseline.split()[0] == "base" and "(baseline)" in baseline
    assert lines.index(ours) < lines.index(baseline)  # a perfect attack outranks the noisy reference
    baseline_row = next(r for r in json.loads(arena("leaderboard", "mia-cli", "--json").out)["rows"] if r["baseline"])
    assert f"{baseline_row['scores']['tpr_at_fpr_0_1']['value']:.4f}" in baseline
    assert all(len(line) <= 100 for line in lines), board.out  # fits a 100-column terminal
    assert "not shown, to fit 100 columns:" in board.out and "--all" in board.out
    every = arena("leaderboard", "mia-cli", "--all")
    assert every.code == 0 and "not shown" not in every.out
    assert f"{baseline_row['scores']['auc']['value']:.4f}" in next(line for line in every.out.splitlines() if "Noisy guess" in line)

    snapshot = json.loads(arena("leaderboard", "mia-cli", "--json", "--split", "public").out)
    assert snapshot["rows"][0]["team"] == "Perfect Guessers"

    hidden = arena("leaderboard", "mia-cli", "--split", "private")
    assert hidden.code == 1 and "hidden until the organizers reveal it" in hidden.err

    selected = arena("select", submission.pk)
    assert selected.code == 0 and "is selected" in selected.out
    submission.refresh_from_db()
    assert submission.selected
    unselected = arena("select", submission.pk, "--unselect")
    assert unselected.code == 0 and "no longer" in unselected.out
    submission.refresh_from_db()
    assert not submission.selected


def test_quota_refusal_shows_when_the_next_submission_is_allowed(arena, live_server, inline, tmp_path, logged_in):
    from competitions.services import competition_import
    from tests.factories.cli import write_bundle

    answers = write_bundle(tmp_path / "tight", slug="mia-tight", per_day=1)
    competition_import(path=tmp_path / "tight")
    logged_in("alice")
    assert arena("team", "create", "mia-tight", "Hasty").code == 0
    file = predictions(answers, tmp_path / "predictions.csv", perfect=False)
    assert arena("submit", "mia-tight", file).code == 0

    again = arena("submit", "mia-tight", file)

    assert again.code == 1
    message = again.err.strip()
    assert message.startswith("Your team has used its 1 submissions for today (UTC) in phase 'development'.")
    assert "The next submission is allowed at" in message


# ---------------------------------------------------------------------------- the installed command


def test_console_script_runs_as_a_real_process(live_server, competition, user, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "arena"
    assert script.exists(), f"the console script is missing: pip install -e . --no-deps (looked for {script})"
    user("frank")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
           "ARENA_PASSWORD": PASSWORD, "LANG": "C.UTF-8"}

    def run(*argv):
        return subprocess.run([str(script), *argv], env=env, capture_output=True, text=True, timeout=120)

    login = run("login", "--server", live_server.url, "--username", "frank")
    assert login.returncode == 0, login.stderr
    assert _mode(tmp_path / "xdg" / "anomed-arena" / "credentials.json") == 0o600

    listed = run("competitions")
    assert listed.returncode == 0 and "mia-cli" in listed.stdout

    board = run("leaderboard", "mia-cli", "--json")
    assert board.returncode == 0 and json.loads(board.stdout)["rows"][0]["baseline"] is True

    missing = run("leaderboard", "nope")
    assert missing.returncode == 1 and missing.stderr.strip() == "No competition 'nope'."
    assert run("leaderboard").returncode == 2


def test_an_oversized_upload_gets_the_servers_413_message(arena, live_server, competition, logged_in, settings, tmp_path):
    settings.ARENA_MAX_UPLOAD_BYTES = 10_000
    logged_in("alice")
    assert arena("team", "create", "mia-cli", "Bulky").code == 0
    big = tmp_path / "predictions.csv"
    big.write_bytes(b"candidate_id,score\n" + b"c0000,0.5\n" * 400_000)  # 4 MB, refused from its declared length

    result = arena("submit", "mia-cli", big)

    assert result.code == 1
    assert result.err.strip() == f"file: the upload is {big.stat().st_size + _overhead(big):,} bytes; the limit is 10,000 bytes."


def _overhead(path) -> int:
    from arena_cli.multipart import MultipartEncoder

    return len(MultipartEncoder(fields={}, file_field="file", path=path)) - path.stat().st_size


def test_submission_details_show_only_the_logs_the_team_may_see(arena, live_server, competition, logged_in):
    from django.contrib.auth import get_user_model

    from competitions.services import team_create
    from submissions.models import Run, Submission

    comp, _ = competition
    logged_in("alice")
    alice = get_user_model().objects.get(username="alice")
    team = team_create(competition=comp, user=alice, name="Coders")
    sub = Submission.objects.create(competition=comp, phase=comp.phases.get(), team=team, submitted_by=alice, role="attack",
                                    task=comp.task, kind="code", storage_path="unused", original_filename="attack.zip",
                                    sha256="ab" * 32, size=2048, status="failed", failure_class="exit_code",
                                    error="The program exited with status 3.")
    Run.objects.create(submission=sub, purpose="check", backend="process", wall_seconds=1.25, exit_code=0,
                       saw_hidden_data=False, stdout="loaded 40 candidates\n", stderr="")
    Run.objects.create(submission=sub, purpose="evaluation", backend="process", wall_seconds=2.5, exit_code=3,
                       failure_class="exit_code", saw_hidden_data=True, stdout="SECRET-ROW-7\n", stderr="Traceback\n")

    result = arena("submission", sub.pk)

    assert result.code == 0, result
    assert "Status:      failed (exit_code)" in result.out
    assert "Error:       The program exited with status 3." in result.out
    assert "loaded 40 candidates" in result.out and "stderr: empty" in result.out
    assert "are visible to the organizers only" in result.out
    assert "SECRET-ROW-7" not in result.out and "Traceback" not in result.out
    header = next(line for line in result.out.splitlines() if line.startswith("RUN"))
    assert header.split() == ["RUN", "PURPOSE", "TARGET", "BACKEND", "EXIT", "WALL", "(s)", "PEAK", "MEMORY", "FAILURE"]
