"""Encryption of hidden data at rest: streaming AES-256-GCM in 1 MiB chunks.

Hidden files can be large, so they are never held in memory whole. Each file gets a random
nonce prefix; chunk ``i`` is sealed with nonce ``prefix || i`` and authenticated data naming
the key, the chunk index and whether it is the last chunk, so chunks cannot be reordered,
dropped or truncated without the decryption failing.

File layout: ``MAGIC (6) | key id (8) | nonce prefix (8) | chunks…``, each chunk
``length (4, big endian) | ciphertext+tag``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Iterator

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MAGIC = b"ARENA1"
CHUNK = 1024 * 1024


class DecryptionError(Exception):
    pass


def _decode_key(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    if len(raw) != 32:
        raise ImproperlyConfigured("Each ARENA_DATA_KEYS entry must be 32 bytes, url-safe base64 encoded.")
    return raw


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


@lru_cache(maxsize=1)
def _keys() -> tuple[bytes, ...]:
    configured = list(settings.ARENA_DATA_KEYS)
    if not configured:
        key_file = Path(settings.ARENA_DATA_KEY_FILE)
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(new_key())
        configured = [key_file.read_text()]
    return tuple(_decode_key(k) for k in configured)


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:8]


def _aad(key_id: bytes, index: int, last: bool) -> bytes:
    return key_id + struct.pack(">Q?", index, last)


def encrypt_stream(source: BinaryIO) -> Iterator[bytes]:
    """Yield the encrypted form of ``source``, chunk by chunk, with the newest key."""
    key = _keys()[0]
    key_id = _key_id(key)
    prefix = os.urandom(8)
    aes = AESGCM(key)
    yield MAGIC + key_id + prefix
    index = 0
    chunk = source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        last = not following
        sealed = aes.encrypt(prefix + struct.pack(">I", index), chunk, _aad(key_id, index, last))
        yield struct.pack(">I", len(sealed)) + sealed
        if last:
            return
        chunk = following
        index += 1


def decrypt_stream(source: BinaryIO) -> Iterator[bytes]:
    """Yield the clear text of an encrypted file; raise :class:`DecryptionError` on any tampering."""
    header = source.read(len(MAGIC) + 16)
    if len(header) != len(MAGIC) + 16 or not header.startswith(MAGIC):
        raise DecryptionError("not an encrypted data file")
    key_id, prefix = header[len(MAGIC) : len(MAGIC) + 8], header[len(MAGIC) + 8 :]
    key = next((k for k in _keys() if _key_id(k) == key_id), None)
    if key is None:
        raise DecryptionError("the key this file was encrypted with is not configured (ARENA_DATA_KEYS)")
    aes = AESGCM(key)
    index = 0
    while True:
        size_bytes = source.read(4)
        if len(size_bytes) != 4:
            raise DecryptionError("file is truncated")
        (size,) = struct.unpack(">I", size_bytes)
        if size > CHUNK + 16:
            raise DecryptionError("corrupt chunk length")
        sealed = source.read(size)
        nonce = prefix + struct.pack(">I", index)
        position = source.tell()
        last = not source.read(1)
        source.seek(position)
        try:
            clear = aes.decrypt(nonce, sealed, _aad(key_id, index, last))
        except Exception as exc:  # InvalidTag: tampered, truncated or reordered
            raise DecryptionError(f"chunk {index} failed authentication") from exc
        yield clear
        if last:
            return
        index += 1
