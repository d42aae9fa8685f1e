"""Files in private storage: competition data, starting kits, uploads, releases.

Everything goes through Django's storage API (local disk by default, object storage when
configured). Hidden files are encrypted before they reach the storage, so the storage never
holds them in clear; their sha256 is of the clear text and is checked whenever they are
read back for a run.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from django.core.files.base import File
from django.core.files.storage import default_storage

from . import crypto


class StoredFileCorrupt(Exception):
    """A stored file does not match its recorded sha256."""


@dataclass(frozen=True)
class StoredFile:
    path: str
    sha256: str
    size: int


class _HashingReader(io.RawIOBase):
    """Reads through a stream while counting and hashing what passes."""

    def __init__(self, source: BinaryIO):
        self.source = source
        self.hash = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.source.read(len(buffer))
        self.hash.update(data)
        self.size += len(data)
        buffer[: len(data)] = data
        return len(data)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def stored_name(filename: str, *, limit: int = 80) -> str:
    """The file's name as kept in storage: its letters, digits, dots, dashes and underscores,
    at most ``limit`` characters, its suffix kept. The name the user gave is a database field;
    a file system refuses names over 255 bytes, and an object store needs none of the rest."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).name).lstrip(".") or "file"
    if len(name) <= limit:
        return name
    suffix = "".join(Path(name).suffixes[-2:])[:20]
    return name[: limit - len(suffix)] + suffix


def store(source: BinaryIO, *, folder: str, filename: str, encrypt: bool) -> StoredFile:
    """Write ``source`` into private storage under ``folder``; encrypt it when asked."""
    name = f"{folder}/{secrets.token_hex(8)}-{stored_name(filename)}"
    reader = io.BufferedReader(_HashingReader(source), buffer_size=1024 * 1024)
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        if encrypt:
            for block in crypto.encrypt_stream(reader):
                spool.write(block)
            name += ".enc"
        else:
            shutil.copyfileobj(reader, spool, 1024 * 1024)
        spool.seek(0)
        saved = default_storage.save(name, File(spool, name=name))
    raw = reader.raw
    return StoredFile(path=saved, sha256=raw.hash.hexdigest(), size=raw.size)


def store_path(path: Path, *, folder: str, encrypt: bool, filename: str | None = None) -> StoredFile:
    with open(path, "rb") as fh:
        return store(fh, folder=folder, filename=filename or path.name, encrypt=encrypt)


def copy_to(stored_path: str, dest: Path, *, encrypted: bool, sha256: str | None = None) -> Path:
    """Write the clear text of a stored file to ``dest``, checking its sha256 when given."""
    digest = hashlib.sha256()
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Storage.open gives a File, a proxy of the binary file it opens.
    with cast(BinaryIO, default_storage.open(stored_path, "rb")) as source, open(dest, "wb") as out:
        blocks = crypto.decrypt_stream(source) if encrypted else iter(lambda: source.read(1024 * 1024), b"")
        for block in blocks:
            digest.update(block)
            out.write(block)
    if sha256 is not None and digest.hexdigest() != sha256:
        dest.unlink(missing_ok=True)
        raise StoredFileCorrupt(f"{stored_path}: content does not match its recorded sha256")
    return dest


def open_clear(stored_path: str) -> BinaryIO:
    """Open an unencrypted stored file for reading (public data, uploads)."""
    return cast(BinaryIO, default_storage.open(stored_path, "rb"))  # a File, a proxy of the binary file


def delete(stored_path: str) -> None:
    if stored_path and default_storage.exists(stored_path):
        default_storage.delete(stored_path)
