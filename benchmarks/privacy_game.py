"""What a targeted membership game costs, and what it finds, for one defense.

Plays the game of :mod:`evaluation.games` on a scenario's data: targets by the ``outliers``
rule (the most isolated records of the population pool plus random controls), R training
sets with and R without each target, the defense run on each, the attack guessing each
release with the other fold's labelled releases as shadows. Prints the per-target results
(advantage with its 95% interval, TPR at FPR 0.1 with its interval, AUC, ε lower bound),
the worst target / top decile / average, and the cost: defense runs, attack runs, CPU
seconds and wall time.

The defense and the attack are the baselines' own code, called in-process
(:mod:`scenarios.games`). What that excludes: the sandbox's per-run cost — a container
start, the Python imports inside it, writing the training set and reading the release back —
which ``benchmarks/container_lifecycle.py`` and ``benchmarks/evaluation_overhead.py``
measure; multiply it by the runs printed here for a game run through the pipeline.

    python benchmarks/privacy_game.py [--scenario discharge-arena] [--defense gaussian_copula]
        [--attack shadow_membership] [--targets 10] [--runs 50] [--training-size 1000] [--json FILE] [--cache DIR]

``--scenario breast-cancer-membership`` plays on the 569 biopsies (training sets of 200).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluation.games import FolderCache, GameSpec, game_run, game_summary, targets_select  # noqa: E402
from scenarios.games import GAME_ATTACKS, GAME_DEFENSES, baseline_attack, baseline_defense, baseline_sha256  # noqa: E402

SCENARIOS = ("discharge-arena", "breast-cancer-membership")


def scenario_pool(slug: str) -> tuple[pd.DataFrame, dict, int]:
    """The population pool (records with ids), the schema and the default training-set size."""
    if slug == "discharge-arena":
        from scenarios.discharge_arena.generate import bundle

        b, _ = bundle()
        tables = {t.name: t.frame for t in b.tables}
        pool = pd.concat([tables["train"], tables["holdout"]], ignore_index=True).astype(str)
        return pool, b.schema, 1000
    from scenarios.breast_cancer.generate import load

    frame, schema = load()
    pool = frame.copy()
    pool.insert(0, "record_id", [f"B{i:03d}" for i in range(len(frame))])
    return pool, schema, 200


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--scenario", choices=SCENARIOS, default="discharge-arena")
    parser.add_argument("--defense", choices=GAME_DEFENSES, default="gaussian_copula")
    parser.add_argument("--attack", choices=GAME_ATTACKS, default="shadow_membership")
    parser.add_argument("--targets", type=int, default=10, help="half outliers, half random controls (default 10)")
    parser.add_argument("--runs", type=int, default=50, help="R: releases with, and as many without, each target")
    parser.add_argument("--training-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--cache", type=Path, help="keep releases in this folder: a second attack on the same game costs no defense run")
    args = parser.parse_args(argv)

    started_wall, started_cpu = time.perf_counter(), time.process_time()
    pool, schema, default_size = scenario_pool(args.scenario)
    types = {c["name"]: c["type"] for c in schema["columns"]}
    outliers = (args.targets + 1) // 2
    targets = targets_select(pool=pool, types=types, id_column=schema["id_column"], n_outliers=outliers,
                             n_controls=args.targets - outliers, seed=args.seed)
    setup_wall, setup_cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    spec = GameSpec(runs=args.runs, training_size=args.training_size or default_size, seed=args.seed)
    print(f"{args.scenario}: pool of {len(pool)} records, {len(targets)} targets, R = {spec.runs}, "
          f"training sets of {spec.training_size}; defense {args.defense}, attack {args.attack}")
    print(f"data and target selection: {setup_wall:.1f} s wall, {setup_cpu:.1f} s CPU")

    wall, cpu = time.perf_counter(), time.process_time()
    result = game_run(pool=pool, targets=targets, spec=spec, defense=baseline_defense(args.defense, schema),
                      defense_sha256=baseline_sha256(args.defense), attack=baseline_attack(args.attack, schema),
                      id_column=schema["id_column"], cache=FolderCache(args.cache) if args.cache else None,
                      progress=lambda line: print("  " + line, flush=True))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    print()
    print(f"{'target':<10} {'reason':<8} {'isol.':>6} {'advantage [95% CI]':>24} {'TPR@FPR0.1 [95% CI]':>24} {'AUC':>5} {'ε ≥':>5}")
    for r in result.targets:
        print(f"{r.record_id:<10} {r.reason:<8} {r.isolation:>6.2f} {r.advantage:>8.2f} [{r.advantage_ci[0]:>5.2f}, {r.advantage_ci[1]:>5.2f}]"
              f" {r.tpr_at_fpr_0_1:>8.2f} [{r.tpr_at_fpr_0_1_ci[0]:>5.2f}, {r.tpr_at_fpr_0_1_ci[1]:>5.2f}] {r.auc:>5.2f} {r.epsilon_lower_bound:>5.2f}")
    s = game_summary(result.targets)
    print()
    print(f"worst target {s.worst.record_id} ({s.worst.reason}): advantage {s.worst.advantage:.2f} "
          f"[{s.worst_ci[0]:.2f}, {s.worst_ci[1]:.2f}] (simultaneous over {len(result.targets)} targets); "
          f"top decile {s.top_decile_advantage:.2f}; "
          f"average {s.average_advantage:.2f} (outliers {s.outlier_average_advantage:.2f}, controls {s.control_average_advantage:.2f}); "
          f"largest ε lower bound {s.max_epsilon_lower_bound:.2f}")
    c = result.cost
    print(f"cost: {c.defense_runs} defense runs ({c.cached_runs} cached), {c.attack_runs} attack runs; "
          f"{cpu:.1f} s CPU, {wall:.1f} s wall (defense {c.defense_seconds:.1f} s, attack {c.attack_seconds:.1f} s; "
          f"{1000 * c.defense_seconds / max(c.defense_runs, 1):.0f} ms per defense run)")
    if args.json:
        args.json.write_text(json.dumps({
            "scenario": args.scenario, "defense": args.defense, "attack": args.attack, "spec": asdict(spec),
            "targets": [r.as_dict() for r in result.targets], "summary": s.as_dict(),
            "cost": {**asdict(c), "cpu_seconds": cpu, "wall_seconds": wall},
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
