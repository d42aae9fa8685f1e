"""Safe unpacking of submission archives (zip, tar, tar.gz) and recognition of image archives.

An uploaded archive is hostile input. Its format is recognised once, in one bounded pass
(:func:`detect_archive`), before anything else reads it; unpacking must never write outside
the destination, never create links or device files, and must stop a decompression bomb while
it streams. Sizes in headers are claims: a claim over the limit is refused at once, without
reading the body, and what is actually decompressed is counted too (for tar, the whole
decompressed stream, which also bounds tar's own header records). Every pass also has a
deadline (``ArchiveLimits.max_seconds``).

Every refusal is a :class:`SubmissionArchiveInvalid` whose message names the member and the
problem, because the participant reads it.
"""

from __future__ import annotations

import enum
import gzip
import os
import posixpath
import shlex
import shutil
import stat
import struct
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import yaml

from .streams import (
    GZIP_MAGIC,
    ZIP_MAGICS,
    ArchiveLimits,
    StreamBudgetExceeded,
    StreamDeadlinePassed,
    SubmissionArchiveInvalid,
    clean_name,
    is_tar_header,
    open_tar_stream,
)

__all__ = [
    "ArchiveFormat",
    "ArchiveLimits",
    "SubmissionArchiveInvalid",
    "command_of",
    "detect_archive",
    "is_docker_image_archive",
    "unpack_archive",
    "unpack_submission",
]

_CHUNK = 1 << 16
_MAX_YAML_BYTES = 64 * 1024


class ArchiveFormat(str, enum.Enum):
    ZIP = "zip"
    TAR = "tar"  # plain or gzip-compressed tar with code
    DOCKER_IMAGE = "docker-image"  # `docker save` output (plain or gzip): an image submission


# --------------------------------------------------------------------------- detection


def _magic(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(512)


def _too_big(limits: ArchiveLimits, member: str | None = None) -> SubmissionArchiveInvalid:
    return SubmissionArchiveInvalid(
        f"the archive unpacks to more than {limits.max_bytes} bytes", member=member
    )


def _claims_too_big(limits: ArchiveLimits, claimed: int, member: str | None = None) -> SubmissionArchiveInvalid:
    return SubmissionArchiveInvalid(
        f"the archive would unpack to more than {limits.max_bytes} bytes: its headers claim {claimed} bytes",
        member=member,
    )


def _too_slow(limits: ArchiveLimits, member: str | None = None) -> SubmissionArchiveInvalid:
    return SubmissionArchiveInvalid(
        f"reading the archive took longer than the limit of {limits.max_seconds:g} s", member=member
    )


def _too_many(limits: ArchiveLimits, member: str | None = None) -> SubmissionArchiveInvalid:
    return SubmissionArchiveInvalid(
        f"the archive holds more than {limits.max_files} files and directories", member=member
    )


def detect_archive(path: Path | str, *, limits: ArchiveLimits = ArchiveLimits()) -> ArchiveFormat:
    """Tell a zip, a code tar(.gz) and a ``docker save`` archive apart by content, not by name.

    A zip is recognised by its signature alone. A tar is walked once, header by header, within
    ``limits``: the sizes its headers claim may add up to at most ``limits.max_bytes`` (a
    member claiming more is refused before its body is read), it may hold at most
    ``limits.max_files`` members, the decompressed stream is capped and the walk must end
    within ``limits.max_seconds``. Each refusal is a :class:`SubmissionArchiveInvalid` naming
    the limit. The walk stops as soon as the archive shows a ``docker save`` layout (a root
    ``manifest.json`` and layers, classic ``<id>/layer.tar`` or OCI ``blobs/sha256/...``).
    """
    path = Path(path)
    head = _magic(path)
    if head[:4] in ZIP_MAGICS:
        return ArchiveFormat.ZIP
    if head[:2] == GZIP_MAGIC:
        try:
            with gzip.open(path, "rb") as fh:
                inner = fh.read(512)
        except (OSError, EOFError) as exc:
            raise SubmissionArchiveInvalid(f"not a readable gzip file ({exc})") from None
        if not is_tar_header(inner):
            raise SubmissionArchiveInvalid("a gzip file that does not hold a tar archive")
    elif not is_tar_header(head):
        raise SubmissionArchiveInvalid("not a zip, tar or tar.gz archive")
    return _walk_tar(path, limits)


def _walk_tar(path: Path, limits: ArchiveLimits) -> ArchiveFormat:
    deadline = time.monotonic() + limits.max_seconds
    claimed = members = 0
    manifest = layers = False
    current = None
    try:
        raw, _, tar = open_tar_stream(path, limits.stream_budget(), deadline=deadline)
        with raw, tar:
            for member in tar:
                current = member.name
                members += 1
                if members > limits.max_files:
                    raise _too_many(limits)
                claimed += max(member.size, 0)
                if claimed > limits.max_bytes:
                    raise _claims_too_big(limits, claimed, member.name)
                if time.monotonic() > deadline:
                    raise StreamDeadlinePassed
                name = member.name[2:] if member.name.startswith("./") else member.name
                if name == "manifest.json":
                    manifest = True
                elif name.endswith("/layer.tar") or name.startswith("blobs/sha256/"):
                    layers = True
                if manifest and layers:
                    return ArchiveFormat.DOCKER_IMAGE
    except StreamBudgetExceeded:
        raise _too_big(limits, current) from None
    except StreamDeadlinePassed:
        raise _too_slow(limits, current) from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise SubmissionArchiveInvalid(f"the tar archive is damaged ({exc})", member=current) from None
    return ArchiveFormat.TAR


def is_docker_image_archive(path: Path | str, *, limits: ArchiveLimits = ArchiveLimits()) -> bool:
    """True when the archive looks like ``docker save`` output (see :func:`detect_archive`);
    False for anything else, a refused archive included."""
    try:
        return detect_archive(path, limits=limits) is ArchiveFormat.DOCKER_IMAGE
    except SubmissionArchiveInvalid:
        return False


# --------------------------------------------------------------------------- unpacking


@dataclass
class _Writer:
    """Creates directories and files under ``root`` and keeps the running totals."""

    root: Path
    limits: ArchiveLimits
    total: int = 0
    entries: int = 0

    def __post_init__(self) -> None:
        self.seen: dict[str, bool] = {}  # name -> is a directory
        self.deadline = time.monotonic() + self.limits.max_seconds

    def _count(self, member: str) -> None:
        self.entries += 1
        if self.entries > self.limits.max_files:
            raise _too_many(self.limits, member)

    def claim(self, size: int, member: str) -> None:
        """Refuse a member whose header claims more than is left, before its body is read."""
        if self.total + max(size, 0) > self.limits.max_bytes:
            raise _claims_too_big(self.limits, self.total + max(size, 0), member)
        if time.monotonic() > self.deadline:
            raise _too_slow(self.limits, member)

    def _parents(self, name: str, member: str) -> None:
        parent = posixpath.dirname(name)
        chain = []
        while parent:
            chain.append(parent)
            parent = posixpath.dirname(parent)
        for directory in reversed(chain):
            known = self.seen.get(directory)
            if known is False:
                raise SubmissionArchiveInvalid(f"'{directory}' is a file and a directory", member=member)
            if known is None:
                self.mkdir(directory, member)

    def mkdir(self, name: str, member: str) -> None:
        if self.seen.get(name) is True:
            return
        if name in self.seen:
            raise SubmissionArchiveInvalid("a file and a directory have this name", member=member)
        self._parents(name, member)
        self._count(member)
        os.mkdir(self.root / name, 0o755)
        self.seen[name] = True

    def write(self, name: str, member: str, source: IO[bytes], executable: bool) -> None:
        if name in self.seen:
            raise SubmissionArchiveInvalid("the name appears twice in the archive", member=member)
        self._parents(name, member)
        self._count(member)
        self.seen[name] = False
        # O_EXCL|O_NOFOLLOW: nothing in the destination is ever followed or overwritten.
        fd = os.open(
            self.root / name,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
            0o755 if executable else 0o644,
        )
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = source.read(_CHUNK)
                if not chunk:
                    break
                # Count what actually decompresses, whatever the header promised.
                self.total += len(chunk)
                if self.total > self.limits.max_bytes:
                    raise _too_big(self.limits, member)
                if time.monotonic() > self.deadline:
                    raise _too_slow(self.limits, member)
                out.write(chunk)


def _zip_entry_count(path: Path) -> int | None:
    """The number of entries the zip's end record announces, read before ``zipfile`` parses
    the central directory (which it holds in memory whole, one object per entry)."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - (22 + 0xFFFF)))
        tail = fh.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + 22 > len(tail):
            return None
        count = struct.unpack("<H", tail[at + 10: at + 12])[0]
        locator = at - 20
        if count == 0xFFFF and locator >= 0 and tail[locator: locator + 4] == b"PK\x06\x07":
            (record,) = struct.unpack("<Q", tail[locator + 8: locator + 16])
            fh.seek(record)
            zip64 = fh.read(56)
            if zip64[:4] == b"PK\x06\x06" and len(zip64) == 56:
                count = struct.unpack("<Q", zip64[32:40])[0]
        return count


def _unpack_zip(path: Path, writer: _Writer) -> None:
    limits = writer.limits
    count = _zip_entry_count(path)
    if count is not None and count > limits.max_files:
        raise _too_many(limits)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionArchiveInvalid(f"not a readable zip file ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_files:
            raise _too_many(limits)
        # A zip member never decompresses to more than its header claims (zipfile stops
        # there and the checksum then fails), so claims over the limit are refused at once.
        claimed = sum(info.file_size for info in infos)
        if claimed > limits.max_bytes:
            raise _claims_too_big(limits, claimed)
        for info in infos:
            member = info.filename
            name = clean_name(member, limits)
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode)
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                what = "a symbolic link" if kind == stat.S_IFLNK else "not a regular file"
                raise SubmissionArchiveInvalid(f"{what}; only files and directories are allowed", member=member)
            if info.flag_bits & 0x1:
                raise SubmissionArchiveInvalid("encrypted members are not supported", member=member)
            if name is None:
                continue
            if info.is_dir():
                writer.mkdir(name, member)
                continue
            writer.claim(info.file_size, member)
            try:
                with zf.open(info) as source:
                    writer.write(name, member, source, executable=bool(mode & 0o111))
            except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError) as exc:
                if isinstance(exc, SubmissionArchiveInvalid):
                    raise
                raise SubmissionArchiveInvalid(f"cannot be read ({exc})", member=member) from None


def _tar_kind(member: tarfile.TarInfo) -> str | None:
    if member.issym():
        return "a symbolic link"
    if member.islnk():
        return "a hard link"
    if member.ischr() or member.isblk():
        return "a device file"
    if member.isfifo():
        return "a FIFO"
    if not (member.isreg() or member.isdir()):
        return "not a regular file"
    return None


def _unpack_tar(path: Path, writer: _Writer) -> None:
    limits = writer.limits
    member_name = None
    try:
        # Headers, padding and pax records ride on top of file data; the budget bounds them.
        raw, _, tar = open_tar_stream(path, limits.stream_budget(), deadline=writer.deadline)
        with raw, tar:
            for member in tar:
                member_name = member.name
                name = clean_name(member.name, limits)
                problem = _tar_kind(member)
                if problem:
                    raise SubmissionArchiveInvalid(
                        f"{problem}; only files and directories are allowed", member=member.name
                    )
                if name is None:
                    continue
                if member.isdir():
                    writer.mkdir(name, member.name)
                    continue
                writer.claim(member.size, member.name)
                source = tar.extractfile(member)
                assert source is not None  # regular files always have a body
                writer.write(name, member.name, source, executable=bool(member.mode & 0o111))
    except StreamBudgetExceeded:
        raise _too_big(limits, member_name) from None
    except StreamDeadlinePassed:
        raise _too_slow(limits, member_name) from None
    except (tarfile.TarError, EOFError, OSError, zipfile.BadZipFile) as exc:
        raise SubmissionArchiveInvalid(f"the tar archive is damaged ({exc})", member=member_name) from None


def command_of(root: Path) -> tuple[str, ...]:
    """The command that runs an unpacked submission: ``submission.yaml``'s ``command`` or main.py."""
    manifest = root / "submission.yaml"
    if manifest.is_file():
        if manifest.stat().st_size > _MAX_YAML_BYTES:
            raise SubmissionArchiveInvalid("larger than 64 KiB", member="submission.yaml")
        try:
            data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise SubmissionArchiveInvalid(f"not valid YAML ({exc})", member="submission.yaml") from None
        command = data.get("command") if isinstance(data, dict) else None
        if isinstance(command, str):
            try:
                command = shlex.split(command)
            except ValueError as exc:
                raise SubmissionArchiveInvalid(f"'command' cannot be parsed ({exc})", member="submission.yaml") from None
        if (
            not isinstance(command, list)
            or not command
            or not all(isinstance(part, str) and part and "\x00" not in part for part in command)
        ):
            raise SubmissionArchiveInvalid(
                "needs 'command:' as a non-empty string or list of strings, "
                "e.g. command: [python3, run.py]",
                member="submission.yaml",
            )
        return tuple(command)
    if (root / "main.py").is_file():
        return ("python3", "main.py")
    nested = sorted(p.relative_to(root).as_posix() for p in root.glob("*/main.py"))
    hint = (
        f" (found {nested[0]}: archive the folder's contents, not the folder)" if nested else ""
    )
    raise SubmissionArchiveInvalid(
        f"no main.py and no submission.yaml with 'command:' at the archive root{hint}"
    )


def unpack_submission(
    archive: Path | str,
    dest: Path | str,
    *,
    limits: ArchiveLimits = ArchiveLimits(),
    archive_format: ArchiveFormat | None = None,
) -> tuple[str, ...]:
    """Unpack a code submission into ``dest`` and return the command that runs it.

    ``dest`` must not exist or be empty. On any refusal it is left empty and
    :class:`SubmissionArchiveInvalid` says which member broke which rule. A ``docker save``
    archive is refused here: the caller should check :func:`detect_archive` first and load it
    with :func:`sandbox.images.load_image_archive`. ``archive_format`` is what that check
    returned, so the archive is recognised once; without it, it is recognised here.
    """
    archive, dest = Path(archive), Path(dest)
    fmt = archive_format or detect_archive(archive, limits=limits)
    if fmt is ArchiveFormat.DOCKER_IMAGE:
        raise SubmissionArchiveInvalid("this is a Docker image archive, not a code archive")
    dest.mkdir(mode=0o755, parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise ValueError(f"destination {dest} is not empty")
    # Readable by the unprivileged run user whatever the caller's umask.
    os.chmod(dest, 0o755)
    writer = _Writer(dest, limits)
    try:
        if fmt is ArchiveFormat.ZIP:
            _unpack_zip(archive, writer)
        else:
            _unpack_tar(archive, writer)
        return command_of(dest)
    except BaseException:
        _empty(dest)
        raise


def unpack_archive(
    archive: Path | str,
    dest: Path | str,
    *,
    limits: ArchiveLimits = ArchiveLimits(),
    archive_format: ArchiveFormat | None = None,
) -> None:
    """Unpack any zip or tar(.gz) — a competition bundle, say — with the same safety checks as a
    submission, but without asking for ``main.py``. ``dest`` must not exist or be empty;
    ``archive_format`` as for :func:`unpack_submission`."""
    archive, dest = Path(archive), Path(dest)
    fmt = archive_format or detect_archive(archive, limits=limits)
    if fmt is ArchiveFormat.DOCKER_IMAGE:
        raise SubmissionArchiveInvalid("this is a Docker image archive, not a zip or tar of files")
    dest.mkdir(mode=0o755, parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise ValueError(f"destination {dest} is not empty")
    writer = _Writer(dest, limits)
    try:
        if fmt is ArchiveFormat.ZIP:
            _unpack_zip(archive, writer)
        else:
            _unpack_tar(archive, writer)
    except BaseException:
        _empty(dest)
        raise


def _empty(directory: Path) -> None:
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)

