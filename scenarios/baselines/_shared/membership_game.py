"""Reading a targeted membership game's round, and the statistics outlier attacks use.

A game round (docs/arena.md, "Targeted membership games") is laid out in /input as
``target.csv`` (one record), ``population.csv``, ``releases/<id>.csv`` to guess and,
where the game allows, ``shadow/<id>.csv`` with their labels in ``shadow.csv``. The answer
is ``predictions.csv`` with ``release_id, score``. Shared by the baselines and copied next
to each one's ``main.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import arena_tables as at


@dataclass
class GameRound:
    target: pd.Series
    population: pd.DataFrame
    releases: list[pd.DataFrame]
    release_ids: list[str]
    shadow: list[tuple[pd.DataFrame, bool]]


def is_game(input_dir: Path) -> bool:
    return (input_dir / "target.csv").is_file()


def read_round(input_dir: Path) -> GameRound:
    target = at.read_table(input_dir / "target.csv").iloc[0]
    population = at.read_table(input_dir / "population.csv")
    paths = sorted((input_dir / "releases").glob("*.csv"))
    shadow = []
    if (input_dir / "shadow.csv").is_file():
        labels = at.read_table(input_dir / "shadow.csv")
        for release_id, member in zip(labels["release_id"], labels["is_member"], strict=True):
            shadow.append((at.read_table(input_dir / "shadow" / f"{release_id}.csv"), member == "1"))
    return GameRound(target, population, [at.read_table(p) for p in paths], [p.stem for p in paths], shadow)


def write_predictions(output_dir: Path, release_ids: list[str], scores: np.ndarray) -> None:
    pd.DataFrame({"release_id": release_ids, "score": np.round(np.clip(scores, 0, 1), 6)}).to_csv(
        output_dir / "predictions.csv", index=False, lineterminator="\n"
    )


def plain_columns(schema: dict, *frames: pd.DataFrame) -> list[str]:
    return [c for c in schema["types"] if all(c in f.columns for f in frames) and not at.id_like(c, schema)]


def tail(population_values: np.ndarray, x: float) -> tuple[float, int]:
    """How far out ``x`` lies in the population (1: beyond every value, 0: at the median) and
    on which side (+1 upper, −1 lower)."""
    p = population_values[np.isfinite(population_values)]
    if p.size == 0 or not np.isfinite(x):
        return 0.0, 1
    below = (np.sum(p < x) + 0.5 * np.sum(p == x)) / p.size
    return float(1 - 2 * min(below, 1 - below)), (1 if below >= 0.5 else -1)


def column_statistic(release: pd.DataFrame, column: str, kind: str, target_value: str, side: int) -> float:
    """One number per release for one column, higher where the target's presence shows:
    the release's extreme on the target's side (numbers, dates; generalised cells by their
    midpoint), or the share of rows holding the target's category."""
    if kind in ("numeric", "date"):
        v = at.midpoints(release[column].astype(str), kind)
        v = v[np.isfinite(v)]
        if v.size == 0:
            return float("-inf")
        return float(side * (v.max() if side > 0 else v.min()))
    values = release[column].astype(str)
    return float((values == target_value).mean()) if len(values) else 0.0
