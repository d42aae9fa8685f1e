"""A competition's membership game, as its bundle declares it under ``options.membership_game``.

```yaml
options:
  membership_game:
    runs: 50                    # R: releases with, and as many without, each target
    targets: 10                 # half outliers, half random controls (rule: outliers)
    rule: outliers              # outliers | listed
    listed: []                  # record ids, for rule: listed
    training_size: 1000         # records per training set
    pool: [train, holdout]      # the datasets whose records form the population pool
    attacks: [Shadow-model membership attack]   # baseline attacks that play the game
```

Only a defense task has a game. :func:`game_config_read` returns the config and every
mistake at once, each with its field path, as bundle errors do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .targets import TARGET_RULES

OPTION = "membership_game"
FIELDS = ("runs", "targets", "rule", "listed", "training_size", "pool", "attacks", "seed")

# The defense's metric rows a game fills in: (key, label, direction, description). Lower is better.
WORST, TOP_DECILE, AVERAGE, EPSILON = "game_worst_advantage", "game_top_decile_advantage", "game_average_advantage", "game_epsilon_lower_bound"
GAME_METRICS = (
    (WORST, "Most exposed patient (membership advantage)", "lower",
     "The highest membership advantage (TPR − FPR) a game attack reached on one target patient, over R releases "
     "with and R without them; 0 is chance. The defense's worst-case privacy."),
    (TOP_DECILE, "Most exposed tenth of patients (advantage)", "lower",
     "Mean membership advantage over the most exposed tenth of the game's target patients."),
    (AVERAGE, "Average patient (advantage)", "lower",
     "Mean membership advantage over all target patients, outliers and random controls alike."),
    (EPSILON, "Empirical ε lower bound (game)", "lower",
     "The largest ε lower bound (95% confidence, δ = 1e-5) over the game's targets: a defense claiming ε-DP for "
     "adding or removing one record may show at most 2ε here."),
)


@dataclass(frozen=True)
class GameConfig:
    runs: int = 50
    targets: int = 10
    rule: str = "outliers"
    listed: tuple[str, ...] = ()
    training_size: int = 1000
    pool: tuple[str, ...] = ()
    attacks: tuple[str, ...] = ()
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def defense_runs(self) -> int:
        return 2 * self.runs * (len(self.listed) if self.rule == "listed" else self.targets)


def game_config_read(options: Mapping[str, Any], *, datasets: set[str] | None = None,  # noqa: C901 (one check per game option, all mistakes reported together)
                     baseline_attacks: set[str] | None = None) -> tuple[GameConfig | None, list[tuple[str, str]]]:
    """The game of ``options`` (None when there is none or it has mistakes) and the mistakes
    found. ``datasets`` and ``baseline_attacks``, where given, are what ``pool`` and
    ``attacks`` may name (a bundle being imported); a stored competition passed them already."""
    raw = options.get(OPTION)
    if raw is None:
        return None, []
    path = f"options.{OPTION}"
    if not isinstance(raw, Mapping):
        return None, [(path, f"expected a mapping, got {raw!r}")]
    errors: list[tuple[str, str]] = []
    for key in raw:
        if key not in FIELDS:
            errors.append((f"{path}.{key}", f"unknown field (expected one of: {', '.join(FIELDS)})"))

    def integer(key: str, default: int, low: int, high: int) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.append((f"{path}.{key}", f"expected an integer in [{low}, {high}], got {value!r}"))
            return default
        return value

    def names(key: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            errors.append((f"{path}.{key}", f"expected a list of names, got {value!r}"))
            return ()
        return tuple(value)

    runs = integer("runs", 50, 2, 1000)
    targets = integer("targets", 10, 1, 200)
    training_size = integer("training_size", 1000, 2, 1_000_000)
    seed = integer("seed", 0, 0, 2**31 - 1)
    rule = raw.get("rule", "outliers")
    if rule not in TARGET_RULES:
        errors.append((f"{path}.rule", f"expected one of {', '.join(TARGET_RULES)}, got {rule!r}"))
    listed = names("listed")
    if rule == "listed" and not listed:
        errors.append((f"{path}.listed", "rule 'listed' needs at least one record id"))
    pool = names("pool")
    if not pool:
        errors.append((f"{path}.pool", "is required: the datasets whose records form the population pool"))
    for i, name in enumerate(pool):
        if datasets is not None and name not in datasets:
            errors.append((f"{path}.pool[{i}]", f"'{name}' is not a dataset of this bundle"))
    attacks = names("attacks")
    if not attacks:
        errors.append((f"{path}.attacks", "is required: the baseline attacks that play the game"))
    for i, name in enumerate(attacks):
        if baseline_attacks is not None and name not in baseline_attacks:
            errors.append((f"{path}.attacks[{i}]", f"'{name}' is not a baseline attack of this bundle"))
    config = GameConfig(runs=runs, targets=targets, rule=rule if rule in TARGET_RULES else "outliers", listed=listed,
                        training_size=training_size, pool=pool, attacks=attacks, seed=seed)
    return (None if errors else config), errors
