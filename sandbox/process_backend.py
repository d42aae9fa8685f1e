"""The embedded backend: Linux namespaces and rlimits around a local process.

For a laptop demo and development where no Docker engine answers. See sandbox/README.md for
exactly what it protects and what it does not; in short it isolates the network, the
filesystem view, processes and privileges like the Docker backend, but memory and process
limits are per-process rlimits, not a cgroup.

Two ways in, chosen by :func:`ProcessBackend.method`:

- ``bwrap`` (bubblewrap) when installed: as the run user (uid 65534 when started as root,
  else the caller's own uid), in new user, pid, network, ipc, uts and cgroup namespaces;
- ``unshare`` otherwise, root only: new mount, pid, network, ipc and uts namespaces in which
  ``sandbox_init`` builds the filesystem view itself, pivots into it and drops to uid 65534.

In both, ``sandbox_init`` is the namespace's PID 1, out of the program's reach (see its
docstring): it runs the program, kills what it leaves behind, streams /output back on one pipe
and reports the program's exit status on another. The host keeps the wall clock and kills the
whole process group on timeout; a sandbox that ends with no status record was stopped from
outside the run (an infrastructure failure), never by the program.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .output import copy_output_tar
from .spec import ETC_HOSTS, FailureClass, RunResult, RunSpec

RUN_UID = 65534
SYSTEM_PYTHON = "/usr/bin/python3"
INIT_SOURCE = Path(__file__).with_name("sandbox_init.py")
_MIB = 1024 * 1024
# Read-only system paths a Python program needs; nothing under /home, /root, /var, /run, /tmp,
# /work or /srv, so no host data and no host unix socket (Docker, PostgreSQL, Redis) is visible.
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
_ETC_ENTRIES = ("/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
                "/etc/localtime", "/etc/mime.types")
_ETC_GLOBS = ("/etc/python3*",)
_PASSWD = "nobody:x:65534:65534:nobody:/tmp:/usr/sbin/nologin\n"
_GROUP = "nogroup:x:65534:\n"
_HOSTS = ETC_HOSTS.read_text()
_OOM_MARKERS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
_BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
             "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}


def _etc_paths() -> list[str]:
    paths = [p for p in _ETC_ENTRIES if os.path.exists(p)]
    for pattern in _ETC_GLOBS:
        paths.extend(sorted(glob.glob(pattern)))
    return paths


def _drop_to_run_user() -> None:
    # Started as root: bubblewrap itself then runs unprivileged, so the namespaces it creates
    # map the run user to host uid 65534, never to root.
    os.setgroups([])
    os.setresgid(RUN_UID, RUN_UID, RUN_UID)
    os.setresuid(RUN_UID, RUN_UID, RUN_UID)


class _Capped(threading.Thread):
    def __init__(self, stream, cap: int):
        super().__init__(daemon=True)
        self.stream, self.cap = stream, cap
        self.data = bytearray()
        self.truncated = False

    def run(self) -> None:
        while True:
            chunk = self.stream.read(1 << 16)
            if not chunk:
                break
            room = self.cap - len(self.data)
            if len(chunk) > room:
                self.truncated = True
                chunk = chunk[: max(room, 0)]
            self.data.extend(chunk)  # beyond the cap the stream is still drained, not kept
        self.stream.close()


class ProcessBackend:
    name = "process"

    def __init__(self):
        self._method: str | None | bool = False  # False: not probed yet

    # ------------------------------------------------------------------ capability

    def method(self) -> str | None:
        """``bwrap``, ``unshare`` or ``None`` when neither works here (probed once)."""
        if self._method is False:
            self._method = self._probe()
        return self._method  # type: ignore[return-value]

    def available(self) -> bool:
        return self.method() is not None

    def _probe(self) -> str | None:
        if not os.path.exists(SYSTEM_PYTHON) or os.uname().sysname != "Linux":
            return None
        if shutil.which("bwrap"):
            probe = ["bwrap", "--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
                     "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "/usr/bin/true"]
            try:
                done = subprocess.run(probe, capture_output=True, timeout=10,
                                      preexec_fn=_drop_to_run_user if os.geteuid() == 0 else None)
                if done.returncode == 0:
                    return "bwrap"
            except (OSError, subprocess.SubprocessError):
                pass
        if os.geteuid() == 0 and shutil.which("unshare"):
            return "unshare"
        return None

    # ------------------------------------------------------------------ run

    def run(self, spec: RunSpec, *, output_dir: Path) -> RunResult:
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        method = self.method()
        if method is None:
            return _infrastructure("no process sandbox here: install bubblewrap (or run as root with unshare)")
        if spec.use_image_entrypoint:
            return _infrastructure("image submissions need the docker backend")
        if not spec.command:
            return RunResult(
                failure=FailureClass.EXIT_CODE, message="no command to run", exit_code=None, timed_out=False,
                oom_killed=False, wall_seconds=0.0, peak_memory_bytes=None, stdout="", stderr="",
                logs_truncated=False, output_files={}, output_truncated=False, backend=self.name,
            )
        limits = spec.limits
        config: dict[str, Any] = {
            "env": {**_BASE_ENV, **spec.env},
            "workdir": "/submission",
            "rlimits": {
                "RLIMIT_AS": limits.memory_mb * _MIB,
                "RLIMIT_NPROC": limits.pids,
                "RLIMIT_NOFILE": limits.open_files,
                "RLIMIT_FSIZE": max(limits.output_mb, limits.tmp_mb) * _MIB,
                # CPU seconds across threads: a backstop if the host's wall clock kill failed.
                "RLIMIT_CPU": int(limits.wall_seconds * max(limits.cpus, 1)) + 2,
                "RLIMIT_CORE": 0,
            },
        }
        submission = str(Path(spec.submission_dir).resolve())
        input_dir = str(Path(spec.input_dir).resolve())
        out_pipe = os.pipe()
        config["output_fd"] = out_pipe[1]
        status_pipe = os.pipe()
        config["status_fd"] = status_pipe[1]
        with tempfile.TemporaryDirectory(prefix="arena-proc-") as scratch:
            if method == "bwrap":
                preexec = None
                if os.geteuid() == 0:
                    submission, input_dir, portal = _portal(scratch, submission, input_dir)
                argv, fds = self._bwrap_argv(spec, config, submission, input_dir)
                if os.geteuid() == 0:
                    argv = portal + argv
            else:
                argv, fds = self._unshare_argv(spec, config, submission, input_dir, scratch)
                preexec = None
            return self._execute(spec, argv, fds, preexec, output_dir, out_pipe, status_pipe)

    def _bwrap_argv(self, spec, config, submission, input_dir):
        limits = spec.limits
        data_fds = []

        def data(content: str) -> str:
            read, write = os.pipe()
            os.write(write, content.encode())  # small: fits in the pipe buffer
            os.close(write)
            data_fds.append(read)
            return str(read)

        # --as-pid-1: sandbox_init itself is the namespace's init, which the kernel shields from
        # the program's signals; bubblewrap's own reaper in its place would not be.
        argv = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
                "--as-pid-1",
                "--hostname", "sandbox", "--clearenv", "--cap-drop", "ALL"]
        for path in _SYSTEM_DIRS:
            if os.path.islink(path):
                argv += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                argv += ["--ro-bind", path, path]
        for path in _etc_paths():
            argv += ["--ro-bind", path, path]
        argv += ["--ro-bind-data", data(_PASSWD), "/etc/passwd", "--ro-bind-data", data(_GROUP), "/etc/group"]
        # As data, like the files above: the run user bwrap runs as may not reach the project's tree.
        argv += ["--ro-bind-data", data(_HOSTS), "/etc/hosts"]
        argv += ["--proc", "/proc", "--dev", "/dev"]
        argv += ["--size", str(limits.tmp_mb * _MIB), "--perms", "1777", "--tmpfs", "/tmp"]
        argv += ["--size", str(limits.output_mb * _MIB), "--perms", "0700", "--tmpfs", "/output"]
        argv += ["--ro-bind", submission, "/submission", "--ro-bind", input_dir, "/input"]
        argv += ["--ro-bind-data", data(INIT_SOURCE.read_text()), "/.sandbox_init.py"]
        # The root bwrap builds is a tmpfs without a size cap: once every mount point exists,
        # make it read-only so /output and /tmp are the only places to write.
        argv += ["--remount-ro", "/"]
        argv += ["--chdir", "/submission", "--", SYSTEM_PYTHON, "-I", "-S", "/.sandbox_init.py",
                 json.dumps(config), "--", *spec.command]
        return argv, data_fds

    def _unshare_argv(self, spec, config, submission, input_dir, scratch):
        limits = spec.limits
        staging = os.path.join(scratch, "root")
        os.mkdir(staging)
        config = {
            **config,
            "mode": "unshare",
            "staging": staging,
            "submission_dir": submission,
            "input_dir": input_dir,
            "tmp_bytes": limits.tmp_mb * _MIB,
            "output_bytes": limits.output_mb * _MIB,
            "symlinks": {p: os.readlink(p) for p in _SYSTEM_DIRS if os.path.islink(p)},
            "ro_binds": [p for p in _SYSTEM_DIRS if os.path.isdir(p) and not os.path.islink(p)] + _etc_paths(),
            "files": {"/etc/passwd": _PASSWD, "/etc/group": _GROUP, "/etc/hosts": _HOSTS},
        }
        argv = ["unshare", "--mount", "--uts", "--ipc", "--net", "--pid", "--fork", "--kill-child",
                "--", SYSTEM_PYTHON, "-I", "-S", str(INIT_SOURCE), json.dumps(config), "--", *spec.command]
        return argv, []

    def _execute(self, spec: RunSpec, argv, fds, preexec, output_dir: Path, out_pipe, status_pipe) -> RunResult:
        limits = spec.limits
        out_read, out_write = out_pipe
        status_read, status_write = status_pipe
        started = time.monotonic()
        try:
            # The /output channel and the data fds for bwrap must survive into the sandbox.
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                pass_fds=(out_write, status_write, *fds), preexec_fn=preexec,
                start_new_session=True, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            )
        except OSError as exc:
            for fd in (out_read, out_write, status_read, status_write, *fds):
                os.close(fd)
            return _infrastructure(f"the process sandbox could not start: {exc}")
        os.close(out_write)
        os.close(status_write)
        for fd in fds:
            os.close(fd)
        stdout = _Capped(proc.stdout, limits.log_bytes)
        stderr = _Capped(proc.stderr, limits.log_bytes)
        stdout.start()
        stderr.start()
        copied_box: dict = {}
        reader = threading.Thread(
            target=lambda: copied_box.setdefault("copy", copy_output_tar(
                os.fdopen(out_read, "rb"), output_dir, max_bytes=limits.output_mb * _MIB,
                max_files=limits.output_files, strip_components=1)),
            daemon=True,
        )
        reader.start()
        waited: dict = {}
        # wait4, not Popen.wait: its rusage carries the peak RSS of the sandbox's processes.
        waiter = threading.Thread(target=lambda: waited.setdefault("r", os.wait4(proc.pid, 0)), daemon=True)
        waiter.start()
        waiter.join(timeout=limits.wall_seconds)
        timed_out = waiter.is_alive()
        wall = time.monotonic() - started
        # The group is bwrap/unshare and whatever did not leave it; the namespace's init dies
        # with its parent (bwrap --die-with-parent, unshare --kill-child), taking all with it.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        waiter.join()
        _, status, rusage = waited["r"]
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keeps Popen from waiting on a gone pid
        reported = _status_record(status_read)
        for thread in (stdout, stderr, reader):
            thread.join(timeout=5)
        if not timed_out and reported is None:
            # The init always reports before it exits, and the program cannot stop it: the
            # sandbox was killed from outside (an operator, the host's OOM killer, a shutdown).
            _clear(output_dir)
            return _infrastructure(
                f"the sandbox was stopped from outside before the program's end was reported, or could "
                f"not start (sandbox exit status {proc.returncode})", wall_seconds=wall,
                stderr=bytes(stderr.data).decode("utf-8", errors="replace"))
        exit_code = reported
        peak = rusage.ru_maxrss * 1024 or None
        err_text = bytes(stderr.data).decode("utf-8", errors="replace")
        copied = copied_box.get("copy")
        failure: FailureClass | None
        if timed_out:
            _clear(output_dir)
            failure, message, exit_code, copied = (
                FailureClass.TIMEOUT, f"the program ran longer than {limits.wall_seconds:g} s and was stopped", None, None)
        oom = not timed_out and exit_code != 0 and any(m in err_text[-4000:] for m in _OOM_MARKERS)
        if timed_out:
            pass
        elif oom:
            failure = FailureClass.OUT_OF_MEMORY
            message = f"the program used more than the {limits.memory_mb} MB memory limit"
        elif exit_code != 0:
            failure, message = FailureClass.EXIT_CODE, f"the program exited with status {exit_code}"
        else:
            failure, message = None, ""
        files = dict(copied.files) if copied else {}
        return RunResult(
            failure=failure, message=message, exit_code=exit_code, timed_out=timed_out, oom_killed=oom,
            wall_seconds=wall, peak_memory_bytes=peak,
            stdout=bytes(stdout.data).decode("utf-8", errors="replace"), stderr=err_text,
            logs_truncated=stdout.truncated or stderr.truncated, output_files=files,
            output_truncated=bool(copied and (copied.truncated or _looks_full(files, limits.output_mb * _MIB))),
            backend=self.name, output_skipped=tuple(copied.skipped) if copied else (),
        )


def _portal(scratch: str, submission: str, input_dir: str) -> tuple[str, str, list[str]]:
    """As root: make the run's directories reachable by the run user without exposing them.

    bubblewrap runs as uid 65534 and must open the directories it binds, but they usually sit
    under 0700 temporary directories. In a private mount namespace of this run only, they are
    bind-mounted onto two empty directories under a 0711 portal, and bubblewrap is started from
    there with root's privileges dropped. Returns the portal paths and the command prefix.
    """
    portal = os.path.join(scratch, "portal")
    os.mkdir(portal)
    os.chmod(scratch, 0o711)
    os.chmod(portal, 0o711)
    targets = []
    for name in ("submission", "input"):
        os.mkdir(os.path.join(portal, name), 0o755)
        targets.append(os.path.join(portal, name))
    script = (
        'mount --bind -o ro "$1" "$3" && mount --bind -o ro "$2" "$4" && shift 4 && '
        f'exec setpriv --reuid {RUN_UID} --regid {RUN_UID} --clear-groups --inh-caps=-all "$@"'
    )
    prefix = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "portal",
              submission, input_dir, *targets]
    return targets[0], targets[1], prefix


def _looks_full(files: dict[str, int], cap: int) -> bool:
    used = sum(-(-size // 4096) * 4096 or 4096 for size in files.values())
    return used >= cap - 64 * 1024


def _clear(directory: Path) -> None:
    for child in Path(directory).iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _status_record(fd: int) -> int | None:
    """The program's exit status as the sandbox's init reported it, or None without a report.

    Read once the sandbox has exited, so every writer is gone and the read cannot block.
    """
    try:
        with os.fdopen(fd, "rb") as pipe:
            data = pipe.read(4096)
        status = json.loads(data)["status"] if data else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return status if isinstance(status, int) else None


def _infrastructure(message: str, *, wall_seconds: float = 0.0, stderr: str = "") -> RunResult:
    return RunResult(
        failure=FailureClass.INFRASTRUCTURE, message=message, exit_code=None, timed_out=False,
        oom_killed=False, wall_seconds=wall_seconds, peak_memory_bytes=None, stdout="", stderr=stderr,
        logs_truncated=False, output_files={}, output_truncated=False, backend="process",
    )
