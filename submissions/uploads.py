"""What an uploaded file is, and whether it is safe and well-formed enough to store.

Called before anything is stored: a bad upload is a 400 naming the problem and leaves no
trace. Archives are unpacked into a scratch folder with every safety check of
``sandbox.archive`` (paths, links, sizes, file count), so a decompression bomb or a ``..``
member is refused here, long before a worker would meet it.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from django.conf import settings

from config.api_errors import ApiError
from sandbox import archive

from .models import Submission


def _looks_like_archive(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06") or head[:2] == b"\x1f\x8b":
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"


def upload_limits() -> archive.ArchiveLimits:
    return archive.ArchiveLimits(max_bytes=settings.ARENA_MAX_UNPACKED_BYTES, max_files=settings.ARENA_MAX_ARCHIVE_FILES)


def upload_check(*, path: Path, filename: str, task: str) -> str:
    """Return the submission kind (file, code or image) or raise a 400 ApiError."""
    from evaluation.task_types import get_task

    if path.is_dir():
        raise ApiError(f"file: {filename} is a folder; upload an archive or a file.")
    if path.stat().st_size == 0:
        raise ApiError(f"file: {filename} is empty.")
    task_type = get_task(task)
    if not _looks_like_archive(path):
        if not task_type.accepts_file:
            raise ApiError(
                f"file: task {task} runs code: upload a zip or tar.gz with main.py at its root "
                "(or a submission.yaml naming `command:`), or a `docker save` image archive."
            )
        _check_csv(path, filename=filename, expected=task_type.output_name)
        return Submission.FILE

    try:
        if archive.detect_archive(path) is archive.ArchiveFormat.DOCKER_IMAGE:
            return Submission.IMAGE
        with tempfile.TemporaryDirectory(prefix="arena-check-") as scratch:
            archive.unpack_submission(path, Path(scratch) / "unpacked", limits=upload_limits())
    except archive.SubmissionArchiveInvalid as exc:
        raise ApiError(f"file: {filename}: {exc}") from exc
    return Submission.CODE


def _check_csv(path: Path, *, filename: str, expected: str) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(64 * 1024)
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(f"file: {filename} is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV like {expected}.") from exc
    if "\x00" in text:
        raise ApiError(f"file: {filename} is binary, not a CSV file like {expected}.")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise ApiError(f"file: {filename} line 1: expected a header row as in {expected}.")
