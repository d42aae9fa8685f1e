"""Spare containers for the Docker backend: the next run's container, started before it is asked for.

Creating and starting a container is most of what the engine costs per run (0.2-0.3 s here;
``docker run IMAGE true`` is little else). A worker runs one program after another with the same
image and limits, so after each run the backend starts the *next* container in the background,
with exactly the restrictions of :func:`sandbox.docker_backend.container_kwargs` and nothing to
run yet. The next run of that shape (image and limits) takes it instead of creating one: the
run's files are hard-linked into the two host folders the spare has bind-mounted read-only at
``/submission`` and ``/input``, and the program is exec'd with the run's environment.

A spare serves one run and is then removed like any other container: nothing is shared between
runs (its ``/output``, ``/tmp`` and processes are its own, and nothing ran in it before but the
keeper). What differs from a cold start:

- the spare exists before its run: it carries the sandbox label, a run id and a deadline, but not
  the run's own labels (the engine cannot add labels to a container later);
- the ``ARENA_*`` variables are given to the exec'd program rather than to the container, which
  the program cannot tell apart;
- ``/submission`` and ``/input`` are hard links of the caller's files, so a tree on another
  filesystem, or holding anything but folders and regular files, runs cold instead.

A spare older than :data:`MAX_AGE` is removed unused (the runtime image may have been rebuilt
since), one that died while idle is replaced by a cold start, and the spare is removed when the
process exits; a killed worker's spare is found by ``cleanup_leftovers`` after its deadline.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .spec import Limits, RunSpec

SPARE_PREFIX = "arena-spare-"  # a spare's private folder of hard links (see cleanup_leftovers)

MAX_AGE = 600.0  # seconds a spare may wait for its run
LABEL_SPARE = "org.anomed-arena.spare"


@dataclass
class Spare:
    container: str  # id
    root: Path  # holds submission/ and input/, bind-mounted at /submission and /input
    created: float  # time.monotonic()

    @property
    def submission_dir(self) -> Path:
        return self.root / "submission"

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    def fill(self, spec: RunSpec) -> bool:
        """Hard-link ``spec``'s submission and input trees into the spare's folders.

        False when they cannot be linked (another filesystem, an entry that is neither a
        folder nor a regular file, a file this process may not link): the spare is then unfit
        for any run and the caller removes it.
        """
        try:
            for source, target in ((spec.submission_dir, self.submission_dir), (spec.input_dir, self.input_dir)):
                _link_tree(Path(source), target)
            return True
        except (OSError, _CannotLink):
            return False


Shape = tuple[str, Limits]


def shape_of(spec: RunSpec) -> Shape | None:
    """What a spare must match to serve ``spec``; None for image submissions (one image each)."""
    if spec.use_image_entrypoint:
        return None
    return (spec.image, spec.limits)


class SparePool:
    """At most one spare, of the shape of the latest run, started on a thread of its own.

    ``start(spec, root, run_id) -> container id`` creates and starts a container for a spec
    whose folders are ``root``'s; ``remove(spare)`` hands a spare to the backend's removal.
    """

    def __init__(self, start: Callable[[RunSpec, str, float], str], remove: Callable[[Spare], None]):
        self._start = start
        self._remove = remove
        self._cond = threading.Condition()
        self._shape: Shape | None = None
        self._spare: Spare | None = None
        self._pending: str | None = None  # id of the start under way, if any
        self._threads: set[threading.Thread] = set()

    def take(self, spec: RunSpec, *, wait: float) -> Spare | None:
        """The spare for ``spec``'s shape, waiting up to ``wait`` s for one being started
        (it is nearer to ready than a cold start would be); None when there is none."""
        shape = shape_of(spec)
        if shape is None:
            return None
        deadline = time.monotonic() + wait
        with self._cond:
            while self._pending is not None and self._shape == shape and self._spare is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            spare = self._spare
            if spare is None or self._shape != shape:
                return None
            self._spare = None
        if time.monotonic() - spare.created > MAX_AGE:
            self._remove(spare)
            return None
        return spare

    def replenish(self, spec: RunSpec) -> None:
        """Start a spare of ``spec``'s shape in the background unless one is there or coming."""
        shape = shape_of(spec)
        if shape is None:
            return
        with self._cond:
            if self._shape == shape and (self._spare is not None or self._pending is not None):
                return
            old, self._spare = self._spare, None
            self._shape = shape
            self._pending = token = uuid.uuid4().hex
        if old is not None:
            self._remove(old)
        thread = threading.Thread(target=self._make, args=(spec, shape, token), name="sandbox-spare", daemon=True)
        with self._cond:
            self._threads.add(thread)
        thread.start()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until no spare is being started (it is up, or failed)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending is not None and (remaining := deadline - time.monotonic()) > 0:
                self._cond.wait(remaining)

    def close(self, *, wait: float = 60.0) -> None:
        """Remove the spare; a start under way is waited for (up to ``wait`` s) and removed too,
        so that none is left behind by a process that exits right after its last run."""
        with self._cond:
            old, self._spare = self._spare, None
            self._shape = self._pending = None
            threads = list(self._threads)
            self._cond.notify_all()
        if old is not None:
            self._remove(old)
        for thread in threads:
            thread.join(wait)

    def _make(self, spec: RunSpec, shape: Shape, token: str) -> None:
        spare = None
        try:
            root = Path(tempfile.mkdtemp(prefix=SPARE_PREFIX))
            spare = Spare(container="", root=root, created=time.monotonic())
            spare.submission_dir.mkdir()
            spare.input_dir.mkdir()
            template = replace(spec, submission_dir=spare.submission_dir, input_dir=spare.input_dir,
                               env={}, labels={LABEL_SPARE: "1"})
            # Its deadline must cover the wait for its run as well as the run itself.
            spare.container = self._start(template, uuid.uuid4().hex[:16], time.time() + MAX_AGE)
        except Exception:  # noqa: BLE001 - no spare then: the next run starts cold and reports why
            pass
        with self._cond:
            current = self._pending == token
            if current:
                self._pending = None
                if spare is not None and spare.container:
                    self._spare, spare = spare, None
            self._cond.notify_all()
        if spare is not None:  # failed half-way, or no longer wanted
            self._remove(spare)
        with self._cond:
            self._threads.discard(threading.current_thread())


class _CannotLink(Exception):
    pass


def _link_tree(source: Path, target: Path) -> None:
    """Recreate ``source``'s folders in ``target`` (which exists, empty) with hard links to its files.

    Modes are copied, so the run user sees the same permissions as on the caller's tree.
    """
    if os.lstat(source).st_dev != os.lstat(target).st_dev:
        raise _CannotLink(f"{source} is on another filesystem than {target}")
    for root, dirs, files in os.walk(source):
        relative = Path(root).relative_to(source)
        for name in dirs:
            entry = Path(root) / name
            info = os.lstat(entry)
            if not stat.S_ISDIR(info.st_mode):  # a link to a folder: os.walk lists it as one
                raise _CannotLink(f"{entry} is not a folder")
            os.mkdir(target / relative / name)
        for name in files:
            entry = Path(root) / name
            if not stat.S_ISREG(os.lstat(entry).st_mode):
                raise _CannotLink(f"{entry} is not a regular file")
            os.link(entry, target / relative / name, follow_symlinks=False)
    # Children first: a folder whose mode shuts this process out is reached before it is set.
    for root, _, _ in os.walk(source, topdown=False):
        os.chmod(target / Path(root).relative_to(source), stat.S_IMODE(os.lstat(root).st_mode))


def remove_tree(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
