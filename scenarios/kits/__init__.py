"""Starting kits: what a team downloads next to the public data.

A kit holds a README, a ``requirements.txt``, one example submission per task (simple but real approaches, each
different from the organizer baselines), ``run_local.py`` to run a submission on the public
data as the server would, and ``validate.py`` that checks an output with the server's own
validation code, copied into ``arena_validation/`` (see :mod:`scenarios.validation_code`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from scenarios import validation_code

HERE = Path(__file__).resolve().parent

OUTPUTS = {
    "tabular-anonymization": "release.csv",
    "membership-inference": "predictions.csv",
    "reidentification": "links.csv",
    "attribute-inference": "guesses.csv",
}
EXAMPLES = {
    "tabular-anonymization": "coarsening_defense",
    "membership-inference": "classifier_membership",
    "reidentification": "exact_linkage",
    "attribute-inference": "forest_attribute",
}
FOLDER = {
    "tabular-anonymization": "example_defense",
    "membership-inference": "example_membership",
    "reidentification": "example_reidentification",
    "attribute-inference": "example_attribute",
}
WRITES = {
    "tabular-anonymization": "`release.csv`: the schema's columns (id column optional); generalised values allowed",
    "membership-inference": "`predictions.csv`: `candidate_id,score`, one row per candidate, score in [0, 1] (higher: more likely a member)",
    "reidentification": "`links.csv`: `release_id,identity_id,confidence`, at most one row per release row, confidence in [0, 1]",
    "attribute-inference": "`guesses.csv`: `target_id,guess`, one row per target",
}
SEES = {
    "tabular-anonymization": "`records.csv` (the hidden training records; the public sample in the check run) and `schema.json`",
    "membership-inference": "`release.csv`, `candidates.csv`, `population.csv` and `schema.json`",
    "reidentification": "`release.csv`, `register.csv` and `schema.json`",
    "attribute-inference": "`release.csv`, `targets.csv` and `schema.json`",
}


def tasks_of(task: str, attack_tasks: list[str]) -> list[str]:
    return [task, *attack_tasks]


def readme(*, slug: str, title: str, task: str, attack_tasks: list[str], accepts_file: bool) -> str:
    tasks = tasks_of(task, attack_tasks)
    arena = bool(attack_tasks)
    lines = [
        f"# Starting kit: {title}",
        "",
        f"Competition `{slug}`. This kit runs a submission on the public data as the server does",
        "and checks its output with the server's own validation code, all offline.",
        "",
        "## Install",
        "",
        "```",
        "pip install -r requirements.txt    # numpy, pandas, scikit-learn, scipy: what the server runs",
        "```",
        "",
        "`requirements.txt` lists the Python packages of the server's runtime image (its oldest",
        "supported versions); the examples, `run_local.py` and `validate.py` need nothing else. A",
        "submission can use only these: the sandbox has no network to install more. The `arena`",
        "command is part of AnoMed Arena itself (`pip install -e .` in its source tree).",
        "",
        "## Get the data and submit",
        "",
        "```",
        f"arena download {slug}                 # public data and this kit",
        f"arena submit {slug} submission.zip --wait   # upload, then follow the run to its score",
        "```",
        "",
        "A code submission is a zip (or tar.gz) with `main.py` at its root. It runs with Python 3",
        "and numpy, pandas, scikit-learn and scipy, without network, with the limits the",
        "competition page lists (here: 300 s, 2 GB memory, 1 CPU). It reads its files from the",
        "folder in `ARENA_INPUT` (`/input`), writes to `ARENA_OUTPUT` (`/output`), and should",
        "draw any randomness from `ARENA_SEED`.",
        "",
    ]
    if accepts_file:
        lines += [
            "The release here is fixed, so you may also upload the output file itself instead of code:",
            f"`arena submit {slug} {OUTPUTS[task]} --wait`.",
            "",
        ]
    if arena:
        lines += [
            "This is an arena: defenses and attacks are scored against each other. Submit a",
            "defense with `--role defense`, an attack with `--role attack` (and the attack's task",
            "where the command asks for it). Every attack runs against every defense's release.",
            "",
        ]
    lines += ["## Tasks", ""]
    for t in tasks:
        lines += [
            f"### `{t}`",
            "",
            f"- the run sees {SEES[t]};",
            f"- it writes {WRITES[t]};",
            f"- example: `{FOLDER[t] if arena else 'example_submission'}/main.py`.",
            "",
        ]
    lines += [
        "## Run and check locally",
        "",
        "```",
    ]
    for t in tasks:
        folder = FOLDER[t] if arena else "example_submission"
        flag = f" --task {t}" if arena else ""
        lines.append(f"python run_local.py {folder}{flag}")
    lines += [
        "python validate.py local_run/TASK/output/FILE --input local_run/TASK/input",
        "```",
        "",
        "`run_local.py` builds `local_run/TASK/input/` from `../data/` the way the server builds",
        "`/input`, runs `main.py` with the `ARENA_*` variables set, and validates what it wrote.",
    ]
    if arena:
        lines += [
            "For an attack it first runs a defense (`--defense DIR`, default the example defense)",
            "on half of the public sample and builds the attack's inputs from that release, since",
            "the real training records are hidden.",
        ]
    lines += [
        "",
        "`validate.py` uses `arena_validation/`, a copy of the server's task types: if it passes",
        "here, the server accepts the format. It says nothing about the score.",
        "",
    ]
    return "\n".join(lines)


def write_kit(dest: Path, *, slug: str, title: str, task: str, attack_tasks: list[str], schema: dict,
              inputs: dict[str, dict[str, str]], accepts_file: bool, task_files: dict[str, dict] | None = None) -> None:
    """Fill ``dest`` with the kit.

    ``inputs`` maps task -> /input file name -> bundle path; ``task_files`` maps task ->
    /input file name -> JSON content the task type writes itself (attribute inference's
    ``task.json``).
    """
    dest.mkdir(parents=True, exist_ok=True)
    tasks = tasks_of(task, attack_tasks)
    arena = bool(attack_tasks)
    examples = {}
    for t in tasks:
        folder = FOLDER[t] if arena else "example_submission"
        shutil.copytree(HERE / "examples" / EXAMPLES[t], dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
        examples[t] = folder
    for script in ("validate.py", "run_local.py", "requirements.txt"):
        shutil.copyfile(HERE / script, dest / script)
    kit = {
        "slug": slug,
        "title": title,
        "arena": arena,
        "tasks": tasks,
        "examples": examples,
        "inputs": inputs,
        "task_files": task_files or {},
        "outputs": {t: OUTPUTS[t] for t in tasks},
        "task_of_output": {OUTPUTS[t]: t for t in tasks},
        "schema": schema,
    }
    (dest / "kit.json").write_text(json.dumps(kit, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (dest / "schema.json").write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (dest / "README.md").write_text(readme(slug=slug, title=title, task=task, attack_tasks=attack_tasks, accepts_file=accepts_file), encoding="utf-8")
    validation_code.copy_into(dest / "arena_validation")
