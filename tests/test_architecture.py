"""The shape of the code: the import graph of the project's own modules, read statically.

Every ``import`` counts, at module level or inside a function: an import hidden in a
function still ties two modules together, it only postpones the failure. So the graph has
no cycle at all, no module reaches for another module's ``_private`` name, and the two
outer layers (``sandbox/`` and ``evaluation/metrics/``) stay free of Django and the apps.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "competitions", "submissions", "evaluation", "sandbox", "arena_cli", "scenarios")
APPS = ("config", "competitions", "submissions", "evaluation", "arena_cli", "scenarios")
PURE_LAYERS = ("sandbox", "evaluation.metrics")

# Private names shared inside a package that belongs to another piece of work; each entry is
# (importing module, imported module, name). The list may only shrink.
KNOWN_PRIVATE_IMPORTS = {
    # the stream helpers that sandbox/images.py and sandbox/output.py borrow from sandbox/archive.py
    # move to a module of their own with the split of sandbox/archive.py
    *{(module, "sandbox.archive", name) for module in ("sandbox.images", "sandbox.output")
      for name in ("_BoundedReader", "_clean_name", "_StreamBudgetExceeded")},
    # the metrics package's internals (a package-private module and constant), left as they are
    ("evaluation.metrics.risks._results", "evaluation.metrics.intervals", "_z"),
    ("evaluation.metrics.risks.singling_out", "evaluation.metrics._columns", "_BLOCK_CELLS"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            modules[_module_name(path)] = path
    return modules


MODULES = _project_modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute name an ``ImportFrom`` refers to."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _project_target(name: str) -> str | None:
    """The project module ``name`` lives in (itself, or the nearest package above it)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import in ``module``."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in MODULES:
                    found.append((submodule, None, node.lineno))
                else:
                    found.append((source, alias.name, node.lineno))
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for module in MODULES:
        for imported, _, _ in _imports(module):
            target = _project_target(imported)
            # A package's __init__ importing its own submodules is how a package speaks; a
            # submodule importing its package's __init__ for a sibling would be a cycle.
            if target is not None and target != module and not (_is_package(module) and target.startswith(module + ".")):
                graph[module].add(target)
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(graph[node]):
            if colour[nxt] == GREY:
                return stack[stack.index(nxt):] + [nxt]
            if colour[nxt] == WHITE:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(graph):
        if colour[node] == WHITE:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_covers_the_project():
    assert "evaluation.pipeline" in MODULES
    assert "sandbox" in MODULES
    assert _graph()["evaluation.services"] >= {"evaluation.pipeline", "evaluation.arena"}
    assert "evaluation.services" not in _graph()["evaluation.arena.scheduling"]


def test_no_import_cycle_among_project_modules():
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_reports_the_path():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _find_cycle(graph) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_another_modules_private_names():
    offences = []
    for module in MODULES:
        for imported, name, line in _imports(module):
            target = _project_target(imported)
            if target is None or target == module:
                continue
            private = name if name is not None else imported.rpartition(".")[2]
            if (module, imported, name) in KNOWN_PRIVATE_IMPORTS:
                continue
            if private.startswith("_") and not private.startswith("__"):
                offences.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {imported}.{name or ''}".rstrip("."))
    assert not offences, "\n".join(offences)


def test_no_module_uses_another_modules_private_attributes():
    """``from x import y`` then ``y._helper(...)``: the same reach, spelt as an attribute."""
    offences = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _resolve(module, node)
                for alias in node.names:
                    if f"{source}.{alias.name}" in MODULES:
                        aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in MODULES and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__") and aliases[node.value.id] != module):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert not offences, "\n".join(offences)


def test_sandbox_and_metrics_import_nothing_of_django_or_the_apps():
    offences = []
    for module in MODULES:
        if not any(module == layer or module.startswith(layer + ".") for layer in PURE_LAYERS):
            continue
        layer = next(layer for layer in PURE_LAYERS if module == layer or module.startswith(layer + "."))
        for imported, _, line in _imports(module):
            top = imported.split(".")[0]
            inside = imported == layer or imported.startswith(layer + ".")
            if top in ("django", "rest_framework", "channels") or (top in APPS and not inside):
                offences.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {imported}")
    assert not offences, "\n".join(offences)
