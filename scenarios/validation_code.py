"""Copy the server's output validation into a starting kit.

A team's ``validate.py`` must accept and reject exactly what the server does, so it runs
the server's own task types (``evaluation/task_types/``) and the metrics they use
(``evaluation/metrics/``), copied into the kit at build time. Those packages import nothing
of Django; any other ``evaluation`` module they import is followed and copied too, so the
kit keeps working as the task types grow. ``evaluation/__init__.py`` itself is replaced by
an empty one: the app's own may set up Django, which a kit does not have.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOTS = ("evaluation/task_types", "evaluation/metrics")


def _module_file(root: Path, dotted: str) -> list[Path]:
    """The files that make up module ``dotted`` (a package brings its whole folder)."""
    rel = Path(*dotted.split("."))
    if (root / rel).is_dir():
        return sorted(p for p in (root / rel).rglob("*.py") if "__pycache__" not in p.parts and "tests" not in p.parts)
    if (root / rel).with_suffix(".py").is_file():
        return [(root / rel).with_suffix(".py")]
    return []


def _imports(path: Path, root: Path) -> set[str]:
    """``evaluation.*`` modules imported by ``path``, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    return {m for m in found if m == "evaluation" or m.startswith("evaluation.")}


def files_needed(root: Path = REPO) -> list[Path]:
    todo = [p for r in ROOTS for p in _module_file(root, r.replace("/", "."))]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for mod in sorted(_imports(path, root)):
            if mod != "evaluation":
                todo.extend(_module_file(root, mod))
    return sorted(seen)


def copy_into(dest: Path, root: Path = REPO) -> list[str]:
    """Copy the validation code under ``dest`` (a folder put on sys.path); returns the paths."""
    copied = []
    for path in files_needed(root):
        rel = path.relative_to(root)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        copied.append(rel.as_posix())
    # Package markers, so ``import evaluation.task_types`` works even where a folder lacks one.
    for rel in {Path(c).parent for c in copied}:
        while rel.parts:
            init = dest / rel / "__init__.py"
            if not init.exists():
                init.write_text('"""Copied from the AnoMed Arena server for offline validation."""\n')
            rel = rel.parent
    return copied
