"""The baselines as players of a targeted membership game, run in-process.

:func:`evaluation.games.game_run` takes a callable that runs a defense on one training set
and one that runs an attack on one round. Here they call the baselines' own functions —
the code that runs in the sandbox as a submission — without a sandbox, for tests,
benchmarks and the demo figures. The sandbox's per-run cost is not in what they measure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import numpy as np
import pandas as pd

from scenarios import baselines

GAME_DEFENSES = ("gaussian_copula", "dp_marginals", "no_protection")
GAME_ATTACKS = ("shadow_membership", "extreme_membership")


def _with_types(schema: dict) -> dict:
    return {**schema, "types": {c["name"]: c["type"] for c in schema["columns"]}}


def baseline_sha256(name: str) -> str:
    """sha256 over the baseline's files, as the cache key's defense part."""
    digest = hashlib.sha256()
    folder = baselines.HERE / name
    for path in sorted([*folder.iterdir(), *baselines.SHARED.iterdir()]):
        if path.is_file() and path.suffix in {".py", ".json"}:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def baseline_defense(name: str, schema: dict, **overrides) -> Callable[[pd.DataFrame, int], pd.DataFrame]:
    """``defense(training_set, seed) -> release`` running baseline ``name``'s code."""
    if name not in GAME_DEFENSES:
        raise KeyError(f"no in-process game defense {name!r} (known: {', '.join(GAME_DEFENSES)})")
    module = baselines.load(name)
    params_file = baselines.HERE / name / "params.json"
    params = {**(json.loads(params_file.read_text()) if params_file.is_file() else {}), **overrides}
    full = _with_types(schema)
    columns = [c["name"] for c in schema["columns"]]

    def defense(training_set: pd.DataFrame, seed: int) -> pd.DataFrame:
        records = training_set.astype(str)
        rng = np.random.default_rng(seed)
        if name == "gaussian_copula":
            return module.synthesize(records, full, rng)
        if name == "dp_marginals":
            return module.synthesize(records, full, rng, float(params["epsilon"]), int(params["bins"]),
                                     float(params["selection_share"]), float(params["domain_share"]), float(params["delta"]))
        return records[columns].reset_index(drop=True)

    return defense


def baseline_attack(name: str, schema: dict):
    """``attack(round) -> scores`` running baseline ``name``'s game mode."""
    if name not in GAME_ATTACKS:
        raise KeyError(f"no game attack {name!r} (known: {', '.join(GAME_ATTACKS)})")
    module = baselines.load(name)
    full = _with_types(schema)

    def attack(game_round) -> np.ndarray:
        return module.game_scores(game_round.target.astype(str), game_round.population.astype(str),
                                  game_round.releases, game_round.shadow, full)

    return attack
