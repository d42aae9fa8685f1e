"""The process backend's init: runs inside the sandbox, around the participant's program.

Standard library only: it runs under the host's system Python (``/usr/bin/python3``) inside
the sandbox, where the project's virtual environment is not visible.

Invoked as ``python3 -I sandbox_init.py CONFIG_JSON -- ARGV...``. It

1. (``unshare`` mode only, as root in fresh mount/pid/net/ipc/uts namespaces) brings the
   namespace's loopback up, builds the minimal filesystem view that bubblewrap would otherwise
   build, pivots into it and drops to the run user with ``no_new_privs``;
2. runs ARGV with resource limits in the child only (so this init can still do step 4), in a
   session of its own, reaping whatever else ends in the namespace meanwhile;
3. when the program ends, SIGKILLs every process the run user has left in the namespace
   (``kill(-1)``), so nothing outlives the run or writes to /output afterwards;
4. writes /output as a tar stream to the inherited descriptor ``output_fd``, which the host parses within caps;
5. writes the program's status to the inherited descriptor ``status_fd`` and exits with it
   (128 + signal number when a signal ended it).

This init is the namespace's PID 1 (bubblewrap runs it with ``--as-pid-1``, ``unshare --fork``
makes it so), and it leaves every signal at its default action or ignored: the kernel then
drops every signal sent to it from inside the namespace, SIGKILL included, although the
program runs as the same uid. It also marks itself not dumpable, so the program can neither
trace it nor reach its descriptors through /proc. The program therefore cannot end its own
sandbox early, and the status record on ``status_fd`` is this init's word: a sandbox that ends
without one was stopped from outside (the host tells that apart from the program's own end).
"""

import ctypes
import fcntl
import json
import os
import platform
import resource
import signal
import socket
import struct
import subprocess
import sys
import tarfile

RUN_UID = 65534
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MNT_DETACH = 2
_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return libc


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(libc, source, target, fstype, flags, data=None):
    _check(
        libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _bind(libc, source, target, readonly=True):
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(libc, source, target, None, _MS_BIND | _MS_REC)
    if readonly:
        # A bind mount ignores MS_RDONLY until it is remounted.
        _mount(libc, None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


def _loopback_up():
    """Bring ``lo`` up in the new network namespace (it starts down), as bubblewrap and the
    container runtime do: the program may talk to itself over 127.0.0.1, and to nothing else."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)  # struct ifreq: name, then flags in the union
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sH22x", b"lo", flags | iff_up))


def build_root(config):
    """As root in new namespaces: assemble the sandbox's filesystem and enter it."""
    libc = _libc()
    _loopback_up()
    _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing propagates back to the host
    root = config["staging"]
    _mount(libc, "tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=0755")
    for link, target in config["symlinks"].items():
        os.symlink(target, root + link)
    for path in config["ro_binds"]:
        _bind(libc, path, root + path)
    for target, content in config["files"].items():
        with open(root + target, "w") as fh:
            fh.write(content)
    os.makedirs(root + "/dev", exist_ok=True)
    for dev in ("null", "zero", "full", "random", "urandom"):
        _bind(libc, "/dev/" + dev, root + "/dev/" + dev, readonly=False)
    for name, size in (("/tmp", config["tmp_bytes"]), ("/output", config["output_bytes"])):
        os.makedirs(root + name, exist_ok=True)
        _mount(libc, "tmpfs", root + name, "tmpfs", _MS_NOSUID | _MS_NODEV,
               f"size={size},mode=0700,uid={RUN_UID},gid={RUN_UID}")
    _bind(libc, config["submission_dir"], root + "/submission")
    _bind(libc, config["input_dir"], root + "/input")
    os.makedirs(root + "/proc", exist_ok=True)
    _mount(libc, "proc", root + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    # The new root itself becomes read-only once everything is in place.
    _mount(libc, None, root, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, "size=1m")

    number = _SYS_PIVOT_ROOT.get(platform.machine())
    os.chdir(root)
    if number is None:
        raise OSError(f"pivot_root: unknown syscall number on {platform.machine()}")
    # pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only
    # the new root visible, with no directory to climb back out through.
    _check(libc.syscall(number, b".", b"."), "pivot_root")
    _check(libc.umount2(b".", _MNT_DETACH), "umount old root")
    os.chdir("/")
    socket.sethostname("sandbox")
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    os.setgroups([])
    os.setresgid(RUN_UID, RUN_UID, RUN_UID)
    os.setresuid(RUN_UID, RUN_UID, RUN_UID)  # from uid 0 to non-zero: every capability goes


def _limits(config):
    def apply():
        for name, value in config["rlimits"].items():
            resource.setrlimit(getattr(resource, name), (value, value))
        # Default signal dispositions for the program, whatever this init changed.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    return apply


def _guard_self():
    """Make this init unreachable for the program: see the module's docstring."""
    # Python's own SIGINT handler would make SIGINT deliverable to PID 1; default, it is not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _check(_libc().prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "not dumpable")


def _run(command, config):
    """Start the program and wait for it, reaping orphans that end meanwhile; its exit status."""
    child = subprocess.Popen(
        command, preexec_fn=_limits(config), stdin=subprocess.DEVNULL, close_fds=True,
        env=config["env"], start_new_session=True,
    )
    while True:
        pid, wait_status = os.waitpid(-1, 0)
        if pid == child.pid:
            child.returncode = os.waitstatus_to_exitcode(wait_status)
            return child.returncode


def main(argv):
    config = json.loads(argv[1])
    command = argv[3:]
    out = os.fdopen(config["output_fd"], "wb", closefd=True)
    if config.get("mode") == "unshare":
        build_root(config)
    _guard_self()
    os.chdir(config.get("workdir", "/submission"))
    try:
        status = _run(command, config)
    except OSError as exc:
        print(f"sandbox: cannot start {command[0]!r}: {exc.strerror}", file=sys.stderr)
        status = 127
    # Whatever the program started in the background goes now, before /output is read.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            tar.add("/output", arcname="output", recursive=True)
    except OSError as exc:
        print(f"sandbox: /output could not be read back: {exc}", file=sys.stderr)
    finally:
        out.close()
    sys.stdout.flush()
    code = 128 - status if status < 0 else status
    with os.fdopen(config["status_fd"], "w", closefd=True) as record:
        record.write(json.dumps({"status": code}))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
