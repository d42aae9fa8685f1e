"""Copy a run's /output, delivered as a tar stream, into a host directory within caps.

Both backends hand the output over as a tar stream produced on the far side of the sandbox
(the Docker API's archive endpoint, or the process backend's in-sandbox init). The stream is
written by or under the control of untrusted code, so it is parsed like an upload: only
regular files and directories are created, names are checked, links and devices are skipped
and reported, and the byte and file caps are enforced on what is actually read.
"""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

from .archive import (
    ArchiveLimits,
    SafeTarInfo,
    SubmissionArchiveInvalid,
    _BoundedReader,
    _clean_name,
    _StreamBudgetExceeded,
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

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def copy_output_tar(
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
        stream = io.BufferedReader(_IterStream(stream), buffer_size=_CHUNK)  # type: ignore[arg-type]
    # The stream is at most the payload plus headers and padding; anything beyond is refused
    # before tarfile can buffer it (a forged pax record would otherwise be read whole).
    budget = max_bytes + (max_files + 64) * 3 * 512 + (1 << 20)
    bounded = _BoundedReader(stream, budget)  # type: ignore[arg-type]
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
                    name = _clean_name(rel, names_limits)
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
    except _StreamBudgetExceeded:
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
