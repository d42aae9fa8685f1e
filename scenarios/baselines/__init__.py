"""Organizer baselines: each folder is a code submission (``main.py`` at its root).

A baseline runs in the sandbox like any team's program, so it may use only the Python
standard library, numpy, pandas, scikit-learn and scipy, and nothing of this repository.
Code that several baselines share lives in ``_shared/`` and is copied next to each
``main.py`` when a bundle is built (see :func:`materialise`), the way a team would vendor
a helper module into its archive.
"""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE / "_shared"


def names() -> list[str]:
    return sorted(p.name for p in HERE.iterdir() if p.is_dir() and (p / "main.py").is_file())


def materialise(name: str, dest: Path) -> Path:
    """Write baseline ``name`` as a self-contained submission folder at ``dest``."""
    src = HERE / name
    if not (src / "main.py").is_file():
        raise KeyError(f"no baseline named {name!r}")
    dest.mkdir(parents=True, exist_ok=True)
    for folder in (src, SHARED):
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in {".py", ".json"}:
                shutil.copyfile(path, dest / path.name)
    return dest


def load(name: str):
    """Import baseline ``name``'s main.py as a module, e.g. to make an organizer release with it.

    Building a fixed release with the very code that runs as a baseline keeps the two from
    drifting apart.
    """
    import importlib.util
    import sys

    sys.path.insert(0, str(SHARED))
    try:
        spec = importlib.util.spec_from_file_location(f"scenarios_baseline_{name}", HERE / name / "main.py")
        assert spec is not None and spec.loader is not None  # a .py path always has a source loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SHARED))
    return module
