"""What an uploaded file is, and whether it is safe and well-formed enough to store.

Called before anything is stored: a bad upload is a 400 naming the problem and leaves no
trace. Archives are unpacked into a scratch folder with every safety check of
``sandbox.archive`` (paths, links, sizes, file count), so a decompression bomb or a ``..``
member is refused here, long before a worker would meet it.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from pathlib import Path

from django.conf import settings

import sandbox
from competitions import filestore
from competitions.models import Dataset
from config.errors import InvalidInput
from evaluation import task_types
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
    """Return the submission kind (file, code or image) or raise InvalidInput (400)."""

    if path.is_dir():
        raise InvalidInput(f"file: {filename} is a folder; upload an archive or a file.")
    if path.stat().st_size == 0:
        raise InvalidInput(f"file: {filename} is empty.")
    task_type = task_types.get_task(task)
    if not _looks_like_archive(path):
        if not task_type.accepts_file:
            raise InvalidInput(
                f"file: task {task} runs code: upload a zip or tar.gz with main.py at its root "
                "(or a submission.yaml naming `command:`), or a `docker save` image archive."
            )
        _check_csv(path, filename=filename, expected=task_type.output_name)
        return Submission.FILE

    limits = upload_limits()
    try:
        # Recognised once, within the limits, before anything else reads the archive.
        archive_format = archive.detect_archive(path, limits=limits)
        if archive_format is archive.ArchiveFormat.DOCKER_IMAGE:
            image_upload_check(path=path)
            return Submission.IMAGE
        with tempfile.TemporaryDirectory(prefix="arena-check-") as scratch:
            archive.unpack_submission(path, Path(scratch) / "unpacked", limits=limits, archive_format=archive_format)
    except archive.SubmissionArchiveInvalid as exc:
        raise InvalidInput(f"file: {filename}: {exc}") from exc
    return Submission.CODE


def image_upload_check(*, path: Path) -> None:
    """Refuse an image archive the engine would refuse, with the limits its runs load it with.

    The manifest, the config, every layer's content digest and every link are checked here,
    as for code archives, so a broken image is a 400 now and never a run that fails later.
    Raises ``ImageArchiveInvalid`` (a ``SubmissionArchiveInvalid``) naming the member.
    """
    sandbox.check_image_archive(path, max_bytes=settings.ARENA_MAX_UPLOAD_BYTES)


def _check_csv(path: Path, *, filename: str, expected: str) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(64 * 1024)
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"file: {filename} is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV like {expected}.") from exc
    if "\x00" in text:
        raise InvalidInput(f"file: {filename} is binary, not a CSV file like {expected}.")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise InvalidInput(f"file: {filename} line 1: expected a header row as in {expected}.")


ARENA_ATTACK_FILE = (
    "In an arena an attack runs against every defense's release, with fresh ids for every pair, "
    "so it must be code (an archive with main.py), not a predictions file."
)


def upload_check_output(*, path: Path, kind: str, competition, task: str) -> None:
    """Refuse, before anything is stored or counted, an upload whose evaluation would fail on
    public facts alone, with the message that evaluation would give.

    A file submission stands in for a run's output: it is validated by the task type itself
    against an ``/input`` built from the competition's public datasets only (the ids it may
    name, the schema), exactly as the evaluation validates it later. Hidden data is never
    read here. Code archives are checked by :func:`upload_check` (``main.py`` or
    ``submission.yaml`` at the root); what they write is only known once they ran.
    """
    if kind != Submission.FILE:
        return
    task_type = task_types.get_task(task)
    if competition.is_arena and task_type.role == Submission.ATTACK:
        raise InvalidInput(ARENA_ATTACK_FILE)
    with tempfile.TemporaryDirectory(prefix="arena-precheck-") as scratch:
        try:
            input_dir = _public_input(competition=competition, task_type=task_type, dest=Path(scratch) / "input")
            prepared = task_type.prepared_from_input(input_dir)
        except (OSError, ValueError, KeyError, task_types.TaskDataInvalid):
            return  # the public inputs do not stand alone here: the evaluation judges the file
        output = Path(scratch) / "output" / task_type.output_name  # named as the evaluation names it
        output.parent.mkdir()
        shutil.copyfile(path, output)
        try:
            task_type.validate(path=output, prepared=prepared)
        except task_types.OutputInvalid as exc:
            raise InvalidInput(str(exc), detail={"file": exc.file, "line": exc.line, "column": exc.column}) from exc


def _public_input(*, competition, task_type, dest: Path) -> Path:
    """What a fixed (non-arena) task's ``/input`` holds, from the public datasets alone."""
    dest.mkdir(parents=True)
    schema = task_types.Schema.from_json(competition.schema)
    task_types.csvio.write_schema(schema, dest)
    public = {name for name, visibility in task_type.data_names.items() if visibility == "public"}
    for dataset in competition.datasets.filter(name__in=public, visibility=Dataset.PUBLIC):
        filestore.copy_to(dataset.storage_path, dest / f"{dataset.name}.csv", encrypted=dataset.encrypted,
                          sha256=dataset.sha256)
    if task_type.name == task_types.AttributeInference.name:
        # the one input file this task type writes itself instead of copying a dataset
        secret = task_types.attribute_inference.secret_column(schema, competition.options)
        (dest / "task.json").write_text(json.dumps({"secret": secret}), encoding="utf-8")
    return dest
