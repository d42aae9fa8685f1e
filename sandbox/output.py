"""Copy a run's /output into a host directory within caps.

Both backends can hand the output over as a tar stream produced on the far side of the
sandbox (the Docker API's archive endpoint, or the process backend's in-sandbox init). The
stream is written by or under the control of untrusted code, so it is parsed like an upload:
only regular files and directories are created, names are checked, links and devices are
skipped and reported, and the byte and file caps are enforced on what is actually read.

Where the Docker engine runs on this machine, its tmpfs volume for /output is also readable
in place, while the container is frozen (:func:`copy_output_dir`): the same rules, applied
entry by entry through file descriptors that never follow a link.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

from .streams import (
    ArchiveLimits,
    BoundedReader,
    SafeTarInfo,
    StreamBudgetExceeded,
    SubmissionArchiveInvalid,
    clean_name,
)

_CHUNK = 1 << 16


@dataclass
class OutputCopy:
    files: dict[str, int] = field(default_factory=dict)
    truncated: bool = False  # a cap was reached: some files are missing or cut short
    skipped: list[str] = field(default_factory=list)


class _IterStream(io.RawIOBase):
    """A readable file over an iterator of byte chunks (the Docker SDK's archive stream)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def copy_output_tar(  # noqa: C901 - one streaming pass over the tar, one refusal per unsafe member kind
    stream: IO[bytes] | Iterable[bytes],
    dest: Path,
    *,
    max_bytes: int,
    max_files: int,
    strip_components: int = 0,
) -> OutputCopy:
    """Unpack the tar ``stream`` into ``dest`` (which must exist), within the caps.

    ``strip_components`` drops leading path parts (the Docker archive of ``/output`` is
    rooted at ``output/``). Exceeding a cap stops the copy and sets ``truncated``; the files
    copied so far stay.
    """
    if not hasattr(stream, "read"):
        stream = io.BufferedReader(_IterStream(stream), buffer_size=_CHUNK)
    # The stream is at most the payload plus headers and padding; anything beyond is refused
    # before tarfile can buffer it (a forged pax record would otherwise be read whole).
    budget = ArchiveLimits(max_bytes=max_bytes).stream_budget(max_files + 48)
    bounded = BoundedReader(stream, budget)  # type: ignore[arg-type]
    result = OutputCopy()
    total = 0
    names_limits = ArchiveLimits()
    created_dirs: set[str] = set()
    try:
        with tarfile.open(fileobj=bounded, mode="r|", tarinfo=SafeTarInfo) as tar:
            for member in tar:
                parts = [p for p in member.name.split("/") if p not in ("", ".")]
                rel = "/".join(parts[strip_components:])
                if not rel:
                    continue
                try:
                    name = clean_name(rel, names_limits)
                except SubmissionArchiveInvalid:
                    result.skipped.append(rel)
                    continue
                if name is None:
                    continue
                if not (member.isreg() or member.isdir()):
                    result.skipped.append(name)
                    continue
                if len(result.files) >= max_files and member.isreg():
                    result.truncated = True
                    result.skipped.append(name)
                    break
                target = dest / name
                _make_parents(dest, name, created_dirs)
                if member.isdir():
                    if name not in created_dirs:
                        target.mkdir(mode=0o755, exist_ok=True)
                        created_dirs.add(name)
                    continue
                source = tar.extractfile(member)
                assert source is not None
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
                written = 0
                with os.fdopen(fd, "wb") as out:
                    while True:
                        chunk = source.read(_CHUNK)
                        if not chunk:
                            break
                        if total + len(chunk) > max_bytes:
                            chunk = chunk[: max_bytes - total]
                            result.truncated = True
                        out.write(chunk)
                        written += len(chunk)
                        total += len(chunk)
                        if result.truncated:
                            break
                result.files[name] = written
                if result.truncated:
                    break
    except StreamBudgetExceeded:
        result.truncated = True
    except (tarfile.TarError, EOFError, FileExistsError, SubmissionArchiveInvalid) as exc:
        if bounded.consumed == 0:
            return result  # nothing was sent at all: the program never got to run
        # A damaged or forged stream: keep what was copied and say so.
        result.truncated = True
        result.skipped.append(f"<unreadable rest of /output: {exc}>")
    return result


def _make_parents(dest: Path, name: str, created: set[str]) -> None:
    parts = name.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        directory = "/".join(parts[:i])
        if directory not in created:
            path = dest / directory
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                raise FileExistsError(f"{directory} is not a directory")
            path.mkdir(mode=0o755, exist_ok=True)
            created.add(directory)


def copy_output_dir(root: Path, dest: Path, *, max_bytes: int, max_files: int) -> OutputCopy:
    """Copy the tree at ``root`` (a frozen run's /output, seen from the host) into ``dest``.

    The rules of :func:`copy_output_tar`: only regular files and folders are copied, names are
    checked, links, devices, pipes and sockets are skipped and reported, and the byte and file
    caps hold. Every entry is opened relative to its already opened folder with ``O_NOFOLLOW``,
    and must lie on ``root``'s filesystem, so no link can lead the copy out of ``root``.
    """
    result = OutputCopy()
    names_limits = ArchiveLimits()
    budget = {"bytes": max_bytes, "entries": 4 * max_files + 1024}  # listing a huge folder stops too
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    device = os.fstat(root_fd).st_dev
    pending = [(root_fd, "")]
    try:
        while pending and not result.truncated:
            fd, prefix = pending.pop()
            try:
                _copy_folder(fd, prefix, dest, device, names_limits, max_files, budget, pending, result)
            finally:
                os.close(fd)
    finally:
        for fd, _ in pending:
            os.close(fd)
    return result


def _copy_folder(fd: int, prefix: str, dest: Path, device: int, names_limits: ArchiveLimits, max_files: int,
                 budget: dict, pending: list, result: OutputCopy) -> None:
    with os.scandir(fd) as entries:
        for entry in entries:
            budget["entries"] -= 1
            if budget["entries"] < 0:
                result.truncated = True
                return
            raw = prefix + entry.name
            try:
                name = clean_name(raw, names_limits)
            except SubmissionArchiveInvalid:
                result.skipped.append(raw)
                continue
            if name is None:
                continue
            info = os.stat(entry.name, dir_fd=fd, follow_symlinks=False)
            if info.st_dev != device or not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
                result.skipped.append(name)
                continue
            if stat.S_ISDIR(info.st_mode):
                child = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                if os.fstat(child).st_dev != device:
                    os.close(child)
                    result.skipped.append(name)
                    continue
                (dest / name).mkdir(mode=0o755, exist_ok=True)
                pending.append((child, name + "/"))
                continue
            if len(result.files) >= max_files:
                result.truncated = True
                result.skipped.append(name)
                return
            _copy_file(fd, entry.name, name, dest, device, budget, result)
            if result.truncated:
                return


def _copy_file(fd: int, entry: str, name: str, dest: Path, device: int, budget: dict, result: OutputCopy) -> None:
    try:
        source = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    except OSError:
        result.skipped.append(name)
        return
    try:
        info = os.fstat(source)
        if not stat.S_ISREG(info.st_mode) or info.st_dev != device:
            result.skipped.append(name)
            return
        target = os.open(dest / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        written = 0
        with os.fdopen(target, "wb") as out:
            while True:
                chunk = os.read(source, min(_CHUNK, budget["bytes"] + 1))
                if not chunk:
                    break
                if len(chunk) > budget["bytes"]:
                    chunk = chunk[: budget["bytes"]]
                    result.truncated = True
                out.write(chunk)
                written += len(chunk)
                budget["bytes"] -= len(chunk)
                if result.truncated:
                    break
        result.files[name] = written
    finally:
        os.close(source)
