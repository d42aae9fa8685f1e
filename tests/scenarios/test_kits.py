"""Starting kits: the example submissions run locally and pass the kit's validate.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

SLUGS = ["breast-cancer-membership", "discharge-linkage", "diabetes-attribute", "discharge-arena"]


@pytest.mark.parametrize("slug", SLUGS)
def test_examples_run_and_validate(bundles, tmp_path, slug):
    # A copy of the bundle: the kit writes local_run/ beside itself, as it would in a download.
    root = tmp_path / slug
    shutil.copytree(bundles / slug, root, ignore=shutil.ignore_patterns("hidden", "baselines"))
    kit = root / "starting_kit"
    tasks = json.loads((kit / "kit.json").read_text())["tasks"]
    for task in tasks:
        done = subprocess.run([sys.executable, "run_local.py", "--task", task], cwd=kit,
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"{slug} {task}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        assert "valid" in done.stdout and "NOT valid" not in done.stdout


def test_validate_rejects_a_broken_output(bundles, tmp_path):
    root = tmp_path / "kit"
    shutil.copytree(bundles / "discharge-linkage", root, ignore=shutil.ignore_patterns("hidden", "baselines"))
    kit = root / "starting_kit"
    subprocess.run([sys.executable, "run_local.py"], cwd=kit, check=True, capture_output=True, timeout=180)
    links = kit / "local_run/reidentification/output/links.csv"
    lines = links.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",1.7"  # a confidence outside [0, 1]
    links.write_text("\n".join(lines) + "\n")
    done = subprocess.run([sys.executable, "validate.py", str(links)], cwd=kit, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "links.csv line 2" in done.stderr and "confidence" in done.stderr


@pytest.mark.parametrize("slug", SLUGS)
def test_each_kit_says_what_to_install_and_ships_it(bundles, slug):
    """Every package the kit's own code imports is in its requirements.txt (or the standard library)."""
    import ast
    import re

    kit = bundles / slug / "starting_kit"
    readme = (kit / "README.md").read_text()
    assert "pip install -r requirements.txt" in readme
    required = {re.split(r"[<>=\s]", line, maxsplit=1)[0].lower()
                for line in (kit / "requirements.txt").read_text().splitlines() if line.strip() and not line.startswith("#")}
    assert {"numpy", "pandas", "scikit-learn", "scipy"} <= required
    distribution = {"sklearn": "scikit-learn"}
    local = {p.stem for p in kit.rglob("*.py")} | {p.name for p in kit.rglob("*") if p.is_dir()}
    imported = set()
    for source in kit.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {name for name in imported if name not in sys.stdlib_module_names and name not in local}
    third_party -= {"evaluation"}  # the copied validation code, found beside validate.py (arena_validation/)
    assert {distribution.get(name, name) for name in third_party} <= required, third_party
