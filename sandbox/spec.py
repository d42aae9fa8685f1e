"""Plain data that goes into and comes out of one sandboxed run.

The sandbox knows nothing of Django, competitions or submissions: the evaluation app
translates its models and settings into a :class:`RunSpec` and reads a :class:`RunResult`
back. Everything here is immutable data, so a spec can be logged, compared in tests and
handed to any backend.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path


class FailureClass(str, enum.Enum):
    """Why a run did not produce a usable result; ``None`` on a :class:`RunResult` means success."""

    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    EXIT_CODE = "exit_code"
    INVALID_OUTPUT = "invalid_output"  # set by the task type after validation, never by a backend
    INFRASTRUCTURE = "infrastructure"  # the platform failed (engine gone, image missing): retried, not counted


RUNTIME_IMAGE = "anomed-arena-runtime:latest"  # built by sandbox/runtime/build

# /etc/hosts inside every sandbox, whatever backend or image: "localhost" and the hostname
# resolve on the sandbox's own loopback, with no name service reachable.
ETC_HOSTS = Path(__file__).resolve().with_name("etc_hosts")


@dataclass(frozen=True)
class Limits:
    """Resource limits for one run. Defaults suit a small tabular task."""

    wall_seconds: float = 600.0
    memory_mb: int = 2048  # swap is set equal to memory: no swap beyond this
    cpus: float = 1.0
    pids: int = 256
    open_files: int = 1024
    output_mb: int = 100  # /output cap
    output_files: int = 1000  # most files copied back from /output
    tmp_mb: int = 512  # /tmp cap
    log_bytes: int = 1_000_000  # per stream; the rest is dropped and flagged
    gpus: int = 0  # 0: no GPU; -1: all GPUs; n: that many


@dataclass(frozen=True)
class RunSpec:
    """One program to run under the sandbox contract (see DESIGN.md, "Sandbox contract").

    ``submission_dir`` is mounted read-only at ``/submission`` (the working directory) and
    ``input_dir`` read-only at ``/input``. ``command`` runs inside the sandbox. For an image
    submission, ``image`` names the loaded image and ``command`` may be empty (the image's own
    entrypoint runs); otherwise ``image`` is the runtime image.
    """

    submission_dir: Path
    input_dir: Path
    command: tuple[str, ...] = ("python3", "main.py")
    image: str = RUNTIME_IMAGE
    env: dict[str, str] = field(default_factory=dict)  # only ARENA_* variables belong here
    limits: Limits = field(default_factory=Limits)
    labels: dict[str, str] = field(default_factory=dict)  # for finding leftovers (docker backend)
    use_image_entrypoint: bool = False  # True for image submissions


@dataclass(frozen=True)
class RunResult:
    """What one run did. Output files are copied to the ``output_dir`` given to ``run``."""

    failure: FailureClass | None
    message: str  # one sentence a participant can act on; empty on success
    exit_code: int | None
    timed_out: bool
    oom_killed: bool
    wall_seconds: float
    peak_memory_bytes: int | None
    stdout: str
    stderr: str
    logs_truncated: bool
    output_files: dict[str, int]  # relative path -> size in bytes
    output_truncated: bool  # the program hit the /output cap
    backend: str
    # /output entries not copied back: links, devices, and whatever lay beyond the caps
    output_skipped: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.failure is None
