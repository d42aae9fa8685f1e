"""Every baseline that claims differential privacy is audited: 300 releases with and 300
without its most exposed record, on a fixed pair of swap-one neighbouring datasets, and the
empirical ε lower bound of the strongest baseline attack must stay within the guarantee.

The DP marginals baseline is ε-DP for adding or removing one record, hence 2ε for swapping
one. The audit runs the baseline's own code in-process on a small table so it fits in CI.
"""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.games import GameSpec, game_run, game_summary, targets_select
from scenarios.breast_cancer.generate import load
from scenarios.games import baseline_attack, baseline_defense, baseline_sha256

RUNS = 300
EPSILON = 1.0
COLUMNS = ["mean_radius", "mean_texture", "mean_area", "diagnosis"]


@pytest.fixture(scope="module")
def small_table():
    frame, schema = load()
    pool = frame[COLUMNS].iloc[:160].reset_index(drop=True)
    pool.insert(0, "record_id", [f"P{i:03d}" for i in range(len(pool))])
    small = {**schema, "columns": [c for c in schema["columns"] if c["name"] in COLUMNS]}
    return pool, small


def audit(pool: pd.DataFrame, schema: dict, defense, defense_sha256: str, attack_name: str) -> float:
    types = {c["name"]: c["type"] for c in schema["columns"]}
    target = targets_select(pool=pool, types=types, id_column="record_id", n_outliers=1, n_controls=0)
    spec = GameSpec(runs=RUNS, training_size=100, seed=7, folds=2, fixed_base=True)
    result = game_run(pool=pool, targets=target, spec=spec, defense=defense, defense_sha256=defense_sha256,
                      attack=baseline_attack(attack_name, schema), id_column="record_id")
    return game_summary(result.targets).max_epsilon_lower_bound


def leaky(schema: dict, defense_of):
    """The baseline as it was: every column's domain read from the training records."""
    def defense(training_set: pd.DataFrame, seed: int) -> pd.DataFrame:
        columns = []
        for c in schema["columns"]:
            values = training_set[c["name"]].astype(str)
            if c["type"] == "numeric":
                x = pd.to_numeric(values)
                columns.append({**c, "min": float(x.min()), "max": float(x.max())})
            else:
                columns.append({**c, "categories": sorted(set(values))})
        return defense_of({**schema, "columns": columns})(training_set, seed)
    return defense


@pytest.mark.slow
@pytest.mark.parametrize("attack_name", ["extreme_membership", "shadow_membership"])
def test_dp_marginals_stays_within_its_guarantee(small_table, attack_name):
    pool, schema = small_table
    defense = baseline_defense("dp_marginals", schema, epsilon=EPSILON)
    epsilon_lb = audit(pool, schema, defense, baseline_sha256("dp_marginals"), attack_name)
    assert epsilon_lb <= 2 * EPSILON


@pytest.mark.slow
def test_dp_marginals_with_privately_estimated_ranges_stays_within_its_guarantee(small_table):
    pool, schema = small_table
    undeclared = {**schema, "columns": [{k: v for k, v in c.items() if k not in ("min", "max")} for c in schema["columns"]]}
    defense = baseline_defense("dp_marginals", undeclared, epsilon=EPSILON)
    assert audit(pool, undeclared, defense, "estimated-ranges", "extreme_membership") <= 2 * EPSILON


@pytest.mark.slow
def test_the_audit_catches_a_domain_read_from_the_records(small_table):
    """The defect the audit exists for: bin edges from the data let the outlier set the range."""
    pool, schema = small_table
    defense = leaky(schema, lambda s: baseline_defense("dp_marginals", s, epsilon=EPSILON))
    assert audit(pool, schema, defense, "leaky", "extreme_membership") > 2 * EPSILON
