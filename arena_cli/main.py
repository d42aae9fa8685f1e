"""``arena``: log in, fetch data, form teams, submit, follow runs and read leaderboards.

Exit status: 0 on success, 1 when the server refuses (its own message is printed) or cannot
be reached, 2 for usage errors. ``--json`` prints the API's answer for scripts.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import shutil
import sys
import textwrap
import time
import zipfile
from pathlib import Path, PurePosixPath

import requests
from tqdm import tqdm

from . import __version__, credentials
from .client import ApiError, Client, Unreachable
from .follow import POLL_FACTOR, POLL_MAX, POLL_START, follow
from .multipart import MultipartEncoder
from .output import dump_json, number, score, table, table_width, when
from .progress import RunClock


class UsageError(Exception):
    """The command line itself is wrong: exit status 2."""


# ---------------------------------------------------------------------------- helpers


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _client(args) -> Client:
    creds = credentials.load(server=getattr(args, "server", None))
    return Client(creds.server, creds.token)


def _progress(total: int | None, desc: str, args) -> tqdm:
    # On stderr, so --json output stays clean; tqdm turns itself off when stderr is not a terminal.
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                disable=True if args.quiet else None, leave=False)


def _metrics_by_task(client: Client, slug: str) -> dict[str, list[dict]]:
    """The competition's metrics per task, primary first (labels and precision for display)."""
    detail = client.get(f"competitions/{slug}/")
    grouped: dict[str, list[dict]] = {}
    for metric in detail.get("metrics", []):
        grouped.setdefault(metric["task"], []).append(metric)
    for metrics in grouped.values():
        metrics.sort(key=lambda m: not m.get("primary"))
    return grouped


def _primary(metrics: dict[str, list[dict]], task: str) -> dict | None:
    found = metrics.get(task)
    return found[0] if found else None


# ---------------------------------------------------------------------------- commands


def cmd_login(args) -> int:
    creds = credentials.load(server=args.server)
    username = args.username or input("Username: ").strip()
    if not username:
        raise UsageError("a username is needed (--username U)")
    password = os.environ.get("ARENA_PASSWORD") or getpass.getpass(f"Password for {username} at {creds.server}: ")
    if not password:
        raise UsageError("a password is needed (typed at the prompt or in ARENA_PASSWORD)")
    data = Client(creds.server).post("auth/token/", {"username": username, "password": password})
    path = credentials.save(credentials.Credentials(server=creds.server, token=data["token"], username=username))
    if args.json:
        dump_json({"server": creds.server, "username": username, "credentials": str(path)}, out=sys.stdout)
    else:
        _out(f"Logged in to {creds.server} as {username}. The token is stored in {path}.")
    if os.environ.get("ARENA_TOKEN"):
        _err("Note: ARENA_TOKEN is set and takes precedence over the stored token.")
    return 0


def _new_password(username: str, server: str) -> str:
    password = os.environ.get("ARENA_PASSWORD")
    if password:
        return password
    password = getpass.getpass(f"Choose a password for {username} at {server}: ")
    if password and getpass.getpass("The same password again: ") != password:
        raise UsageError("the two passwords differ; nothing was registered")
    return password


def cmd_register(args) -> int:
    creds = credentials.load(server=args.server)
    username = args.username or input("Username: ").strip()
    email = args.email or input("E-mail: ").strip()
    if not username or not email:
        raise UsageError("a username and an e-mail address are needed (--username U --email E)")
    password = _new_password(username, creds.server)
    if not password:
        raise UsageError("a password is needed (typed at the prompt or in ARENA_PASSWORD)")
    data = Client(creds.server).post("auth/register/", {"username": username, "password": password, "email": email})
    path = credentials.save(credentials.Credentials(server=creds.server, token=data["token"], username=data["username"]))
    if args.json:
        dump_json({"server": creds.server, "username": data["username"], "id": data["id"], "credentials": str(path)},
                  out=sys.stdout)
    else:
        _out(f"Registered {data['username']} at {creds.server} and logged in; the token is stored in {path}.")
        _out("Next: arena competitions, then arena team create SLUG NAME (or arena team join TEAM_ID CODE).")
    return 0


def cmd_logout(args) -> int:
    removed = credentials.forget()
    if removed:
        _out(f"Logged out: removed {removed}.")
    else:
        _out(f"Not logged in (no {credentials.credentials_path()}).")
    if os.environ.get("ARENA_TOKEN"):
        _err("Note: ARENA_TOKEN is still set in this environment.")
    return 0


def cmd_competitions(args) -> int:
    data = _client(args).get("competitions/")
    if args.json:
        dump_json(data, out=sys.stdout)
        return 0
    if not data:
        _out("No competitions are visible to you.")
        return 0
    table(["SLUG", "TITLE", "TASK", "ATTACK TASKS", "SCENARIO"],
          [[c["slug"], c["title"], c["task"], c.get("attack_tasks") or None, c.get("scenario") or None] for c in data],
          out=sys.stdout)
    return 0


def _download_name(response: requests.Response, fallback: str) -> str:
    header = response.headers.get("Content-Disposition", "")
    match = re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', header)
    name = PurePosixPath(match.group(1)).name if match else ""
    return name if name and name not in (".", "..") else fallback


def _safe_extract(archive: Path, dest: Path) -> list[str]:
    """Unpack a zip, refusing absolute paths, ``..`` and links (the server never sends them)."""
    names = []
    with zipfile.ZipFile(archive) as zf:
        for member in zf.infolist():
            name = PurePosixPath(member.filename)
            is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
            if name.is_absolute() or ".." in name.parts or is_link or "\\" in member.filename:
                raise UsageError(f"{archive} holds an unsafe member {member.filename!r}; not unpacking it")
        dest.mkdir(parents=True, exist_ok=True)
        for member in zf.infolist():
            target = dest.joinpath(*PurePosixPath(member.filename).parts)
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
            names.append(member.filename)
    return names


def cmd_download(args) -> int:
    client = _client(args)
    response = client.request("GET", f"competitions/{args.slug}/data/", stream=True)
    name = _download_name(response, f"{args.slug}-data.zip")
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    partial = folder / (name + ".part")
    declared = int(response.headers.get("Content-Length") or 0) or None
    written = 0
    try:
        with _progress(declared, name, args) as bar, open(partial, "wb") as fh:
            for block in response.iter_content(chunk_size=256 * 1024):
                fh.write(block)
                written += len(block)
                bar.update(len(block))
    except requests.RequestException as exc:
        partial.unlink(missing_ok=True)
        raise Unreachable(client.server, f"the download was interrupted after {written:,} bytes ({exc}).") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        response.close()
    if declared is not None and written != declared:
        partial.unlink(missing_ok=True)
        raise Unreachable(client.server, f"the download stopped after {written:,} of {declared:,} bytes.")
    os.replace(partial, target)
    extracted: list[str] = []
    unpacked = folder / Path(name).stem
    if args.unzip:
        extracted = _safe_extract(target, unpacked)
    if args.json:
        dump_json({"file": str(target), "bytes": written, "unzipped_to": str(unpacked) if args.unzip else None,
                   "files": extracted}, out=sys.stdout)
        return 0
    _out(f"Saved {target} ({written:,} bytes).")
    if args.unzip:
        _out(f"Unpacked {len(extracted)} file(s) into {unpacked}{os.sep}")
        kit = unpacked / "starting_kit" / "README.md"
        if kit.is_file():
            _out(f"Start with {kit}")
    return 0


def cmd_team_create(args) -> int:
    team = _client(args).post(f"competitions/{args.slug}/teams/", {"name": args.name})
    if args.json:
        dump_json(team, out=sys.stdout)
        return 0
    _out(f"Created team {team['name']!r} (id {team['id']}) in {team.get('competition', args.slug)}.")
    _out(f"Invite code: {team['invite_code']}")
    _out(f"Teammates join with: arena team join {team['id']} {team['invite_code']}")
    return 0


def cmd_team_join(args) -> int:
    team = _client(args).post(f"teams/{args.team_id}/join/", {"invite_code": args.code})
    if args.json:
        dump_json(team, out=sys.stdout)
        return 0
    _out(f"Joined team {team['name']!r} (id {team['id']}) in {team.get('competition')}. "
         f"Members: {', '.join(team.get('members') or [])}.")
    return 0


def _print_scores(submission: dict, metrics: list[dict]) -> None:
    public = submission.get("public_scores") or {}
    private = submission.get("private_scores")
    keys = [m["key"] for m in metrics if m["key"] in public or (private and m["key"] in private)]
    keys += sorted(k for k in {*public, *(private or {})} if k not in keys)
    if not keys:
        _out("No scores.")
        return
    known = {m["key"]: m for m in metrics}
    rows = []
    for key in keys:
        metric = known.get(key, {})
        precision = metric.get("precision", 4)
        label = metric.get("label", key) + (" *" if metric.get("primary") else "")
        rows.append([label, score(public.get(key), precision),
                     score(private.get(key), precision) if private is not None else "hidden until revealed"])
    table(["METRIC", "PUBLIC", "PRIVATE"], rows, out=sys.stdout)
    notes = ["* primary metric"] if any(m.get("primary") for m in known.values()) else []
    if any(_has_ci(entry) for entry in [*public.values(), *(private or {}).values()]):
        notes.append("[low, high]: confidence interval")
    if notes:
        _out("; ".join(notes))


def _has_ci(entry) -> bool:
    return isinstance(entry, dict) and entry.get("ci_low") is not None and entry.get("ci_high") is not None


def _failed_message(submission: dict) -> str:
    text = f"Submission #{submission['id']} {submission['status']}"
    if submission.get("failure_class"):
        text += f" ({submission['failure_class']}" + (f", rule {submission['rule']}" if submission.get("rule") else "") + ")"
    return text + (f": {submission['error']}" if submission.get("error") else ".")


def _submission_choices(competition: dict) -> list[tuple[str, str]]:
    """(role, task) of each kind of submission a competition takes; an arena's own task is its defense."""
    attacks = competition.get("attack_tasks") or []
    if not attacks:
        return [("", competition["task"])]  # one kind: the server knows its role
    return [("defense", competition["task"]), *(("attack", task) for task in attacks)]


def _require_kind(competition: dict, args) -> None:
    """Refuse before uploading where the server would have to guess what the file is (an attack taken
    for a defense fails in its check run and costs a slot)."""
    if args.task:
        return
    choices = [(role, task) for role, task in _submission_choices(competition) if args.role in (None, role)]
    if len(choices) <= 1:
        return
    lines = [f"{args.slug} takes several kinds of submission; say which this is with --role and --task:"]
    lines += [f"  arena submit {args.slug} {args.file} --role {role} --task {task}" for role, task in choices]
    lines.append("Nothing was uploaded.")
    raise UsageError("\n".join(lines))


def cmd_submit(args) -> int:  # noqa: C901 - one pre-check per way an upload can be refused, in the order a participant meets them
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{args.file}: no such file" if not path.exists() else f"{args.file} is not a file")
    client = _client(args)
    competition = client.get(f"competitions/{args.slug}/")
    _require_kind(competition, args)
    fields = {}
    if args.message:
        fields["description"] = args.message
    if args.role:
        fields["role"] = args.role
    if args.task:
        fields["task"] = args.task
    if args.phase:
        fields["phase"] = args.phase
    body = MultipartEncoder(fields=fields, file_field="file", path=path)
    with _progress(len(body), f"upload {path.name}", args) as bar:
        body.progress = bar.update
        created = client.upload(f"competitions/{args.slug}/submissions/", body=body)
    if not (args.wait or args.wait_attacks):
        if args.json:
            dump_json(created, out=sys.stdout)
        else:
            _out(f"Submitted {path.name} as #{created['id']} ({created.get('task')}, {created.get('role')}): "
                 f"{created['status']}.")
            _out(f"Follow it with: arena submission {created['id']}")
        return 0 if created["status"] not in ("failed", "cancelled") else 1
    if not args.json:
        _out(f"Submitted {path.name} as #{created['id']} ({created.get('task')}, {created.get('role')}).")
    clock = RunClock(limit_seconds=_wall_limit(competition, created.get("phase")), enabled=not (args.json or args.quiet))

    def report(payload: dict) -> None:
        clock.update(payload)
        if not args.json:
            _out(f"{time.strftime('%H:%M:%S')}  #{payload['id']}  {payload['status']}")

    try:
        final = follow(client, created["id"], report=report, note=lambda text: None if args.json else _err(text),
                       tick=clock.tick)
        clock.clear()
        arena_defense = bool(competition.get("attack_tasks")) and final.get("role") == "defense"
        if arena_defense and final["status"] == "finished" and args.wait_attacks:
            final = _wait_for_attacks(client, args, final)
    except KeyboardInterrupt:
        clock.clear()
        _err(f"Stopped following #{created['id']}; it carries on on the server: arena submission {created['id']}")
        return 130
    if args.json:
        dump_json(final, out=sys.stdout)
    elif final["status"] == "finished":
        metrics = _metrics_by_task(client, args.slug).get(final.get("task") or "", [])
        _print_scores(final, metrics)
        if arena_defense and not args.wait_attacks:
            _out(f"This is an arena: the scores of the attacks against this defense (strongest attack per task, "
                 f"arena privacy) fill in as the attacks run against its release. Wait for them with --wait-attacks, "
                 f"or look later: arena submission {final['id']}")
    if final["status"] != "finished":
        if not args.json:
            _print_log_tail(final)
        _err(_failed_message(final))
        return 1
    return 0


def _wall_limit(competition: dict, phase_name: str | None) -> float | None:
    phases = competition.get("phases") or []
    phase = next((p for p in phases if p.get("name") == phase_name), None) or next(
        (p for p in phases if p.get("is_open")), None)
    seconds = ((phase or {}).get("limits") or {}).get("wall_seconds")
    return float(seconds) if seconds else None


LOG_TAIL_LINES = 20


def _print_log_tail(submission: dict) -> None:
    """The end of the log of the run that failed, where the team may see it, and how to read all of it."""
    runs = submission.get("runs") or []
    failed = [r for r in runs if r.get("failure_class") or r.get("exit_code") not in (None, 0)]
    if not failed:
        return
    run = failed[-1]
    if not run.get("logs_visible"):
        _err(f"Run #{run['id']} ({run.get('purpose')}) saw hidden data: its logs are shown to the organizers only.")
        return
    stream = "stderr" if (run.get("stderr") or "").strip() else "stdout"
    lines = (run.get(stream) or "").rstrip("\n").splitlines()
    if lines:
        shown = lines[-LOG_TAIL_LINES:]
        what = f"last {len(shown)} of {len(lines)} lines" if len(lines) > len(shown) else f"{len(lines)} line(s)"
        _err(f"--- run #{run['id']} ({run.get('purpose')}) {stream}, {what} ---")
        for line in shown:
            _err(line)
        _err("---")
    _err(f"The whole log: arena submission {submission['id']}")


def _wait_for_attacks(client: Client, args, defense: dict) -> dict:
    """Follow the arena matrix until every attack scheduled against this defense has run."""
    said = None
    delay = POLL_START
    while True:
        matrix = client.get(f"competitions/{args.slug}/arena/matrix/", params={"phase": defense.get("phase")})
        cells = [c for row in matrix.get("rows") or [] for c in row.get("cells") or [] if c.get("defense") == defense["id"]]
        done = sum(1 for c in cells if c.get("status") in ("finished", "failed"))  # None: not scheduled yet
        if not args.json and (done, len(cells)) != said:
            _out(f"{time.strftime('%H:%M:%S')}  #{defense['id']}  attacks against it: {done} of {len(cells)} done")
        said = (done, len(cells))
        if done == len(cells):
            break
        time.sleep(delay)
        delay = min(delay * POLL_FACTOR, POLL_MAX)
    if not cells and not args.json:
        _out("No attack has been submitted yet: its arena scores fill in as attacks arrive.")
    return client.get(f"submissions/{defense['id']}/")


def cmd_submissions(args) -> int:
    client = _client(args)
    data = client.get(f"competitions/{args.slug}/submissions/")
    if args.json:
        dump_json(data, out=sys.stdout)
        return 0
    if not data:
        _out(f"Your team has no submissions in {args.slug}.")
        return 0
    metrics = _metrics_by_task(client, args.slug)
    rows = []
    for sub in data:
        primary = _primary(metrics, sub.get("task"))
        value = score((sub.get("public_scores") or {}).get(primary["key"]), primary.get("precision", 4)) if primary else "-"
        rows.append([sub["id"], when(sub.get("created")), sub.get("task"), sub.get("role"), sub["status"], value,
                     "final" if sub.get("selected") else "", sub.get("original_filename"), sub.get("description") or ""])
    table(["ID", "CREATED (UTC)", "TASK", "ROLE", "STATUS", "PUBLIC SCORE", "SELECTED", "FILE", "MESSAGE"], rows,
          out=sys.stdout, right=[0])
    shown = {sub.get("task") for sub in data}
    for task in sorted(t for t in shown if t):
        primary = _primary(metrics, task)
        if primary:
            _out(f"Public score of {task}: {primary['label']}")
    return 0


def _size(value) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return str(value)


def cmd_submission(args) -> int:
    client = _client(args)
    sub = client.get(f"submissions/{args.id}/")
    if args.json:
        dump_json(sub, out=sys.stdout)
        return 0
    facts = [
        ("Submission", f"#{sub['id']}"),
        ("Competition", sub.get("competition")),
        ("Phase", sub.get("phase")),
        ("Team", sub.get("team")),
        ("Task", f"{sub.get('task')} ({sub.get('role')}, {sub.get('kind')})"),
        ("File", f"{sub.get('original_filename')} ({_size(sub.get('size'))}, sha256 {sub.get('sha256')})"),
        ("Message", sub.get("description") or "-"),
        ("Status", sub["status"] + (f" ({sub['failure_class']})" if sub.get("failure_class") else "")),
        ("Rule", sub.get("rule")),
        ("Queue", None if sub.get("queue_position") is None else
         f"{sub['queue_position']} job(s) before it; estimated start {sub.get('estimated_start')}"),
        ("Error", sub.get("error")),
        ("Detail", sub.get("error_detail") if sub.get("error_detail") != sub.get("error") else None),  # organizers only
        ("Selected", "yes (final submission)" if sub.get("selected") else "no"),
        ("Created", sub.get("created")),
        ("Started", sub.get("started")),
        ("Finished", sub.get("finished")),
    ]
    width = max(len(k) for k, _ in facts)
    for key, value in facts:
        if value is not None:
            _out(f"{key + ':':<{width + 1}} {value}")
    _out()
    metrics = _metrics_by_task(client, sub["competition"]).get(sub.get("task"), []) if sub.get("competition") else []
    if sub.get("public_scores") or sub.get("private_scores"):
        _print_scores(sub, metrics)
        _out()
    runs = sub.get("runs") or []
    if not runs:
        _out("No runs yet." if sub["status"] in ("queued", "running") else "No runs (the file was scored as uploaded).")
        return 0
    table(["RUN", "PURPOSE", "TARGET", "BACKEND", "EXIT", "WALL (s)", "PEAK MEMORY", "FAILURE"],
          [[r["id"], r.get("purpose"), r.get("target"), r.get("backend"), r.get("exit_code"),
            number(r.get("wall_seconds"), 1) if r.get("wall_seconds") is not None else None,
            _size(r.get("peak_memory_bytes")),
            (r.get("failure_class") or "") + (f" ({r['rule']})" if r.get("rule") else "") or None] for r in runs],
          out=sys.stdout, right=[0, 4, 5])
    for run in runs:
        _out()
        if not run.get("logs_visible"):
            _out(f"Logs, exit status, times and memory of run #{run['id']} ({run.get('purpose')}) are visible to "
                 "the organizers only: this run saw hidden data.")
            continue
        if run.get("message"):
            _out(f"--- run #{run['id']} ({run.get('purpose')}) message ---")
            _out(run["message"].rstrip("\n"))
        for stream in ("stdout", "stderr"):
            text = run.get(stream) or ""
            _out(f"--- run #{run['id']} ({run.get('purpose')}) {stream}" + (" (truncated)" if run.get("logs_truncated") else "")
                 + (" ---" if text else ": empty ---"))
            if text:
                _out(text.rstrip("\n"))
    return 0


def cmd_leaderboard(args) -> int:
    params = {"split": args.split}
    if args.phase:
        params["phase"] = args.phase
    if args.task:
        params["task"] = args.task
    board = _client(args).get(f"competitions/{args.slug}/leaderboard/", params=params)
    if args.json:
        dump_json(board, out=sys.stdout)
        return 0
    metrics = board.get("metrics") or []
    _out(f"{board.get('competition', args.slug)} - phase {board.get('phase')}, {board.get('split')} leaderboard, "
         f"task {board.get('task')}")
    rows = board.get("rows") or []
    if not rows:
        _out("No scored submissions yet.")
        return 0
    shown, left_out = _board_columns(rows, sorted(metrics, key=lambda m: not m.get("primary")),
                                     width=None if args.all else _terminal_width())
    headers, body = _board_table(rows, shown)
    table(headers, body, out=sys.stdout, right=[0, *range(3, len(headers))], wrap=BOARD_WRAP)
    notes = ["* ranking metric", "(↑) higher is better, (↓) lower is better"]
    if any(_has_ci(entry) for row in rows for entry in (row.get("scores") or {}).values()):
        notes.append("[low, high]: confidence interval")
    if any(row.get("baseline") for row in rows):
        notes.append("baseline rows are organizer references and take no rank")
    if left_out:
        notes.append(f"not shown, to fit {_terminal_width()} columns: {', '.join(m['label'] for m in left_out)} "
                     "(all of them: --all, or --json)")
    for line in textwrap.wrap("; ".join(notes), width=_terminal_width() if not args.all else 100):
        _out(line)
    return 0


BOARD_WRAP = 11  # metric headers wrap onto lines of this width rather than widen their column
TEAM_WIDTH = 28


def _terminal_width() -> int:
    return max(60, shutil.get_terminal_size((100, 24)).columns)


def _board_table(rows: list[dict], metrics: list[dict]) -> tuple[list[str], list[list]]:
    headers = ["RANK", "TEAM", "SUBMISSION"] + [
        m["label"] + (" *" if m.get("primary") else "") + (" (↑)" if m.get("direction") == "higher" else " (↓)")
        for m in metrics
    ]
    body = []
    for row in rows:
        team = f"{row.get('team')} (baseline)" if row.get("baseline") else str(row.get("team"))
        cells = ["base" if row.get("baseline") else row.get("rank"),
                 team if len(team) <= TEAM_WIDTH else team[: TEAM_WIDTH - 1] + "…",
                 f"#{row.get('submission')}"]
        cells += [score(row.get("scores", {}).get(m["key"]), m.get("precision", 4)) for m in metrics]
        body.append(cells)
    return headers, body


def _board_columns(rows: list[dict], metrics: list[dict], *, width: int | None) -> tuple[list[dict], list[dict]]:
    """The metrics that fit in ``width`` columns, primary first, and those left out."""
    if width is None:
        return metrics, []
    shown: list[dict] = []
    for metric in metrics:
        headers, body = _board_table(rows, [*shown, metric])
        if shown and table_width(headers, body, wrap=BOARD_WRAP) > width:
            break
        shown.append(metric)
    return shown, metrics[len(shown):]


def cmd_select(args) -> int:
    sub = _client(args).post(f"submissions/{args.id}/select/", {"selected": not args.unselect})
    if args.json:
        dump_json(sub, out=sys.stdout)
        return 0
    if sub.get("selected"):
        _out(f"Submission #{sub['id']} is selected as one of your team's final submissions for phase {sub.get('phase')}.")
    else:
        _out(f"Submission #{sub['id']} is no longer a final submission.")
    return 0


def cmd_cancel(args) -> int:
    sub = _client(args).post(f"submissions/{args.id}/cancel/")
    if args.json:
        dump_json(sub, out=sys.stdout)
        return 0
    _out(f"Submission #{sub['id']} is {sub['status']}; it will not run and does not count against your quota.")
    return 0


def cmd_rerun(args) -> int:
    sub = _client(args).post(f"submissions/{args.id}/rerun/")
    if args.json:
        dump_json(sub, out=sys.stdout)
        return 0
    _out(f"Submission #{sub['id']} is {sub['status']} again: its scores leave the leaderboards until the new "
         f"evaluation finishes. Follow it with: arena submission {sub['id']}")
    return 0


# ---------------------------------------------------------------------------- parser

SUBMIT_HELP = """\
Upload a submission. FILE is one of:

  an output file    predictions.csv, links.csv or guesses.csv, where the competition's
                    release is fixed (checked at upload: header, ids, value ranges).
  a code archive    a zip or tar.gz with main.py at its root, run as `python3 main.py`
                    in the runtime image (Python 3, numpy, pandas, scikit-learn, scipy).
                    To run something else, put a submission.yaml at the root instead:
                        command: [python3, -m, mypackage, --fast]
                    (a list, or one string split like a shell line). The program reads
                    ARENA_INPUT (/input), writes ARENA_OUTPUT (/output), takes its
                    randomness from ARENA_SEED; ARENA_TASK and ARENA_ROLE say what it is.
                    No network, a read-only /submission, the limits of the phase.
  a Docker image    the output of `docker save IMAGE -o image.tar`. Its ENTRYPOINT (and
                    CMD) runs in its WORKDIR under the same contract and restrictions;
                    the image must contain `sleep` (servers with a container engine only).

Where a competition takes several kinds of submission (an arena: a defense and
attacks), name the kind: --role defense, or --role attack --task TASK. Refusals at
upload (wrong format, missing main.py, no kind named) cost no quota.
"""


class _Parser(argparse.ArgumentParser):
    # Set on a command whose values may start with "-" (invite codes made before codes avoided it):
    # there, only this command's own option strings are options.
    dash_values = False

    def error(self, message):  # argparse's own usage errors: same shape and status as ours
        self.print_usage(sys.stderr)
        _err(f"{self.prog}: error: {message}")
        raise SystemExit(2)

    def _parse_optional(self, arg_string):
        if self.dash_values and arg_string.startswith("-") and arg_string != "--" \
                and arg_string.split("=", 1)[0] not in self._option_string_actions:
            return None  # a value, not an option
        return super()._parse_optional(arg_string)


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--server", help="server address (default: ARENA_SERVER, the stored login, or "
                        f"{credentials.DEFAULT_SERVER})")
    common.add_argument("--json", action="store_true", help="print the API's JSON answer instead of a table")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    parser = _Parser(prog="arena", description="Participant command line of AnoMed Arena.")
    parser.add_argument("--version", action="version", version=f"arena {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("login", parents=[common], help="get an API token and store it")
    p.add_argument("--username", "-u")
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("register", parents=[common], help="create an account and log in")
    p.add_argument("--username", "-u")
    p.add_argument("--email")
    p.set_defaults(func=cmd_register)

    p = sub.add_parser("logout", parents=[common], help="forget the stored token")
    p.set_defaults(func=cmd_logout)

    p = sub.add_parser("competitions", parents=[common], help="list the competitions you can see")
    p.set_defaults(func=cmd_competitions)

    p = sub.add_parser("download", parents=[common], help="download a competition's public data and starting kit")
    p.add_argument("slug", metavar="SLUG")
    p.add_argument("-o", "--output", default=".", metavar="DIR", help="folder to save into (default: here)")
    p.add_argument("--unzip", action="store_true", help="also unpack the zip into DIR/<name of the zip>/")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("team", help="create or join a team")
    team = p.add_subparsers(dest="team_command", metavar="ACTION", parser_class=_Parser)
    team.required = True
    t = team.add_parser("create", parents=[common], help="create a team (you become its first member)")
    t.add_argument("slug", metavar="SLUG")
    t.add_argument("name", metavar="NAME")
    t.set_defaults(func=cmd_team_create)
    t = team.add_parser("join", parents=[common], help="join a team with its invite code")
    t.add_argument("team_id", metavar="TEAM_ID", type=int)
    t.add_argument("code", metavar="CODE", help="the invite code, as printed by `arena team create` (it may start with -)")
    t.dash_values = True
    t.set_defaults(func=cmd_team_join)

    p = sub.add_parser("submit", parents=[common], help="upload a submission (a predictions file or code archive)",
                       description=SUBMIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("slug", metavar="SLUG")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-m", "--message", help="a description shown with the submission")
    p.add_argument("--role", choices=["defense", "attack"])
    p.add_argument("--task", help="the task type, where the competition has several for the role")
    p.add_argument("--phase", help="the phase (default: the open one)")
    p.add_argument("--wait", action="store_true", help="follow the evaluation and print the scores")
    p.add_argument("--wait-attacks", action="store_true",
                   help="arena defense: after it finished, also wait until every attack has run against it (implies --wait)")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("submissions", parents=[common], help="list your team's submissions")
    p.add_argument("slug", metavar="SLUG")
    p.set_defaults(func=cmd_submissions)

    p = sub.add_parser("submission", parents=[common], help="show one submission with its scores and run logs")
    p.add_argument("id", metavar="ID", type=int)
    p.set_defaults(func=cmd_submission)

    p = sub.add_parser("leaderboard", parents=[common], help="show a leaderboard")
    p.add_argument("slug", metavar="SLUG")
    p.add_argument("--phase", help="phase name (default: the open phase)")
    p.add_argument("--split", choices=["public", "private"], default="public")
    p.add_argument("--task", help="task type (arenas have one board per task)")
    p.add_argument("--all", action="store_true", help="every metric, however wide (default: what fits the terminal)")
    p.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser("select", parents=[common], help="choose a submission as a final one for the private leaderboard")
    p.add_argument("id", metavar="ID", type=int)
    p.add_argument("--unselect", action="store_true", help="withdraw it from your final submissions")
    p.set_defaults(func=cmd_select)

    p = sub.add_parser("cancel", parents=[common], help="cancel a queued submission (it then costs no quota)")
    p.add_argument("id", metavar="ID", type=int)
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("rerun", parents=[common], help="organizers: evaluate a submission again from the start")
    p.add_argument("id", metavar="ID", type=int)
    p.set_defaults(func=cmd_rerun)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return args.func(args)
    except ApiError as exc:
        _err(exc.message)
        if exc.status == 401:
            _err(f"Log in first: arena login --server {_client(args).server}")
        return 1
    except Unreachable as exc:
        _err(str(exc))
        return 1
    except credentials.CredentialsUnreadable as exc:
        _err(str(exc))
        return 1
    except UsageError as exc:
        _err(f"arena: error: {exc}")
        return 2
    except KeyboardInterrupt:
        _err("Interrupted.")
        return 130


if __name__ == "__main__":
    sys.exit(main())
