"""Safe unpacking of submission archives (zip, tar, tar.gz) and recognition of image archives.

An uploaded archive is hostile input. Unpacking must never write outside the destination,
never create links or device files, and must stop a decompression bomb while it streams:
sizes in headers are claims, so bytes are counted as they are written (and, for tar, as the
compressed stream is decompressed, which also bounds tar's own header records).

Every refusal is a :class:`SubmissionArchiveInvalid` whose message names the member and the
problem, because the participant reads it.
"""

from __future__ import annotations

import enum
import gzip
import io
import os
import posixpath
import shlex
import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import yaml

__all__ = [
    "ArchiveFormat",
    "ArchiveLimits",
    "SubmissionArchiveInvalid",
    "detect_archive",
    "is_docker_image_archive",
    "unpack_submission",
    "command_of",
]

_CHUNK = 1 << 16
_MAX_YAML_BYTES = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


class SubmissionArchiveInvalid(ValueError):
    """The archive cannot be accepted. ``member`` names the offending entry when there is one."""

    def __init__(self, message: str, *, member: str | None = None):
        super().__init__(f"{member}: {message}" if member else message)
        self.member = member
        self.problem = message


class ArchiveFormat(str, enum.Enum):
    ZIP = "zip"
    TAR = "tar"  # plain or gzip-compressed tar with code
    DOCKER_IMAGE = "docker-image"  # `docker save` output (plain or gzip): an image submission


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what one submission may unpack to."""

    max_bytes: int = 100 * 1024 * 1024  # total unpacked size
    max_files: int = 10_000  # files and directories together
    max_path_length: int = 1024
    max_depth: int = 32


# --------------------------------------------------------------------------- detection


def _magic(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(512)


def _is_tar_header(block: bytes) -> bool:
    # POSIX/GNU tar put "ustar" at offset 257; very old v7 tars have no magic and are not
    # something a participant's tool produces today.
    return len(block) >= 262 and block[257:262] == b"ustar"


_MAX_META_HEADER = 64 * 1024
_META_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
               tarfile.GNUTYPE_LONGLINK)


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


def _open_tar_stream(path: Path, budget: int | None) -> tuple[IO[bytes], tarfile.TarFile]:
    """Open a plain or gzip tar for streaming, with the decompressed stream capped at ``budget``."""
    raw = open(path, "rb")
    try:
        head = raw.read(2)
        raw.seek(0)
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if head == _GZIP_MAGIC else raw
        if budget is not None:
            stream = _BoundedReader(stream, budget)  # type: ignore[assignment]
        return raw, tarfile.open(fileobj=stream, mode="r|", tarinfo=SafeTarInfo)
    except Exception:
        raw.close()
        raise


def detect_archive(path: Path | str) -> ArchiveFormat:
    """Tell a zip, a code tar(.gz) and a ``docker save`` archive apart by content, not by name."""
    path = Path(path)
    head = _magic(path)
    if head[:4] in _ZIP_MAGICS:
        return ArchiveFormat.ZIP
    if head[:2] == _GZIP_MAGIC:
        try:
            with gzip.open(path, "rb") as fh:
                inner = fh.read(512)
        except (OSError, EOFError) as exc:
            raise SubmissionArchiveInvalid(f"not a readable gzip file ({exc})") from None
        if not _is_tar_header(inner):
            raise SubmissionArchiveInvalid("a gzip file that does not hold a tar archive")
    elif not _is_tar_header(head):
        raise SubmissionArchiveInvalid("not a zip, tar or tar.gz archive")
    return ArchiveFormat.DOCKER_IMAGE if is_docker_image_archive(path) else ArchiveFormat.TAR


def is_docker_image_archive(path: Path | str, *, max_members: int = 100_000) -> bool:
    """True when the tar looks like ``docker save`` output: a root ``manifest.json`` and layers.

    Both the classic layout (``<id>/layer.tar``) and the OCI layout Docker 25+ writes
    (``blobs/sha256/…`` with ``index.json``) qualify. Only headers are read; layer bodies
    are skipped.
    """
    path = Path(path)
    head = _magic(path)
    if head[:4] in _ZIP_MAGICS:
        return False
    manifest = False
    layers = False
    try:
        raw, tar = _open_tar_stream(path, None)
        with raw, tar:
            for count, member in enumerate(tar, start=1):
                name = member.name[2:] if member.name.startswith("./") else member.name
                if name == "manifest.json":
                    manifest = True
                elif name.endswith("/layer.tar") or name.startswith("blobs/sha256/"):
                    layers = True
                if (manifest and layers) or count >= max_members:
                    break
    except (tarfile.TarError, OSError, EOFError, SubmissionArchiveInvalid):
        return False
    return manifest and layers


# --------------------------------------------------------------------------- unpacking


class _BoundedReader(io.RawIOBase):
    """A read-only stream that refuses to deliver more than ``budget`` bytes in total.

    ``tarfile`` reads pax and GNU long-name records whole, with a size taken from the header;
    clamping every read here means a forged header cannot make it allocate gigabytes.
    """

    def __init__(self, inner: IO[bytes], budget: int):
        self._inner = inner
        self._left = budget
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        want = self._left + 1 if n is None or n < 0 else min(n, self._left + 1)
        data = self._inner.read(want)
        self._left -= len(data)
        self.consumed += len(data)
        if self._left < 0:
            raise _StreamBudgetExceeded
        return data

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _StreamBudgetExceeded(Exception):
    pass


def _clean_name(raw: str, limits: ArchiveLimits) -> str | None:
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


@dataclass
class _Writer:
    """Creates directories and files under ``root`` and keeps the running totals."""

    root: Path
    limits: ArchiveLimits
    total: int = 0
    entries: int = 0

    def __post_init__(self) -> None:
        self.seen: dict[str, bool] = {}  # name -> is a directory

    def _count(self, member: str) -> None:
        self.entries += 1
        if self.entries > self.limits.max_files:
            raise SubmissionArchiveInvalid(
                f"the archive holds more than {self.limits.max_files} files and directories",
                member=member,
            )

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
                    raise SubmissionArchiveInvalid(
                        f"the archive unpacks to more than {self.limits.max_bytes} bytes",
                        member=member,
                    )
                out.write(chunk)


def _unpack_zip(path: Path, writer: _Writer) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionArchiveInvalid(f"not a readable zip file ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > writer.limits.max_files:
            raise SubmissionArchiveInvalid(
                f"the archive holds more than {writer.limits.max_files} files and directories"
            )
        for info in infos:
            member = info.filename
            name = _clean_name(member, writer.limits)
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
    # Headers, padding and pax records ride on top of file data; this slack bounds them.
    budget = limits.max_bytes + (limits.max_files + 16) * 3 * 512 + (1 << 20)
    member_name = None
    try:
        raw, tar = _open_tar_stream(path, budget)
        with raw, tar:
            for member in tar:
                member_name = member.name
                name = _clean_name(member.name, limits)
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
                source = tar.extractfile(member)
                assert source is not None  # regular files always have a body
                writer.write(name, member.name, source, executable=bool(member.mode & 0o111))
    except _StreamBudgetExceeded:
        raise SubmissionArchiveInvalid(
            f"the archive unpacks to more than {limits.max_bytes} bytes", member=member_name
        ) from None
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
    archive: Path | str, dest: Path | str, *, limits: ArchiveLimits = ArchiveLimits()
) -> tuple[str, ...]:
    """Unpack a code submission into ``dest`` and return the command that runs it.

    ``dest`` must not exist or be empty. On any refusal it is left empty and
    :class:`SubmissionArchiveInvalid` says which member broke which rule. A ``docker save``
    archive is refused here: the caller should check :func:`detect_archive` first and load it
    with :func:`sandbox.images.load_image_archive`.
    """
    archive, dest = Path(archive), Path(dest)
    fmt = detect_archive(archive)
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
    archive: Path | str, dest: Path | str, *, limits: ArchiveLimits = ArchiveLimits()
) -> None:
    """Unpack any zip or tar(.gz) — a competition bundle, say — with the same safety checks as a
    submission, but without asking for ``main.py``. ``dest`` must not exist or be empty."""
    archive, dest = Path(archive), Path(dest)
    fmt = detect_archive(archive)
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

