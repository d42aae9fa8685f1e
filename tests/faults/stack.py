"""A production-shaped stack the fault suite can break: its own PostgreSQL and Redis, daphne, workers.

Nothing here is shared with the rest of the machine except the Docker engine: PostgreSQL runs
as a cluster of its own (``initdb`` into a temporary folder, its own port), Redis likewise, so a
test can stop, kill and restart them. The web server is ``daphne`` and the workers are real
``manage.py evaluation_worker`` processes, each started with the environment a production host
would give them; the reaper runs as ``deploy/systemd/arena-reaper.service`` runs it.

Submission ids start at a random high number, so that containers and logs of this stack cannot
be mistaken for those of other work on the same engine.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("ARENA_FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
REAPER_EVERY = "5"  # seconds, as deploy/systemd/arena-reaper.service

# Every status change, with the attempt it named, timed by the database's own clock.
STATUS_LOG_SQL = """
CREATE TABLE IF NOT EXISTS faults_status_log (
    id bigserial PRIMARY KEY, submission_id bigint, old text, new text, attempts int, at timestamptz
);
CREATE OR REPLACE FUNCTION faults_log_status() RETURNS trigger AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO faults_status_log (submission_id, old, new, attempts, at)
        VALUES (NEW.id, OLD.status, NEW.status, NEW.attempts, clock_timestamp());
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS faults_log_status ON submissions_submission;
CREATE TRIGGER faults_log_status AFTER UPDATE ON submissions_submission
    FOR EACH ROW EXECUTE FUNCTION faults_log_status();
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


class Postgres:
    """A PostgreSQL cluster of the stack's own, run as the ``postgres`` user."""

    def __init__(self, base: Path):
        self.data = base / "pgdata"
        self.sockets = base / "pgsock"
        self.port = free_port()
        self.log = base / "postgres.log"
        for folder in (self.data, self.sockets):
            folder.mkdir()
            shutil.chown(folder, "postgres", "postgres")
        self.log.touch()
        shutil.chown(self.log, "postgres", "postgres")
        self._as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/arena"

    def _as_postgres(self, command: list[str]) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, cwd="/")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"])

    def stop(self, *, mode: str = "fast") -> None:
        """``fast``: a clean restart's stop; ``immediate``: as if the server crashed."""
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE arena")

    def connect(self):
        import psycopg

        return psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=arena", autocommit=True)


class RedisServer:
    """A Redis of the stack's own; its append-only file survives a restart, as in production."""

    def __init__(self, base: Path):
        self.dir = base / "redis"
        self.dir.mkdir()
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        from redis import Redis

        def up():
            try:
                return Redis.from_url(self.url).ping()
            except Exception:  # noqa: BLE001 - not yet listening
                return False

        wait_for(up, timeout=20, what="Redis start")

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.proc = None


class Stack:
    """PostgreSQL, Redis, daphne, workers and the reaper, all of the stack's own."""

    def __init__(self, *, web_processes: int = 1):
        self.base = Path(tempfile.mkdtemp(prefix="arena-faults-"))
        os.chmod(self.base, 0o755)
        self.var = self.base / "var"
        (self.var / "static").mkdir(parents=True)
        self.postgres = Postgres(self.base)
        self.redis = RedisServer(self.base)
        self.web_ports = [free_port() for _ in range(web_processes)]
        self.web: list[subprocess.Popen] = []
        self.workers: dict[str, subprocess.Popen] = {}
        self.reaper: subprocess.Popen | None = None
        self._counter = 0

    # ------------------------------------------------------------------ environment

    def env(self, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "ARENA_", "PYTEST"))}
        env.update(
            PYTHONPATH=str(ROOT),
            DJANGO_SETTINGS_MODULE="config.settings.local",
            DJANGO_DEBUG="false",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            ARENA_VAR_DIR=str(self.var),
            DATABASE_URL=self.postgres.url,
            REDIS_URL=self.redis.url,
            ARENA_EVALUATION_MODE="rq",
            ARENA_SANDBOX_BACKEND="docker",
            ARENA_SCRATCH_ROOT=str(self.base / "scratch"),
        )
        env.update(extra)
        return env

    def manage(self, *args: str, timeout: float = 120, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(**env), capture_output=True,
                              text=True, timeout=timeout, check=check)

    def python(self, code: str, *, timeout: float = 120) -> str:
        """Run Django code against the stack (set-up and the quota's view of things); its stdout."""
        script = "import django; django.setup()\n" + code
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=self.env(), capture_output=True, text=True,
                              timeout=timeout, check=False)
        if done.returncode:
            raise RuntimeError(f"stack script failed:\n{done.stderr[-3000:]}")
        return done.stdout

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        self.postgres.start()
        self.postgres.create_database()
        self.redis.start()
        self.manage("migrate", "--noinput", timeout=300)
        with self.postgres.connect() as conn:
            conn.execute(STATUS_LOG_SQL)
            conn.execute(f"ALTER SEQUENCE submissions_submission_id_seq RESTART WITH {random.randint(10**8, 9 * 10**8)}")
        for port in self.web_ports:
            with open(self.base / f"web-{port}.log", "ab") as log:  # the child keeps its own copy
                self.web.append(subprocess.Popen(
                    [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
                    cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                ))
        wait_for(lambda: all(_listening(port) for port in self.web_ports), timeout=60, what="daphne listening")
        self.reaper_start()

    def reaper_start(self) -> None:
        """The reaper, as its systemd unit runs it (and restarts it should it ever exit)."""
        if self.reaper is None or self.reaper.poll() is not None:
            with open(self.base / "reaper.log", "ab") as log:
                self.reaper = subprocess.Popen([sys.executable, "manage.py", "reap_stale_runs", "--every", REAPER_EVERY],
                                               cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT)

    def close(self) -> None:
        if self.reaper is not None:
            self.reaper.kill()
            self.reaper.wait()
        for name in list(self.workers):
            self.worker_kill(name)
        for proc in self.web:
            proc.terminate()
        for proc in self.web:
            with contextlib.suppress(Exception):
                proc.wait(timeout=10)
        with contextlib.suppress(Exception):
            self.redis.stop(kill=True)
        with contextlib.suppress(Exception):
            self.postgres.stop(mode="immediate")
        self.containers_remove()
        shutil.rmtree(self.base, ignore_errors=True)

    def reset(self) -> None:
        """Between tests: every service up, no worker, nothing queued or running."""
        for name in list(self.workers):
            self.worker_kill(name)
        if self.redis.proc is None:
            self.redis.start()
        if subprocess.run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.postgres.port)],
                          capture_output=True, check=False).returncode:
            self.postgres.start()
        from redis import Redis

        Redis.from_url(self.redis.url).flushdb()  # the stack's own Redis
        with self.postgres.connect() as conn:
            conn.execute("UPDATE submissions_submission SET status = 'cancelled' WHERE status IN ('queued', 'running', 'scoring')")
        self.containers_remove()
        self.reaper_start()

    # ------------------------------------------------------------------ workers

    def worker_start(self, *, name: str | None = None, wait: bool = True, **env: str) -> str:
        self._counter += 1
        name = name or f"faults-{os.getpid()}-{self._counter}"
        with open(self.base / f"{name}.log", "ab") as log:  # the child keeps its own copy
            self.workers[name] = subprocess.Popen(
                [sys.executable, "manage.py", "evaluation_worker", "cpu", "--name", name],
                cwd=ROOT, env=self.env(**env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        if wait:
            wait_for(lambda: self.worker_idle(name), timeout=90, what=f"worker {name} waiting for work")
        return name

    def worker_idle(self, name: str) -> bool:
        proc = self.workers[name]
        if proc.poll() is not None:
            raise RuntimeError(f"worker {name} exited ({proc.returncode}):\n{self.worker_log(name)[-3000:]}")
        from redis import Redis
        from rq import Worker

        with contextlib.suppress(Exception):
            return any(w.name == name and w.get_state() == "idle" for w in Worker.all(connection=Redis.from_url(self.redis.url)))
        return False

    def worker_log(self, name: str) -> str:
        return (self.base / f"{name}.log").read_text(errors="replace")

    def worker_kill(self, name: str) -> None:
        """``kill -9`` of the worker (and of nothing else: it is its own process group's leader)."""
        proc = self.workers.pop(name)
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)

    def worker_alive(self, name: str) -> bool:
        return self.workers[name].poll() is None

    # ------------------------------------------------------------------ the engine

    def containers(self) -> list:
        """This stack's sandbox containers on the engine (those labelled with one of its submissions)."""
        import docker

        client = docker.from_env()
        ours = set(self.submission_ids())
        found = []
        for container in client.containers.list(all=True, filters={"label": "arena.submission"}):
            with contextlib.suppress(ValueError):
                if int(container.labels["arena.submission"]) in ours:
                    found.append(container)
        return found

    def containers_remove(self) -> None:
        with contextlib.suppress(Exception):
            for container in self.containers():
                container.remove(force=True, v=True)

    def submission_ids(self) -> list[int]:
        with contextlib.suppress(Exception), self.postgres.connect() as conn:
            return [row[0] for row in conn.execute("SELECT id FROM submissions_submission")]
        return []


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def json_of(text: str):
    return json.loads(text.strip().splitlines()[-1])


def busy_workers(stack: Stack) -> dict[str, int]:
    """Worker name → the submission it evaluates now, as RQ's registry of workers says."""
    from redis import Redis
    from rq import Worker

    found = {}
    with contextlib.suppress(Exception):
        for worker in Worker.all(connection=Redis.from_url(stack.redis.url)):
            job = worker.get_current_job()
            if worker.name in stack.workers and job is not None and (job.func_name or "").endswith("evaluate_submission"):
                found[worker.name] = int(job.args[0])
    return found


class EngineProxy:
    """A socket that forwards to the Docker engine until :meth:`cut`: an engine that goes away.

    A worker pointed at it (``DOCKER_HOST=unix://…``) starts normally; after ``cut`` every call
    it makes to the engine fails, as when the engine's host or daemon dies.
    """

    def __init__(self, base: Path, engine: str = "/var/run/docker.sock"):
        self.path = base / f"engine-{uuid_hex()}.sock"
        self.engine = engine
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        self.listener.listen(64)
        self.open: list[socket.socket] = []
        self.cut_event = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def _accept(self) -> None:
        while not self.cut_event.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.engine)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, dest: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                dest.sendall(data)
        with contextlib.suppress(OSError):
            dest.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        self.cut_event.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in self.open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


def uuid_hex() -> str:
    import uuid

    return uuid.uuid4().hex[:8]
