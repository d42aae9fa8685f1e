"""The production backend: one Docker container per run, through the Engine API.

How a run goes (each step one API round trip unless said otherwise; a short run in a spare
container makes five on its way, a cold one seven, removal not counted):

1. ``create_container`` + ``start``, usually done ahead of the run for a spare container
   (:mod:`sandbox.docker_spares`): the container's PID 1 is the engine's own ``docker-init``
   (a static binary from the host, so trusted even in an image submission) keeping an idle
   ``sleep infinity`` alive, both as :data:`KEEPER_USER`, a uid of their own: the program
   (another uid, no capabilities) cannot signal them, so it cannot stop its own container.
   The program does not run yet. ``/output`` is an anonymous
   tmpfs-backed volume with a size cap, created by the engine with the container. A plain
   ``tmpfs`` mount would be invisible to the archive endpoint (it lives only in the
   container's mount namespace); a tmpfs *volume* is mounted by the engine, so its content
   can be read back through the API, and it is never a host directory the program could grow.
2. ``exec_create`` + ``exec_start``: the program runs as uid 65534 with stdout and stderr
   streamed back and capped while they arrive.
3. The program's end is seen as the end of that stream, confirmed (with the exit code) by
   ``exec_inspect``; when a background process still holds the stream open, by polling
   ``exec_inspect`` at a slowly growing interval.
4. ``pause``: the freezer stops every process the program left behind at once, so nothing
   runs or writes after the run ended. A container that is no longer running by then was
   stopped from outside (``docker kill``, an engine restart): an infrastructure failure. Peak memory and OOM kills are read from the container's
   memory cgroup, then ``/output`` is read from the paused container: in place on the host
   where the engine is local (``inspect`` gives the volume's mount point; see
   :func:`sandbox.output.copy_output_dir`), else through ``get_archive``.
5. ``remove_container(force=True, v=True)``, which removes the volume with it: on a
   background thread once the output is read (:class:`_Reaper`, off the critical path),
   synchronously on every other path (timeout, errors) in a ``finally``.

The container has no network (a network namespace of its own with loopback only, see
:func:`container_kwargs`), a read-only root filesystem, every capability dropped,
``no-new-privileges``, memory with swap equal to it, CPU, pid and open-file limits, and only
``spec.env`` in its environment (plus the image's own ``ENV``, which is not the host's; a
spare gets ``spec.env`` for the exec'd program instead).
On timeout the container is killed and removed at once.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from .docker_spares import SPARE_PREFIX, SparePool, remove_tree
from .output import copy_output_dir, copy_output_tar
from .spec import ETC_HOSTS, FailureClass, RunResult, RunSpec

LABEL = "org.anomed-arena.sandbox"  # every container and volume this backend creates
LABEL_RUN = "org.anomed-arena.run"
LABEL_DEADLINE = "org.anomed-arena.deadline"  # epoch seconds after which it is surely a leftover
# host:pid:start-ticks of the process that made it, so that the leftovers of a dead process are
# found at once, not only after their deadline (the start ticks tell a reused pid apart).
LABEL_OWNER = "org.anomed-arena.owner"


def process_identity(pid: int | None = None) -> str:
    """``host:pid:start`` of a process (this one by default); its start time tells a reused pid apart."""
    import socket

    pid = os.getpid() if pid is None else pid
    try:
        start = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        start = "0"
    return f"{socket.gethostname()}:{pid}:{start}"


def owner_is_dead(owner: str) -> bool:
    """Whether ``owner`` (a :func:`process_identity`) names a process of this host that is gone.

    A process on another host, or a label this version did not write, is never judged dead here.
    """
    import socket

    host, _, rest = owner.partition(":")
    pid, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return process_identity(int(pid)) != owner
RUN_USER = "65534:65534"
# The container's init and keeper run as another unprivileged uid than the program: without
# CAP_KILL a process may signal only its own uid's, so the program cannot end its container.
KEEPER_USER = "65533:65533"
KEEPER = ("sleep", "infinity")
_MIB = 1024 * 1024
_POLL_FIRST = 0.05  # exec_inspect while the stream is open: its end is the usual signal
_POLL_MAX = 1.0


class DockerUnavailable(RuntimeError):
    """No engine answers, or the image is missing: an infrastructure failure, not the team's."""


def client_from_env(timeout: float = 30.0):
    import docker  # imported lazily: the process backend must work without the SDK

    return docker.from_env(timeout=timeout)


def output_volume_options(output_mb: int) -> dict[str, str]:
    # uid/gid: the run user owns /output; mode 0700 keeps other runs' users out regardless.
    return {
        "type": "tmpfs",
        "device": "tmpfs",
        "o": f"size={output_mb * _MIB},uid=65534,gid=65534,mode=0700,nodev,nosuid",
    }


def container_kwargs(
    spec: RunSpec,
    *,
    run_id: str,
    keeper: tuple[str, ...] = KEEPER,
    now: float | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``client.containers.create`` for ``spec``.

    ``/output`` is an anonymous volume (no name: the engine creates it with the container and
    ``remove_container(v=True)`` deletes it with it), a capped tmpfs owned by the run user.

    No network: ``network_disabled`` leaves the engine's networking out entirely, so the
    container runtime gives the container a network namespace of its own in which only
    loopback is up (and brought up by the runtime, not the program). ``network_mode="none"``
    alone gives the same namespace, but the engine builds it through its network controller,
    which re-executes the engine binary twice per start (about 130 ms of CPU of the 220 a
    start costs here). Without that controller the engine writes no ``/etc/hosts``, so the
    platform's own (:data:`ETC_HOSTS`, localhost only) is mounted read-only, whatever the image
    has there; no ``/etc/resolv.conf`` is mounted either, so a name lookup fails at once.

    A pure function so that every restriction is visible, reviewable and unit-tested in one
    place, including those (GPU) this machine cannot exercise.
    """
    from docker.types import DeviceRequest, DriverConfig, Mount, Ulimit

    limits = spec.limits
    memory = f"{limits.memory_mb}m"
    now = time.time() if now is None else now
    labels = {
        **spec.labels,
        LABEL: "1",
        LABEL_RUN: run_id,
        LABEL_OWNER: process_identity(),
        # Generous margin: cleanup must never remove a container whose run is still going.
        LABEL_DEADLINE: str(int(now + limits.wall_seconds + 300)),
    }
    kwargs: dict[str, Any] = {
        "image": spec.image,
        # The image's ENTRYPOINT must not wrap the keeper (it runs later, as the program), and
        # an empty list would mean "the image's": so the keeper is the entrypoint itself.
        "entrypoint": list(keeper[:1]),
        "command": list(keeper[1:]),
        "user": KEEPER_USER,  # the program is exec'd as RUN_USER
        "environment": dict(spec.env),
        "labels": labels,
        "hostname": "sandbox",
        "network_mode": "none",
        "network_disabled": True,
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "init": True,
        "mem_limit": memory,
        "memswap_limit": memory,  # equal to memory: no swap at all
        "mem_swappiness": 0,
        "oom_score_adj": 500,  # under host memory pressure, sandboxes go before services
        "nano_cpus": int(limits.cpus * 1e9),
        "pids_limit": limits.pids,
        "ulimits": [
            Ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
            Ulimit(name="core", soft=0, hard=0),
        ],
        "shm_size": f"{min(limits.tmp_mb, 64)}m",
        "ipc_mode": "private",
        "tmpfs": {"/tmp": f"size={limits.tmp_mb}m,uid=65534,gid=65534,mode=1777,nodev,nosuid"},
        "mounts": [
            Mount("/submission", str(Path(spec.submission_dir).resolve()), type="bind", read_only=True),
            Mount("/input", str(Path(spec.input_dir).resolve()), type="bind", read_only=True),
            Mount("/etc/hosts", str(ETC_HOSTS), type="bind", read_only=True),
            Mount(
                "/output", None, type="volume",
                # Nothing of the image's own /output is copied in: the folder starts empty.
                no_copy=True,
                driver_config=DriverConfig("local", options=output_volume_options(limits.output_mb)),
                labels={**spec.labels, LABEL: "1", LABEL_RUN: run_id, LABEL_OWNER: process_identity()},
            ),
        ],
        "working_dir": "/submission",
        "detach": True,
        "stdin_open": False,
        "tty": False,
        "log_config": {"type": "none", "config": {}},  # output is captured from the exec stream
    }
    if limits.gpus != 0:
        kwargs["device_requests"] = [DeviceRequest(count=limits.gpus, capabilities=[["gpu"]])]
    return kwargs


class _StreamReader(threading.Thread):
    """Drains the exec's multiplexed stdout/stderr, keeping at most ``cap`` bytes of each."""

    def __init__(self, chunks, cap: int):
        super().__init__(daemon=True)
        self._chunks = chunks
        self._cap = cap
        self.out = bytearray()
        self.err = bytearray()
        self.truncated = False
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for stdout, stderr in self._chunks:
                for data, buf in ((stdout, self.out), (stderr, self.err)):
                    if not data:
                        continue
                    room = self._cap - len(buf)
                    if len(data) > room:
                        self.truncated = True
                        data = data[: max(room, 0)]
                    buf.extend(data)
        except BaseException as exc:  # noqa: BLE001 - reported, never swallowed silently
            self.error = exc


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class _Reaper:
    """Removes finished runs' containers (and their output volumes) off the caller's critical path.

    By the time a run is handed over its container is paused, its output read and its result
    final; removal (60-150 ms of engine time) need not delay the score. Pending removals
    are finished at interpreter exit, and labels with a deadline let ``cleanup_leftovers``
    catch any a killed worker could not finish. A process that ends with ``os._exit`` (a
    forking job runner's child) skips both: run jobs in a long-lived process.
    """

    def __init__(self, api):
        self._api = api
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, container_id: str, folder: Path | None = None) -> None:
        """Remove the container (with its volume), then ``folder`` (a spare's bind sources)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="sandbox-reaper", daemon=True)
                self._thread.start()
                atexit.register(self.drain)
        self._queue.put((container_id, folder))

    def drain(self) -> None:
        """Block until every submitted container and volume is removed."""
        self._queue.join()

    def _work(self) -> None:
        while True:
            container_id, folder = self._queue.get()
            try:
                if container_id:
                    _quietly(self._api.remove_container, container=container_id, force=True, v=True)
                if folder is not None:
                    remove_tree(folder)
            finally:
                self._queue.task_done()


class DockerBackend:
    """Runs specs in containers. With ``spares`` (the default) each run leaves a started
    container of its shape behind for the next one (see :mod:`sandbox.docker_spares`)."""

    name = "docker"

    def __init__(self, client=None, *, spares: bool = True):
        self._client = client
        self._cgroup_layout: tuple[int, str] | None = None
        self._reaper: _Reaper | None = None
        self._use_spares = spares
        self._spares: SparePool | None = None
        self._lock = threading.Lock()

    def wait_for_cleanup(self) -> None:
        """Wait until the containers and volumes of finished runs are removed."""
        if self._reaper is not None:
            self._reaper.drain()

    def settle(self) -> None:
        """Wait until finished runs are removed and the next run's spare is up: the state of a
        worker waiting for its next job (for benchmarks)."""
        self.wait_for_cleanup()
        if self._spares is not None:
            self._spares.wait_ready()

    def close(self) -> None:
        """Remove the spare container, then wait for every pending removal."""
        if self._spares is not None:
            self._spares.close()
        self.wait_for_cleanup()

    def _reap(self, container_id: str, folder: Path | None = None) -> None:
        with self._lock:
            if self._reaper is None:
                self._reaper = _Reaper(self.client.api)
        self._reaper.submit(container_id, folder)

    def _spare_pool(self) -> SparePool | None:
        if not self._use_spares:
            return None
        with self._lock:
            if self._spares is None:
                self._spares = SparePool(start=self._start_container, remove=lambda s: self._reap(s.container, s.root))
                atexit.register(self.close)
        return self._spares

    def _start_container(self, spec: RunSpec, run_id: str, now: float | None = None) -> str:
        """Create and start the container for ``spec``, its keeper idle; returns its id.

        A create that fails half-way is removed by name before the error goes on.
        """
        from docker.models.containers import _create_container_args

        api = self.client.api
        # The low-level call: the SDK's containers.create would inspect the new container too.
        create = _create_container_args({**container_kwargs(spec, run_id=run_id, now=now), "version": api._version})
        name = f"arena-{run_id}"
        try:
            container = api.create_container(name=name, **create)["Id"]
        except BaseException:
            _quietly(api.remove_container, container=name, force=True, v=True)
            raise
        try:
            api.start(container)
        except BaseException:
            _quietly(api.remove_container, container=container, force=True, v=True)
            raise
        return container

    # ------------------------------------------------------------------ engine

    @property
    def client(self):
        if self._client is None:
            try:
                self._client = client_from_env()
            except Exception as exc:  # the SDK raises DockerException or plain OSErrors
                raise DockerUnavailable(f"no Docker engine answers: {exc}") from exc
        return self._client

    def available(self, image: str | None = None) -> bool:
        try:
            self.client.ping()
            if image:
                self.client.images.get(image)
            return True
        except Exception:
            return False

    def _layout(self) -> tuple[int, str]:
        """(cgroup version, cgroup driver) of the engine, asked once."""
        if self._cgroup_layout is None:
            info = self.client.info()
            self._cgroup_layout = (
                int(info.get("CgroupVersion") or 1),
                info.get("CgroupDriver") or "cgroupfs",
            )
        return self._cgroup_layout

    # ------------------------------------------------------------------ run

    def run(self, spec: RunSpec, *, output_dir: Path) -> RunResult:  # noqa: C901 - one container's life (warm or cold start, wait, copy out, clean up) kept in one place so its try/finally covers every exit
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        import docker.errors

        api = self.client.api
        limits = spec.limits
        container = None  # None once handed to the reaper
        folder = None  # a spare's bind sources, removed with it
        started = time.monotonic()
        pool = self._spare_pool()
        try:
            command, workdir = self._command(spec)
            exec_id = None
            spare = pool.take(spec, wait=30.0) if pool is not None else None
            if spare is not None:
                container, folder = spare.container, spare.root
                if spare.fill(spec):
                    try:
                        # The run's environment goes to the program: the spare was made without it.
                        exec_id = api.exec_create(container, command, user=RUN_USER, workdir=workdir,
                                                  environment=dict(spec.env))["Id"]
                    except docker.errors.APIError:
                        pass  # it died while idle (engine restart, removed by hand): start cold
                if exec_id is None:
                    self._reap(container, folder)
                    container = folder = None
            if exec_id is None:
                try:
                    container = self._start_container(spec, uuid.uuid4().hex[:16])
                except docker.errors.APIError as exc:
                    # 400: the engine refuses this image for this container (a file where the
                    # sandbox mounts a folder, say); for a team's image that is the team's.
                    if spec.use_image_entrypoint and exc.status_code == 400:
                        raise _ProgramCannotStart(
                            f"the engine cannot start a container from the image: {_engine_reason(exc)}"
                        ) from None
                    raise
                try:
                    exec_id = api.exec_create(container, command, user=RUN_USER, workdir=workdir)["Id"]
                except docker.errors.APIError as exc:
                    if exc.status_code != 409:  # 409: the container is no longer running
                        raise
                    if spec.use_image_entrypoint:
                        raise _ProgramCannotStart(
                            "the image cannot keep its sandbox alive: it needs a `sleep` command "
                            "(coreutils or busybox) on its PATH"
                        ) from None
                    raise
            assert container is not None  # started warm or cold above
            chunks = api.exec_start(exec_id, stream=True, demux=True)
            started = time.monotonic()
            reader = _StreamReader(chunks, limits.log_bytes)
            reader.start()
            exit_code, timed_out = self._wait(api, exec_id, reader, started + limits.wall_seconds)
            wall = time.monotonic() - started
            if timed_out:
                # Nothing of a timed-out run is used: kill it now rather than freeze it.
                api.remove_container(container, force=True, v=True)
                container = None
                if pool is not None:
                    pool.replenish(spec)
                reader.join(timeout=2)
                return self._result(
                    spec, FailureClass.TIMEOUT, f"the program ran longer than {limits.wall_seconds:g} s and was stopped",
                    None, True, False, wall, None, reader, None,
                )
            # Freeze whatever the program left running: from here on nothing in the
            # container executes, so /output cannot change while it is read.
            try:
                api.pause(container)
            except docker.errors.APIError as exc:
                # The engine may still report the container running for a moment after it was
                # killed; its own refusal ("cannot pause a stopped container") settles it.
                if _still_running(api, container) and not _says_stopped(exc):
                    raise
                # Its keeper is gone, which the program cannot do (another uid): killed from outside.
                raise DockerUnavailable("the sandbox container was stopped from outside during the run") from None
            oom_kills, peak = self._memory(container, api)
            source = self._output_on_host(api, container)
            if source is not None:
                copied = copy_output_dir(source, output_dir, max_bytes=limits.output_mb * _MIB, max_files=limits.output_files)
            else:
                copied = copy_output_tar(
                    api.get_archive(container, "/output")[0],
                    output_dir,
                    max_bytes=limits.output_mb * _MIB,
                    max_files=limits.output_files,
                    strip_components=1,
                )
            self._reap(container, folder)
            container = folder = None
            if pool is not None:
                pool.replenish(spec)
            reader.join(timeout=2)
            if reader.error is not None and not isinstance(reader.error, (OSError, ValueError)):
                raise reader.error
            full = _looks_full(copied.files, limits.output_mb * _MIB)
            failure, message = None, ""
            oom = bool(oom_kills) and exit_code not in (0, None)
            if oom:
                failure = FailureClass.OUT_OF_MEMORY
                message = f"the program used more than the {limits.memory_mb} MB memory limit and was killed"
            elif exit_code != 0:
                failure = FailureClass.EXIT_CODE
                message = f"the program exited with status {exit_code}"
            return self._result(
                spec, failure, message, exit_code, False, oom, wall, peak, reader, copied,
                output_truncated=copied.truncated or full,
            )
        except docker.errors.ImageNotFound as exc:
            return _infrastructure(self.name, f"image {spec.image} is not present: {exc.explanation}", started)
        except (docker.errors.DockerException, DockerUnavailable, OSError) as exc:
            return _infrastructure(self.name, f"the Docker engine failed: {exc}", started)
        except _ProgramCannotStart as exc:
            return RunResult(
                failure=FailureClass.EXIT_CODE, message=str(exc), exit_code=None, timed_out=False,
                oom_killed=False, wall_seconds=0.0, peak_memory_bytes=None, stdout="", stderr="",
                logs_truncated=False, output_files={}, output_truncated=False, backend=self.name,
            )
        finally:
            if container is not None:
                _quietly(api.remove_container, container=container, force=True, v=True)
            if folder is not None:
                remove_tree(folder)

    def _command(self, spec: RunSpec) -> tuple[list[str], str]:
        """The argv to exec and its working directory."""
        if not spec.use_image_entrypoint:
            if not spec.command:
                raise _ProgramCannotStart("no command to run")
            return list(spec.command), "/submission"
        config = self.client.images.get(spec.image).attrs.get("Config") or {}
        entrypoint = list(config.get("Entrypoint") or [])
        # Like `docker run IMAGE ARGS`: arguments replace the image's CMD.
        args = list(spec.command) if spec.command else list(config.get("Cmd") or [])
        argv = entrypoint + args
        if not argv:
            raise _ProgramCannotStart("the image has neither ENTRYPOINT nor CMD: nothing to run")
        # The image's WORKDIR is part of its contract (templates COPY their code there).
        return argv, config.get("WorkingDir") or "/submission"

    def _wait(self, api, exec_id: str, reader: _StreamReader, deadline: float) -> tuple[int | None, bool]:
        """Wait for the exec to end; returns (exit code, timed out).

        The stream ending is the usual signal, and the exec's state then gives the exit code
        (one call, or a few 5 ms apart while the engine records the exit). A background
        process holding stdout keeps the stream open (the engine then waits up to 2 s more),
        so while it is open the state is polled too, at an interval growing from 50 ms to 1 s.
        """
        interval = _POLL_FIRST
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, True
            streaming = reader.is_alive()
            if streaming:
                reader.join(timeout=min(interval, remaining))
                interval = min(interval * 1.5, _POLL_MAX)
            state = api.exec_inspect(exec_id)
            if not state["Running"]:
                code = state.get("ExitCode")
                return (int(code) if code is not None else -1), False
            if not streaming:
                # The stream closed, so the exit is being recorded: look again very soon.
                time.sleep(min(0.005, max(remaining, 0)))

    def _output_on_host(self, api, container_id: str) -> Path | None:
        """Where the engine mounted the container's /output volume, when this process can read it.

        Only for an engine on this machine (its local socket): reading the frozen tmpfs in place
        costs a millisecond, where the archive endpoint costs the engine 40-70 ms of CPU per run
        (it re-executes itself to tar the folder). Otherwise, or without permission, None.
        """
        if api.base_url != "http+docker://localhost":
            return None
        for mount in api.inspect_container(container_id).get("Mounts") or []:
            if mount.get("Destination") == "/output" and mount.get("Type") == "volume" and mount.get("Source"):
                source = Path(mount["Source"])
                return source if os.access(source, os.R_OK | os.X_OK) else None
        return None

    def _memory(self, container_id: str, api) -> tuple[int | None, int | None]:
        """(OOM kills, peak bytes) of the container's memory cgroup.

        Read from the host's cgroup files when this process sees them (same machine as the
        engine): exact, and no API call. Otherwise from the stats endpoint, whose v1
        ``failcnt`` only says the limit was hit, which combined with a non-zero exit code is
        the best remote evidence of an OOM kill.
        """
        version, driver = self._layout()
        for directory in _cgroup_dirs(container_id, version, driver):
            try:
                if version == 2:
                    events = _read_kv(directory / "memory.events")
                    peak_file = directory / "memory.peak"
                    peak = int(peak_file.read_text()) if peak_file.exists() else None
                    return events.get("oom_kill", 0), peak
                control = _read_kv(directory / "memory.oom_control")
                peak = int((directory / "memory.max_usage_in_bytes").read_text())
                return control.get("oom_kill", 0), peak
            except (OSError, ValueError):
                continue
        stats = api.stats(container_id, stream=False, one_shot=True).get("memory_stats") or {}
        return stats.get("failcnt"), stats.get("max_usage")

    def _result(
        self, spec, failure, message, exit_code, timed_out, oom, wall, peak, reader, copied,
        output_truncated=False,
    ) -> RunResult:
        return RunResult(
            failure=failure,
            message=message,
            exit_code=exit_code,
            timed_out=timed_out,
            oom_killed=oom,
            wall_seconds=wall,
            peak_memory_bytes=peak,
            stdout=_decode(bytes(reader.out)),
            stderr=_decode(bytes(reader.err)),
            logs_truncated=reader.truncated,
            output_files=dict(copied.files) if copied else {},
            output_truncated=output_truncated,
            backend=self.name,
            output_skipped=tuple(copied.skipped) if copied else (),
        )


class _ProgramCannotStart(Exception):
    """The submission gives nothing runnable: the team's failure, reported as such."""


def _looks_full(files: dict[str, int], cap: int) -> bool:
    # A tmpfs refuses writes with ENOSPC at its size; the program may not say so. Counting
    # pages (4 KiB each, at least one per file) tells whether the cap was (almost) reached.
    used = sum(-(-size // 4096) * 4096 or 4096 for size in files.values())
    return used >= cap - 64 * 1024


def _cgroup_dirs(container_id: str, version: int, driver: str) -> list[Path]:
    root = Path("/sys/fs/cgroup")
    if version == 2:
        return [root / "system.slice" / f"docker-{container_id}.scope", root / "docker" / container_id]
    return [
        root / "memory" / "docker" / container_id,
        root / "memory" / "system.slice" / f"docker-{container_id}.scope",
    ]


def _read_kv(path: Path) -> dict[str, int]:
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            values[key] = int(value)
    return values


def _engine_reason(exc) -> str:
    text = str(getattr(exc, "explanation", None) or exc)
    return text.strip().splitlines()[0][:300] if text.strip() else "no reason given"


def _says_stopped(exc: Exception) -> bool:
    """Whether the engine refused because the container is no longer running."""
    text = str(getattr(exc, "explanation", None) or exc).lower()
    return "stopped container" in text or "is not running" in text


def _still_running(api, container_id: str) -> bool:
    import docker.errors

    try:
        return bool(api.inspect_container(container_id)["State"]["Running"])
    except docker.errors.NotFound:
        return False


def _quietly(fn, **kwargs) -> None:
    try:
        fn(**kwargs)
    except Exception:  # cleanup: a container already gone is fine; leftovers have labels
        pass


def _infrastructure(backend: str, message: str, started: float) -> RunResult:
    return RunResult(
        failure=FailureClass.INFRASTRUCTURE, message=message, exit_code=None, timed_out=False,
        oom_killed=False, wall_seconds=time.monotonic() - started, peak_memory_bytes=None,
        stdout="", stderr="", logs_truncated=False, output_files={}, output_truncated=False,
        backend=backend,
    )


def cleanup_leftovers(client=None, *, all_runs: bool = False, now: float | None = None) -> int:
    """Remove labelled containers and volumes past their deadline or of a dead process of this host
    (or all with ``all_runs``).

    For a worker's start-up and for CI: a run killed with its worker leaves its container
    behind; its deadline label says when it is certainly no longer anyone's. ``now`` (epoch
    seconds) defaults to the present.
    """
    client = client or client_from_env()
    now = time.time() if now is None else now
    removed = 0
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        deadline = float(container.labels.get(LABEL_DEADLINE, "0") or 0)
        if all_runs or deadline < now or owner_is_dead(container.labels.get(LABEL_OWNER, "")):
            _quietly(container.remove, force=True, v=True)
            removed += 1
            # A spare's /submission and /input are hard links in a private folder of the
            # process that made it (possibly to hidden data): gone with its container.
            for mount in container.attrs.get("Mounts") or []:
                source = Path(mount.get("Source") or "/")
                if mount.get("Type") == "bind" and source.parent.name.startswith(SPARE_PREFIX):
                    remove_tree(source.parent)
    for volume in client.volumes.list(filters={"label": LABEL}):
        # A live process's volume may be about to get its container: only a dead owner's goes
        # (or, for volumes of versions without the owner label, any not in use). A volume still
        # in use refuses removal; that is the one case to leave it.
        owner = (volume.attrs.get("Labels") or {}).get(LABEL_OWNER)
        if owner and not all_runs and not owner_is_dead(owner):
            continue
        try:
            volume.remove()
            removed += 1
        except Exception:
            pass
    return removed
