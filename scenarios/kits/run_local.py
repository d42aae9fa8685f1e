#!/usr/bin/env python3
"""Run a submission on this competition's public data the way the server runs it.

    python run_local.py SUBMISSION_DIR [--task TASK] [--defense DEFENSE_DIR] [--seed N]

It fills ``local_run/TASK/input`` with what the task shows a run in /input, runs
``python3 main.py`` inside SUBMISSION_DIR with ARENA_INPUT, ARENA_OUTPUT, ARENA_TASK,
ARENA_ROLE and ARENA_SEED set, and checks the output with ``validate.py``. It does not
sandbox anything: it runs your own code on your own machine.

In an arena the hidden records are not public, so an attack is rehearsed on the public
sample instead: half of it stands in for the defense's records, a quarter for the holdout
and a quarter for the auxiliary population. The defense (``--defense``, by default the
example defense) anonymizes its half, and the attack's inputs are built from that release
as the server builds them from every defense's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
BUNDLE = HERE.parent  # data/ sits next to starting_kit/ in the download and in the bundle
KIT = json.loads((HERE / "kit.json").read_text())
ROLE = {"tabular-anonymization": "defense"}


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")


def fresh_ids(rng: np.random.Generator, n: int, prefix: str) -> list[str]:
    return [f"{prefix}{x:06d}" for x in rng.choice(10**6, size=n, replace=False)]


def run(submission: Path, task: str, input_dir: Path, output_dir: Path, seed: int) -> None:
    if output_dir.exists():
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "PYTHONPATH")}
    env.update(ARENA_TASK=task, ARENA_ROLE=ROLE.get(task, "attack"), ARENA_INPUT=str(input_dir),
               ARENA_OUTPUT=str(output_dir), ARENA_SEED=str(seed))
    print(f"running {submission / 'main.py'} for {task} ...")
    subprocess.run([sys.executable, "main.py"], cwd=submission, env=env, check=True)


def fixed_inputs(task: str, dest: Path) -> None:
    for name, src in KIT["inputs"][task].items():
        shutil.copyfile(BUNDLE / src, dest / name)


def arena_inputs(task: str, dest: Path, defense: Path, seed: int) -> None:
    schema = KIT["schema"]
    sample = read(BUNDLE / KIT["inputs"]["tabular-anonymization"]["records.csv"])
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(sample))
    half, three_quarters = len(sample) // 2, (3 * len(sample)) // 4
    train, holdout, population = (sample.iloc[order[a:b]].reset_index(drop=True)
                                  for a, b in ((0, half), (half, three_quarters), (three_quarters, len(sample))))
    stage = dest.parent / "defense"
    (stage / "input").mkdir(parents=True, exist_ok=True)
    write(train, stage / "input" / "records.csv")
    (stage / "input" / "schema.json").write_text(json.dumps(schema, indent=2))
    run(defense, "tabular-anonymization", stage / "input", stage / "output", seed)
    release = read(stage / "output" / "release.csv")
    id_col = schema["id_column"]
    if task == "reidentification":
        release = release.drop(columns=[id_col], errors="ignore").sample(frac=1.0, random_state=seed)
        release.insert(0, "release_id", fresh_ids(rng, len(release), "R"))
        write(release, dest / "release.csv")
        shutil.copyfile(BUNDLE / KIT["inputs"]["reidentification"]["register.csv"], dest / "register.csv")
        return
    write(release, dest / "release.csv")
    both = pd.concat([train, holdout], ignore_index=True).sample(frac=1.0, random_state=seed)
    if task == "membership-inference":
        both = both.drop(columns=[id_col])
        both.insert(0, "candidate_id", fresh_ids(rng, len(both), "C"))
        write(both, dest / "candidates.csv")
        write(population, dest / "population.csv")
    elif task == "attribute-inference":
        both = both.drop(columns=[id_col, schema["sensitive"][0]])
        both.insert(0, "target_id", fresh_ids(rng, len(both), "T"))
        write(both, dest / "targets.csv")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission", type=Path, nargs="?", default=None)
    parser.add_argument("--task", choices=KIT["tasks"], default=None)
    parser.add_argument("--defense", type=Path, default=None, help="arena: the defense whose release an attack targets")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    task = args.task or KIT["tasks"][0]
    submission = (args.submission or HERE / KIT["examples"][task]).resolve()
    base = HERE / "local_run" / task
    if base.exists():
        shutil.rmtree(base)
    input_dir = base / "input"
    input_dir.mkdir(parents=True)
    (input_dir / "schema.json").write_text(json.dumps(KIT["schema"], indent=2))
    if KIT["arena"] and task != "tabular-anonymization":
        arena_inputs(task, input_dir, (args.defense or HERE / KIT["examples"]["tabular-anonymization"]).resolve(), args.seed)
    else:
        fixed_inputs(task, input_dir)
    for name, content in KIT["task_files"].get(task, {}).items():
        (input_dir / name).write_text(json.dumps(content, indent=2))
    run(submission, task, input_dir, base / "output", args.seed)
    output = base / "output" / KIT["outputs"][task]
    sys.path.insert(0, str(HERE))
    from validate import validate

    status = validate(task, output, input_dir)
    print(f"{output}: {'valid' if status == 0 else 'NOT valid'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
