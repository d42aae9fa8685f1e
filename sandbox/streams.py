"""Reading hostile tar and gzip streams within budgets.

Uploads, image archives and a run's /output all arrive as streams written by someone the
platform does not trust. The helpers here are shared by :mod:`sandbox.archive` (code
submissions, bundles), :mod:`sandbox.images` (``docker save`` archives) and
:mod:`sandbox.output` (a run's /output): a reader that stops after a number of bytes or a
point in time, a ``TarInfo`` that refuses oversized metadata records before ``tarfile``
parses them, the check of a member's name, and opening a plain or gzip tar as a stream.

Every refusal is a :class:`SubmissionArchiveInvalid` whose message names the member and the
problem, because the participant reads it.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
TAR_BLOCK = 512
_MAX_META_HEADER = 64 * 1024
_META_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
               tarfile.GNUTYPE_LONGLINK)


class SubmissionArchiveInvalid(ValueError):
    """The archive cannot be accepted. ``member`` names the offending entry when there is one."""

    def __init__(self, message: str, *, member: str | None = None):
        super().__init__(f"{member}: {message}" if member else message)
        self.member = member
        self.problem = message


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what one archive may unpack to, and on the time spent reading it."""

    max_bytes: int = 100 * 1024 * 1024  # total unpacked size
    max_files: int = 10_000  # files and directories together
    max_path_length: int = 1024
    max_depth: int = 32
    # Wall time for one pass over the archive (recognising it, or unpacking it). Generous for
    # an honest archive at the size limits; it stops whatever makes reading slow per byte.
    max_seconds: float = 60.0

    def stream_budget(self, members: int | None = None) -> int:
        """Bytes a tar stream within these limits can hold: the payload, plus headers,
        padding and metadata records for every member (three blocks each), plus slack."""
        count = self.max_files if members is None else members
        return self.max_bytes + (count + 16) * 3 * TAR_BLOCK + (1 << 20)


class StreamLimitReached(Exception):
    """A :class:`BoundedReader` refused to read on; the subclass says which budget ran out."""


class StreamBudgetExceeded(StreamLimitReached):
    """More bytes than the budget were about to be read."""


class StreamDeadlinePassed(StreamLimitReached):
    """Reading went on past the deadline."""


class ByteSource(Protocol):
    """What :class:`BoundedReader` reads from: a file, a gzip stream, another reader."""

    def read(self, size: int, /) -> bytes: ...


class BoundedReader(io.RawIOBase):
    """A read-only stream that refuses to deliver more than ``budget`` bytes in total, or to
    go on reading after ``deadline`` (a ``time.monotonic()`` value).

    ``tarfile`` reads pax and GNU long-name records whole, with a size taken from the header;
    clamping every read here means a forged header cannot make it allocate gigabytes. The
    deadline bounds what is slow per byte rather than large (a gzip stream of many tiny members).
    """

    def __init__(self, inner: ByteSource, budget: int, *, deadline: float | None = None):
        self._inner = inner
        self._left = budget
        self._deadline = deadline
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise StreamDeadlinePassed
        want = self._left + 1 if n is None or n < 0 else min(n, self._left + 1)
        data = self._inner.read(want)
        self._left -= len(data)
        self.consumed += len(data)
        if self._left < 0:
            raise StreamBudgetExceeded
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class SafeTarInfo(tarfile.TarInfo):
    """A TarInfo that refuses oversized pax and GNU long-name records before they are parsed.

    ``tarfile`` reads such a record whole and runs a backtracking regular expression over
    it: a few megabytes of digits take minutes of CPU. Real records are a few hundred bytes.
    """

    def _proc_member(self, tarfile_obj):
        if self.type in _META_TYPES and self.size > _MAX_META_HEADER:
            raise SubmissionArchiveInvalid(
                f"a tar metadata record of {self.size} bytes (at most {_MAX_META_HEADER})",
                member=self.name,
            )
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise SubmissionArchiveInvalid("sparse files are not supported", member=self.name)
        return super()._proc_member(tarfile_obj)


def is_tar_header(block: bytes) -> bool:
    # POSIX/GNU tar put "ustar" at offset 257; very old v7 tars have no magic and are not
    # something a participant's tool produces today.
    return len(block) >= 262 and block[257:262] == b"ustar"


def open_tar_stream(
    path: Path, budget: int, *, deadline: float | None = None
) -> tuple[IO[bytes], BoundedReader, tarfile.TarFile]:
    """Open a plain or gzip tar for one pass, reading at most ``budget`` decompressed bytes.

    Returns the raw file (close it), the bounded reader (its ``consumed`` says how much was
    read) and the tar stream.
    """
    raw = open(path, "rb")
    try:
        head = raw.read(2)
        raw.seek(0)
        stream: ByteSource = gzip.GzipFile(fileobj=raw, mode="rb") if head == GZIP_MAGIC else raw
        bounded = BoundedReader(stream, budget, deadline=deadline)
        return raw, bounded, tarfile.open(fileobj=bounded, mode="r|", tarinfo=SafeTarInfo)
    except Exception:
        raw.close()
        raise


def clean_name(raw: str, limits: ArchiveLimits) -> str | None:
    """The member's path relative to the root, or ``None`` for the root itself.

    Refuses what could land outside the destination or surprise a reader: absolute paths,
    ``..`` anywhere, backslashes (a Windows separator some tools leave in zip names), NUL.
    """
    if "\x00" in raw:
        raise SubmissionArchiveInvalid("the name contains a NUL byte", member=repr(raw))
    if "\\" in raw:
        raise SubmissionArchiveInvalid("backslashes in names are not allowed (use /)", member=raw)
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise SubmissionArchiveInvalid("absolute paths are not allowed", member=raw)
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise SubmissionArchiveInvalid("'..' in a path is not allowed", member=raw)
    if not parts:
        return None
    name = "/".join(parts)
    if len(name) > limits.max_path_length or len(parts) > limits.max_depth:
        raise SubmissionArchiveInvalid("the path is too long or too deep", member=raw)
    return name
