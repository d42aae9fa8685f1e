"""Leaderboard push latency to many websocket watchers, and leaderboard reads per second.

What it does, end to end on loopback:

1. starts a private ``redis-server`` (unless ``REDIS_URL`` is set) for the Channels layer and
   the cache, and uses ``DATABASE_URL`` if set (PostgreSQL in production) or a fresh SQLite file;
2. migrates and seeds one membership-inference competition whose phase holds
   ``--submissions`` finished submissions from ``--teams`` teams (six metrics, both splits);
3. starts ``--servers`` daphne processes (default: one per core) serving config.asgi on one
   shared listening socket, as the README's production command runs them;
4. connects ``--watchers`` websocket clients to that competition's leaderboard, spread over
   several client processes; each is a lean listening client so that the clients, which share
   the cores with the servers, do not become the bottleneck;
5. ``--changes`` times, finishes a new submission through ``evaluation.services.scores_save``
   (the service the pipeline calls) and measures, for every watcher, the time from the
   commit to the moment the watcher has received the new board (and, once per change, the
   time from the commit until the board was computed and published);
6. runs ``--get-seconds`` of concurrent ``GET /api/v1/competitions/{slug}/leaderboard/`` from
   keep-alive connections and reports requests per second: first as a spectator sends it
   (answered from the cache in front of Django), then with a session cookie (through Django).

Run: ``DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python benchmarks/leaderboard_push.py``
(targets: p99 ≤ 250 ms with 1,000 watchers; ≥ 500 GETs/s with 10,000 submissions in the
phase). Client and servers share the machine's cores, so a busy machine shows in the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLUG = "push-benchmark"
UPDATE_PREFIX = b'{"type":"update",'


# --------------------------------------------------------------------------- infrastructure


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def environment(workdir: Path) -> tuple[dict, list[subprocess.Popen]]:
    processes = []
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.test",  # DEBUG off; honours DATABASE_URL and REDIS_URL
        "ARENA_VAR_DIR": str(workdir / "var"),
        "ARENA_EVALUATION_MODE": "manual",
        "ARENA_START_EMBEDDED_WORKER": "0",
        "LOG_LEVEL": "WARNING",
    })
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    if not env.get("REDIS_URL"):
        redis = shutil.which("redis-server")
        if not redis:
            sys.exit("redis-server is needed (apt-get install -y redis-server) or set REDIS_URL")
        port = free_port()
        processes.append(subprocess.Popen([redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for_port(port)
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    return env, processes


def seed(*, teams: int, submissions: int) -> None:
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    from competitions.models import Competition, Metric, Phase, Team
    from submissions.models import Score, Submission

    call_command("migrate", verbosity=0)
    Competition.objects.filter(slug=SLUG).delete()
    competition = Competition.objects.create(slug=SLUG, title="Push benchmark", task="membership-inference", published=True,
                                             schema={"id_column": "id", "columns": [], "quasi_identifiers": []})
    phase = Phase.objects.create(competition=competition, name="development", start=timezone.now() - dt.timedelta(days=30),
                                 max_submissions_per_day=10_000)
    metrics = [("tpr_at_fpr_0_1", "higher", 4, True), ("tpr_at_fpr_0_01", "higher", 4, False), ("tpr_at_fpr_0_001", "higher", 4, False),
               ("auc", "higher", 4, False), ("membership_advantage", "higher", 4, False), ("epsilon_lower_bound", "higher", 3, False)]
    for order, (key, direction, precision, primary) in enumerate(metrics):
        Metric.objects.create(competition=competition, task="membership-inference", key=key, label=key, direction=direction,
                              precision=precision, primary=primary, order=order)
    team_rows = Team.objects.bulk_create([Team(competition=competition, name=f"Team {i:04d}") for i in range(teams)])
    start = timezone.now() - dt.timedelta(days=20)
    subs = Submission.objects.bulk_create([
        Submission(competition=competition, phase=phase, team=team_rows[i % teams], role="attack", task="membership-inference",
                   kind="file", storage_path=f"bench/{i}", original_filename="predictions.csv", sha256=f"{i:064x}", size=1,
                   status="finished", finished=start + dt.timedelta(minutes=i))
        for i in range(submissions)
    ], batch_size=2000)
    import random

    rng = random.Random(1)
    scores = []
    for sub in subs:
        for split in ("public", "private"):
            for key, *_ in metrics:
                value = rng.random()
                scores.append(Score(submission=sub, split=split, metric=key, value=value, ci_low=value * 0.9, ci_high=min(1, value * 1.1)))
    Score.objects.bulk_create(scores, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:  # fresh statistics, as a database that grew over weeks would have
        cursor.execute("ANALYZE")


def start_servers(env: dict, count: int, logs: Path) -> tuple[int, list[subprocess.Popen], socket.socket]:
    """``count`` daphne processes on one listening socket, as the README's production command runs them."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    processes = [
        subprocess.Popen([sys.executable, "-m", "daphne", "--fd", str(fd), "--websocket_connect_timeout", "120", "config.asgi:application"], cwd=ROOT, env=env,
                         pass_fds=(fd,), stdout=subprocess.DEVNULL, stderr=open(logs / f"server-{i}.log", "wb"))
        for i in range(count)
    ]
    time.sleep(1.0)
    wait_for_port(port)
    return port, processes, listener


# --------------------------------------------------------------------------- watchers


class Watcher(asyncio.Protocol):
    """A websocket client (RFC 6455) that only listens: the handshake, frames, pings answered.

    A thousand watchers share the machine's cores with the servers they measure, so each must
    cost far less per message than a full client library does (one per process checks every
    board in full; see ``watcher_process``).
    """

    def __init__(self, port: int, on_message, on_lost):
        self.port, self.on_message, self.on_lost = port, on_message, on_lost
        self.buffer = bytearray()
        self.parts: list[bytes] = []
        self.open = False
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET /ws/competitions/{SLUG}/leaderboard/ HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                         f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.open:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self.buffer[:end].split(b"\r\n", 1)[0]:
                self.on_lost(f"handshake refused: {bytes(self.buffer[:end])[:200]!r}")
                self.transport.close()
                return
            del self.buffer[:end + 4]
            self.open = True
        while len(self.buffer) >= 2:
            first, length, start = self.buffer[0], self.buffer[1] & 0x7F, 2
            if length == 126:
                if len(self.buffer) < 4:
                    return
                length, start = int.from_bytes(self.buffer[2:4], "big"), 4
            elif length == 127:
                if len(self.buffer) < 10:
                    return
                length, start = int.from_bytes(self.buffer[2:10], "big"), 10
            if len(self.buffer) < start + length:
                return
            payload = bytes(self.buffer[start:start + length])
            del self.buffer[:start + length]
            opcode = first & 0x0F
            if opcode == 0x9:  # ping: answer with a masked pong
                mask = os.urandom(4)
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
            elif opcode == 0x8:
                self.transport.close()
            elif opcode in (0x0, 0x1):
                self.parts.append(payload)
                if first & 0x80:
                    message, self.parts = b"".join(self.parts), []
                    self.on_message(message)

    def connection_lost(self, exc) -> None:
        self.on_lost(f"connection lost: {exc!r}")


def watcher_process(port: int, count: int, ready, results, go) -> None:
    """``count`` websocket clients in one process: report readiness, then each round of update arrival times."""
    arrivals: list[float] = []
    closing = False

    def make(checker: bool):
        state = {"snapshot": False}

        def on_message(message: bytes) -> None:
            received = time.time()
            if not state["snapshot"]:
                state["snapshot"] = json.loads(message)["type"] == "snapshot"
                ready.put(None if state["snapshot"] else f"first message is not a snapshot: {message[:200]!r}")
                return
            # A browser parses its board on its own machine; here one watcher per process parses
            # each board in full (and checks it) while the others check the message kind.
            if checker:
                data = json.loads(message)
                if data["type"] != "update" or not data["leaderboard"]["rows"]:
                    results.put(f"watcher got a bad update: {message[:200]!r}")
                    return
            elif not message.startswith(UPDATE_PREFIX):
                return
            arrivals.append(received)
            if len(arrivals) == count:  # every watcher of this process has this change: one report
                results.put(list(arrivals))
                arrivals.clear()

        def on_lost(problem: str) -> None:
            if not closing:
                (results if state["snapshot"] else ready).put(f"watcher failed: {problem}")

        return lambda: Watcher(port, on_message, on_lost)

    async def main() -> None:
        nonlocal closing
        loop = asyncio.get_running_loop()
        transports = []
        for i in range(count):
            try:
                transport, _ = await loop.create_connection(make(i == 0), "127.0.0.1", port)
            except OSError as exc:
                ready.put(f"watcher failed to connect: {exc!r}")
                return
            transports.append(transport)
            await asyncio.sleep(0.005)  # do not flood the accept queue
        await loop.run_in_executor(None, go.wait)
        closing = True
        for transport in transports:
            transport.close()

    asyncio.run(main())


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes so far (Linux), to size the servers' work per change."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def measure_push(*, port: int, watchers: int, changes: int, client_processes: int, server_pids: list[int]) -> list[float]:
    from django.db import transaction

    from competitions.models import Competition, Team
    from evaluation.services import scores_save
    from evaluation.task_types.base import ScoreValue
    from submissions.models import Submission

    ready, results, go = mp.Queue(), mp.Queue(), mp.Event()
    per = [watchers // client_processes + (1 if i < watchers % client_processes else 0) for i in range(client_processes)]
    procs = [mp.Process(target=watcher_process, args=(port, n, ready, results, go), daemon=True) for n in per if n]
    for p in procs:
        p.start()
    t = time.monotonic()
    for _ in range(watchers):
        problem = ready.get(timeout=300)
        if problem is not None:
            go.set()
            raise RuntimeError(problem)
    print(f"{watchers} watchers connected and got their snapshot in {time.monotonic() - t:.1f} s")

    competition = Competition.objects.get(slug=SLUG)
    phase = competition.phases.get()
    teams = list(Team.objects.filter(competition=competition)[:changes])
    latencies: list[float] = []
    published: list[float] = []
    first_last: list[tuple[float, float]] = []
    cpu_before = cpu_seconds(server_pids)
    client_cpu_before = cpu_seconds([p.pid for p in procs])
    for i in range(changes):
        submission = Submission.objects.create(
            competition=competition, phase=phase, team=teams[i % len(teams)], role="attack", task="membership-inference",
            kind="file", storage_path=f"bench/new-{i}", original_filename="predictions.csv", sha256=f"{i:064x}", size=1,
            status="scoring",
        )
        value = 0.99 - i * 0.001  # each change puts a team on top: every watcher must see a new board
        committed: list[float] = []
        with transaction.atomic():
            transaction.on_commit(lambda: committed.append(time.time()))  # runs first: the moment of the commit
            scores_save(submission=submission, scores={
                split: {key: ScoreValue(value, value - 0.01, value + 0.01) for key in (
                    "tpr_at_fpr_0_1", "tpr_at_fpr_0_01", "tpr_at_fpr_0_001", "auc", "membership_advantage", "epsilon_lower_bound")}
                for split in ("public", "private")
            })
        published.append(time.time() - committed[0])  # on-commit work: the board computed once, then published
        arrivals: list[float] = []
        while len(arrivals) < watchers:  # one list per client process, once all its watchers have the board
            report = results.get(timeout=60)
            if isinstance(report, str):
                go.set()
                raise RuntimeError(report)
            arrivals.extend(report)
        latencies.extend(a - committed[0] for a in arrivals)
        first_last.append((min(arrivals) - committed[0], max(arrivals) - committed[0]))
        time.sleep(0.2)
    server_cpu = (cpu_seconds(server_pids) - cpu_before) / changes
    client_cpu = (cpu_seconds([p.pid for p in procs]) - client_cpu_before) / changes
    go.set()
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.terminate()
    return latencies, published, first_last, server_cpu, client_cpu


# --------------------------------------------------------------------------- reads


def measure_gets(*, port: int, seconds: float, processes: int, connections: int, headers: str = "") -> tuple[float, float]:
    path = f"/api/v1/competitions/{SLUG}/leaderboard/"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, (response.status, body[:300])
    conn.close()
    counts = mp.Queue()
    stop_at = time.time() + seconds + 1.0
    procs = [mp.Process(target=get_process, args=(port, path, connections, stop_at, counts, headers)) for _ in range(processes)]
    for p in procs:
        p.start()
    total = sum(counts.get(timeout=seconds + 60) for _ in procs)
    for p in procs:
        p.join()
    return total / seconds, len(body)


def get_process(port: int, path: str, connections: int, stop_at: float, counts, headers: str = "") -> None:
    """``connections`` keep-alive connections GETting ``path`` back to back until ``stop_at``.

    A small HTTP/1.1 client on asyncio streams: the load generator shares the cores with the
    server, so it must cost far less per request than the server does.
    """
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n{headers}\r\n".encode()

    async def loop() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        done, begin = 0, time.time()
        while time.time() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            if status != b"200":
                raise RuntimeError(f"GET {path}: {status.decode()}")
            if time.time() >= begin + 1.0:  # the first second warms up and is not counted
                done += 1
        writer.close()
        return done

    async def main() -> int:
        return sum(await asyncio.gather(*(loop() for _ in range(connections))))

    counts.put(asyncio.run(main()))


# --------------------------------------------------------------------------- main


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--servers", type=int, default=max(2, min(4, os.cpu_count() or 2)),
                        help="server processes sharing one listening socket (default: one per core, 2 to 4)")
    parser.add_argument("--client-processes", type=int, default=max(2, min(8, (os.cpu_count() or 2) // 2)))
    parser.add_argument("--get-seconds", type=float, default=10)
    parser.add_argument("--get-connections", type=int, default=8, help="keep-alive connections per GET client process")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="arena-bench-"))
    env, processes = environment(workdir)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    servers: list[subprocess.Popen] = []
    try:
        t = time.monotonic()
        seed(teams=args.teams, submissions=args.submissions)
        from django.conf import settings
        from django.db import connection

        print(f"seeded {args.submissions} submissions from {args.teams} teams in {time.monotonic() - t:.1f} s "
              f"(database: {connection.vendor}; channel layer: {settings.CHANNEL_LAYERS['default']['BACKEND']}; "
              f"cache: {settings.CACHES['default']['BACKEND']})")
        port, servers, listener = start_servers(env, args.servers, workdir)
        print(f"{args.servers} daphne process(es) serving config.asgi on 127.0.0.1:{port}")

        latencies, published, first_last, server_cpu, client_cpu = measure_push(
            port=port, watchers=args.watchers, changes=args.changes, client_processes=args.client_processes,
            server_pids=[p.pid for p in servers])
        ms = [x * 1000 for x in latencies]
        print(f"push latency, commit -> message received, {args.watchers} watchers x {args.changes} changes: "
              f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms, mean {statistics.mean(ms):.1f} ms")
        print(f"  of which commit -> board computed and published (once per change): "
              f"median {statistics.median(published) * 1000:.1f} ms, max {max(published) * 1000:.1f} ms; "
              f"first watcher served: median {statistics.median(f for f, _ in first_last) * 1000:.1f} ms, "
              f"last: median {statistics.median(last for _, last in first_last) * 1000:.1f} ms; "
              f"CPU per change: servers {server_cpu * 1000:.0f} ms, watcher clients {client_cpu * 1000:.0f} ms")

        get_clients = {"processes": max(2, args.client_processes // 2), "connections": args.get_connections}
        rate, size = measure_gets(port=port, seconds=args.get_seconds, **get_clients)
        print(f"leaderboard GET /api/v1/competitions/{SLUG}/leaderboard/ with {args.submissions + args.changes} submissions "
              f"in the phase ({size:,} bytes): {rate:.0f} requests/s (spectators: cached reads in front of Django)")
        # The same read with a session cookie always goes through Django's request cycle (one query, the board from the cache).
        rate, _ = measure_gets(port=port, seconds=args.get_seconds, headers="Cookie: sessionid=none\r\n", **get_clients)
        print(f"  the same GET through Django (a session cookie): {rate:.0f} requests/s")
        listener.close()
    except BaseException:
        for log in sorted(workdir.glob("server-*.log")):
            print(f"--- last lines of {log.name}:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
        raise
    finally:
        for p in servers + processes:
            p.terminate()
        for p in servers + processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
