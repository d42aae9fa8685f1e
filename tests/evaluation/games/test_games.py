"""The game engine: target rules, training sets, the cache, the figures and the files an
attack reads. Defenses and attacks here are small functions with known behaviour, so each
figure can be checked against what it must be."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.games import GameSpec, MemoryCache, game_run, game_summary, targets_select
from evaluation.games.engine import AttackRound, training_sets
from evaluation.games.files import predictions_read, round_write
from evaluation.games.scoring import advantage_interval

TYPES = {"age": "numeric", "stay": "numeric", "ward": "categorical"}


@pytest.fixture
def pool() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({
        "record_id": [f"R{i:03d}" for i in range(n)],
        "age": rng.integers(20, 80, n).astype(str),
        "stay": rng.integers(1, 10, n).astype(str),
        "ward": rng.choice(["A", "B", "C"], n),
    })
    frame.loc[17, "stay"] = "297"  # the one very long stay
    return frame


def copy_defense(training_set: pd.DataFrame, seed: int) -> pd.DataFrame:
    return training_set.drop(columns=["record_id"]).reset_index(drop=True)


def max_stay_attack(game_round: AttackRound) -> list[float]:
    """Member when the release's longest stay is the target's."""
    return [float(r["stay"].astype(int).max() >= int(game_round.target["stay"])) for r in game_round.releases]


def coin_attack(game_round: AttackRound) -> list[float]:
    rng = np.random.default_rng(len(game_round.shadow))
    return list(rng.random(len(game_round.releases)))


def test_outlier_rule_puts_the_long_stay_first_and_adds_random_controls(pool):
    targets = targets_select(pool=pool, types=TYPES, id_column="record_id", n_outliers=2, n_controls=3, seed=4)
    assert targets[0].record_id == "R017" and targets[0].reason == "outlier"
    assert [t.reason for t in targets] == ["outlier", "outlier", "control", "control", "control"]
    assert targets_select(pool=pool, types=TYPES, id_column="record_id", n_outliers=2, n_controls=3, seed=4) == targets


def test_listed_rule_and_its_errors(pool):
    listed = targets_select(pool=pool, types=TYPES, id_column="record_id", rule="listed", listed=["R005", "R017"])
    assert [(t.record_id, t.reason) for t in listed] == [("R005", "listed"), ("R017", "listed")]
    with pytest.raises(ValueError, match="not in the population pool: R999"):
        targets_select(pool=pool, types=TYPES, id_column="record_id", rule="listed", listed=["R999"])
    with pytest.raises(ValueError, match="unknown target rule 'loudest'"):
        targets_select(pool=pool, types=TYPES, id_column="record_id", rule="loudest")


def test_training_sets_are_swap_one_neighbours(pool):
    target = targets_select(pool=pool, types=TYPES, id_column="record_id", n_outliers=1, n_controls=0)[0]
    others = np.array([i for i in range(len(pool)) if i != target.position])
    spec = GameSpec(runs=4, training_size=50, seed=1)
    with_t, without = training_sets(pool=pool, target=target, others=others, spec=spec, pair=0)
    assert len(with_t) == len(without) == 50
    assert "R017" in set(with_t["record_id"]) and "R017" not in set(without["record_id"])
    assert len(set(with_t["record_id"]) ^ set(without["record_id"])) == 2
    again, _ = training_sets(pool=pool, target=target, others=others, spec=spec, pair=1)
    assert set(again["record_id"]) != set(with_t["record_id"])  # fresh bases per pair
    fixed = GameSpec(runs=4, training_size=50, seed=1, fixed_base=True)
    a, _ = training_sets(pool=pool, target=target, others=others, spec=fixed, pair=0)
    b, _ = training_sets(pool=pool, target=target, others=others, spec=fixed, pair=3)
    assert set(a["record_id"]) == set(b["record_id"])


def test_an_outlier_copied_into_the_release_is_exposed_and_a_control_is_not(pool):
    targets = targets_select(pool=pool, types=TYPES, id_column="record_id", n_outliers=1, n_controls=1, seed=2)
    result = game_run(pool=pool, targets=targets, spec=GameSpec(runs=30, training_size=40, seed=3),
                      defense=copy_defense, defense_sha256="copy", attack=max_stay_attack, id_column="record_id")
    outlier, control = result.targets
    assert outlier.advantage == 1.0 and outlier.advantage_ci[0] > 0.8
    # Perfect separation of 30 + 30 releases: the most a 95% Clopper–Pearson bound allows.
    assert outlier.epsilon_lower_bound > 2.0 and outlier.tpr_at_fpr_0_1 == 1.0
    # A common stay is always reached by someone else's: the statistic says nothing.
    assert control.advantage == 0.0 and control.advantage_ci[0] < 0 < control.advantage_ci[1]
    summary = game_summary(result.targets)
    assert summary.worst.record_id == "R017" and summary.top_decile_advantage == 1.0
    assert summary.average_advantage == pytest.approx((1.0 + control.advantage) / 2)
    assert result.cost.defense_runs == 2 * 2 * 30 and result.cost.attack_runs == 2 * 2


def test_a_coin_flip_attack_has_an_interval_around_zero(pool):
    targets = targets_select(pool=pool, types=TYPES, id_column="record_id", n_outliers=1, n_controls=0)
    result = game_run(pool=pool, targets=targets, spec=GameSpec(runs=50, training_size=40, seed=3),
                      defense=copy_defense, defense_sha256="copy", attack=coin_attack, id_column="record_id")
    low, high = result.targets[0].advantage_ci
    assert low < 0 < high


def test_replaying_a_game_costs_no_defense_run(pool):
    targets = targets_select(pool=pool, types=TYPES, id_column="record_id", n_outliers=1, n_controls=1)
    cache = MemoryCache()
    spec = GameSpec(runs=5, training_size=30, seed=9, folds=1)
    first = game_run(pool=pool, targets=targets, spec=spec, defense=copy_defense, defense_sha256="copy",
                     attack=max_stay_attack, id_column="record_id", cache=cache)
    again = game_run(pool=pool, targets=targets, spec=spec, defense=copy_defense, defense_sha256="copy",
                     attack=max_stay_attack, id_column="record_id", cache=cache)
    other = game_run(pool=pool, targets=targets, spec=spec, defense=copy_defense, defense_sha256="changed code",
                     attack=max_stay_attack, id_column="record_id", cache=cache)
    assert (first.cost.defense_runs, again.cost.defense_runs, again.cost.cached_runs) == (20, 0, 20)
    assert other.cost.defense_runs == 20
    assert [t.advantage for t in again.targets] == [t.advantage for t in first.targets]


def test_the_attack_never_sees_the_label_of_a_release_it_guesses(pool):
    seen = []

    def spying_attack(game_round: AttackRound) -> list[float]:
        guessed = {id(r) for r in game_round.releases}
        assert not guessed & {id(r) for r, _ in game_round.shadow}
        seen.append((len(game_round.releases), len(game_round.shadow)))
        assert "record_id" not in game_round.target.index and "record_id" not in game_round.population.columns
        return [0.5] * len(game_round.releases)

    targets = targets_select(pool=pool, types=TYPES, id_column="record_id", n_outliers=1, n_controls=0)
    game_run(pool=pool, targets=targets, spec=GameSpec(runs=6, training_size=30, folds=3),
             defense=copy_defense, defense_sha256="copy", attack=spying_attack, id_column="record_id")
    assert seen == [(4, 8)] * 3


def test_bad_specs_and_bad_attacks_are_refused(pool):
    with pytest.raises(ValueError, match="runs must be at least 2"):
        GameSpec(runs=1)
    targets = targets_select(pool=pool, types=TYPES, id_column="record_id", n_outliers=1, n_controls=0)
    with pytest.raises(ValueError, match="fewer than training_size=500"):
        game_run(pool=pool, targets=targets, spec=GameSpec(runs=2, training_size=500), defense=copy_defense,
                 defense_sha256="copy", attack=coin_attack, id_column="record_id")
    with pytest.raises(ValueError, match="returned 1 scores for 4 releases"):
        game_run(pool=pool, targets=targets, spec=GameSpec(runs=4, training_size=30), defense=copy_defense,
                 defense_sha256="copy", attack=lambda r: [0.5], id_column="record_id")


def test_advantage_interval_matches_newcombe_hybrid_score():
    # Newcombe 1998, Table II example (e): 56/70 vs 48/80 → difference 0.2, 95% CI 0.0524 to 0.3339.
    low, high = advantage_interval(56, 70, 48, 80)
    assert low == pytest.approx(0.0524, abs=1e-4) and high == pytest.approx(0.3339, abs=1e-4)


def test_a_round_written_as_files_reads_back(tmp_path, pool):
    release = pool.drop(columns=["record_id"]).head(5)
    game_round = AttackRound(target=pool.drop(columns=["record_id"]).iloc[0], population=pool.drop(columns=["record_id"]),
                             releases=[release, release.head(3)], shadow=[(release, True)])
    ids = round_write(game_round, tmp_path / "input", schema={"columns": []})
    assert sorted(p.name for p in (tmp_path / "input" / "releases").iterdir()) == ["r000.csv", "r001.csv"]
    assert (tmp_path / "input" / "shadow.csv").read_text() == "release_id,is_member\ns000,1\n"
    (tmp_path / "predictions.csv").write_text("release_id,score\nr001,0.25\nr000,1\n")
    assert list(predictions_read(tmp_path / "predictions.csv", ids)) == [1.0, 0.25]
    (tmp_path / "predictions.csv").write_text("release_id,score\nr001,high\nr000,1\n")
    with pytest.raises(ValueError, match="line 2: score 'high' is not a number in \\[0, 1\\]"):
        predictions_read(tmp_path / "predictions.csv", ids)


def test_the_result_in_words_names_the_trait_not_the_value(pool):
    from evaluation.games.wording import exposure_sentences

    targets = targets_select(pool=pool, types=TYPES, id_column="record_id", n_outliers=1, n_controls=2, seed=2)
    assert targets[0].trait == "a very high stay" and targets[1].trait == ""
    result = game_run(pool=pool, targets=targets, spec=GameSpec(runs=30, training_size=40, seed=3),
                      defense=copy_defense, defense_sha256="copy", attack=max_stay_attack, id_column="record_id")
    words = exposure_sentences(result.targets)
    assert words["worst"] == ("A patient with a very high stay is revealed: recognised in 100 of 100 releases made "
                              "with their record and wrongly in 0 of 100 made without it.")
    assert words["average"].startswith("An average patient's membership is not revealed")
    assert "297" not in words["worst"] + words["average"]


def test_a_bundles_game_config_is_read_with_every_mistake_named():
    from evaluation.games.config import game_config_read

    config, errors = game_config_read({"membership_game": {"runs": 30, "pool": ["train"], "attacks": ["Shadow"]}},
                                      datasets={"train"}, baseline_attacks={"Shadow"})
    assert errors == [] and config.runs == 30 and config.targets == 10 and config.defense_runs == 600
    assert game_config_read({}, datasets=set(), baseline_attacks=set()) == (None, [])
    config, errors = game_config_read(
        {"membership_game": {"runs": 1, "rule": "loudest", "pool": ["nowhere"], "attacks": [], "colour": "red"}},
        datasets={"train"}, baseline_attacks={"Shadow"})
    assert config is None
    assert dict(errors) == {
        "options.membership_game.colour": "unknown field (expected one of: runs, targets, rule, listed, training_size, pool, attacks, seed)",
        "options.membership_game.runs": "expected an integer in [2, 1000], got 1",
        "options.membership_game.rule": "expected one of outliers, listed, got 'loudest'",
        "options.membership_game.pool[0]": "'nowhere' is not a dataset of this bundle",
        "options.membership_game.attacks": "is required: the baseline attacks that play the game",
    }


def test_the_worst_of_many_chance_targets_is_not_called_exposed(pool):
    """The maximum of ten coin flips sits above 0; its simultaneous interval still holds 0."""
    targets = targets_select(pool=pool, types=TYPES, id_column="record_id", n_outliers=5, n_controls=5, seed=1)
    result = game_run(pool=pool, targets=targets, spec=GameSpec(runs=20, training_size=30, seed=5),
                      defense=copy_defense, defense_sha256="copy", attack=coin_attack, id_column="record_id")
    summary = game_summary(result.targets)
    assert summary.worst.advantage > 0
    assert summary.worst_ci[0] < summary.worst.advantage_ci[0] and summary.worst_ci[0] < 0 < summary.worst_ci[1]
