"""A streaming multipart/form-data body: the file is read in blocks as the request is sent.

``requests`` sends an iterable body block by block; because this object also has a length,
the request carries a ``Content-Length`` header (servers can refuse an oversized upload
before reading it, and Django's development server does not accept chunked bodies).
Nothing bigger than one block of the file is ever held in memory.
"""

from __future__ import annotations

import mimetypes
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

BLOCK_SIZE = 256 * 1024


def _quote(value: str) -> str:
    # RFC 7578 §4.2: names go in a quoted-string; escape the characters that would end it.
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartEncoder:
    def __init__(self, *, fields: dict[str, str], file_field: str, path: Path,
                 progress: Callable[[int], None] | None = None, block_size: int = BLOCK_SIZE):
        self.path = Path(path)
        self.boundary = f"arena-{uuid.uuid4().hex}"
        self.progress = progress
        self.block_size = block_size
        self.file_size = os.path.getsize(self.path)
        parts = []
        for name, value in fields.items():
            parts.append(
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()
                + str(value).encode("utf-8") + b"\r\n"
            )
        content_type = mimetypes.guess_type(self.path.name)[0] or "application/octet-stream"
        parts.append(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(file_field)}"; '
            f'filename="{_quote(self.path.name)}"\r\nContent-Type: {content_type}\r\n\r\n'.encode("utf-8")
        )
        self.head = b"".join(parts)
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.file_size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self._sent(self.head)
        sent = 0
        with open(self.path, "rb") as fh:
            while sent < self.file_size:
                block = fh.read(min(self.block_size, self.file_size - sent))
                if not block:
                    raise OSError(f"{self.path} shrank while it was being uploaded")
                sent += len(block)
                yield self._sent(block)
        yield self._sent(self.tail)

    def _sent(self, block: bytes) -> bytes:
        if self.progress is not None:
            self.progress(len(block))
        return block
