"""Runs one untrusted program under the sandbox contract (DESIGN.md, "Sandbox contract").

Imports nothing of Django or of the project's apps: it takes a :class:`RunSpec` and returns a
:class:`RunResult`. See sandbox/README.md for what each backend protects against.
"""

from .archive import (
    ArchiveFormat,
    ArchiveLimits,
    SubmissionArchiveInvalid,
    detect_archive,
    is_docker_image_archive,
    unpack_submission,
)
from .images import ImageArchiveInvalid, check_image_archive, load_image_archive, remove_image
from .runner import available_backends, run
from .spec import RUNTIME_IMAGE, FailureClass, Limits, RunResult, RunSpec

__all__ = [
    "ArchiveFormat",
    "ArchiveLimits",
    "FailureClass",
    "ImageArchiveInvalid",
    "Limits",
    "RunResult",
    "RUNTIME_IMAGE",
    "RunSpec",
    "SubmissionArchiveInvalid",
    "available_backends",
    "check_image_archive",
    "detect_archive",
    "is_docker_image_archive",
    "load_image_archive",
    "remove_image",
    "run",
    "unpack_submission",
]
