"""Targeted membership games: the defense run on training sets with and without one patient.

For each target the engine draws ``runs`` seeded pairs of training sets from the population
pool: a base of ``training_size − 1`` other records (never a target), plus the target
("with") or plus one more random record ("without") — swap-one neighbours, same size. The
defense runs on each training set; the attack receives the releases, shuffled, and scores
each for "the target was in the data behind it". With ``folds`` ≥ 2 the releases are split
into folds by pair, and the attack guessing one fold receives the other folds' releases
with their labels as shadow releases to learn from (cross-fitting: every release is
guessed by an attack that never saw its label, and no extra defense run is spent on
shadows). With ``fixed_base`` the base is drawn once per target and only the defense's
seed changes between pairs: the audit of one fixed pair of neighbouring datasets that a
differential-privacy claim is about.

The engine runs nothing itself. It takes two callables: ``defense(training_set, seed)``
returning a release (the pipeline plugs in the sandbox, a benchmark the baseline's code),
and ``attack(round)`` returning one score in [0, 1] per release of the round (≥ 0.5 is a
guess "member"). Releases are cached by (defense sha256, training-set hash): the hash
covers the rows and the seed the defense runs with, and that seed is derived from the
game's seed, the target and the pair, so replaying a game costs no defense run.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from .scoring import TargetResult, target_result
from .targets import GameTarget

DefenseRun = Callable[[pd.DataFrame, int], pd.DataFrame]


@dataclass(frozen=True)
class AttackRound:
    """What an attack sees in one call: the target, the population, releases to guess, and
    labelled shadow releases of the same game (``True``: the target was in)."""

    target: pd.Series
    population: pd.DataFrame
    releases: list[pd.DataFrame]
    shadow: list[tuple[pd.DataFrame, bool]]


AttackRun = Callable[[AttackRound], Sequence[float]]


@dataclass(frozen=True)
class GameSpec:
    runs: int = 50  # R: training sets with the target, and as many without
    training_size: int = 1000
    seed: int = 0
    folds: int = 2  # 1: no shadow releases
    fixed_base: bool = False

    def __post_init__(self):
        problems = []
        if self.runs < 2:
            problems.append(f"runs must be at least 2, got {self.runs}")
        if self.training_size < 2:
            problems.append(f"training_size must be at least 2, got {self.training_size}")
        if not 1 <= self.folds <= self.runs:
            problems.append(f"folds must lie in [1, runs], got {self.folds}")
        if problems:
            raise ValueError("; ".join(problems))


class ReleaseCache(Protocol):
    def get(self, key: str) -> pd.DataFrame | None: ...

    def put(self, key: str, release: pd.DataFrame) -> None: ...


class MemoryCache:
    def __init__(self):
        self._items: dict[str, pd.DataFrame] = {}

    def get(self, key: str) -> pd.DataFrame | None:
        return self._items.get(key)

    def put(self, key: str, release: pd.DataFrame) -> None:
        self._items[key] = release


class FolderCache:
    """Releases as CSV files named by their key, e.g. to keep them between benchmark runs."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> pd.DataFrame | None:
        path = self.folder / f"{key}.csv"
        return pd.read_csv(path, dtype=str, keep_default_na=False) if path.is_file() else None

    def put(self, key: str, release: pd.DataFrame) -> None:
        release.to_csv(self.folder / f"{key}.csv", index=False, lineterminator="\n")


@dataclass
class GameCost:
    defense_runs: int = 0
    cached_runs: int = 0
    attack_runs: int = 0
    defense_seconds: float = 0.0  # wall time inside the defense callable
    attack_seconds: float = 0.0


@dataclass
class GameResult:
    spec: GameSpec
    targets: list[TargetResult]
    cost: GameCost = field(default_factory=GameCost)


def training_set_hash(training_set: pd.DataFrame, seed: int) -> str:
    """sha256 of the training set as CSV text and the seed its defense run gets."""
    buffer = io.StringIO()
    training_set.to_csv(buffer, index=False, lineterminator="\n")
    return hashlib.sha256(f"{seed}\n".encode() + buffer.getvalue().encode("utf-8")).hexdigest()


def run_seed(spec: GameSpec, target: GameTarget, pair: int, member: bool) -> int:
    digest = hashlib.sha256(f"{spec.seed}:{target.record_id}:{pair}:{int(member)}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def training_sets(*, pool: pd.DataFrame, target: GameTarget, others: np.ndarray, spec: GameSpec, pair: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pair's training sets with and without the target: one base, plus the target or
    plus one more record; rows shuffled, so the target's place says nothing."""
    base_seed = [spec.seed, target.position] if spec.fixed_base else [spec.seed, target.position, pair]
    rng = np.random.default_rng(base_seed)
    picked = rng.choice(others, size=spec.training_size, replace=False)
    base, substitute = picked[:-1], picked[-1]
    order = np.random.default_rng([spec.seed, target.position, pair, 1]).permutation(spec.training_size)
    with_target = pool.iloc[np.r_[base, target.position][order]].reset_index(drop=True)
    without = pool.iloc[np.r_[base, substitute][order]].reset_index(drop=True)
    return with_target, without


def game_run(
    *,
    pool: pd.DataFrame,
    targets: Sequence[GameTarget],
    spec: GameSpec,
    defense: DefenseRun,
    defense_sha256: str,
    attack: AttackRun,
    id_column: str,
    cache: ReleaseCache | None = None,
    progress: Callable[[str], None] | None = None,
) -> GameResult:
    """Play the game for every target; see the module docstring."""
    cache = cache if cache is not None else MemoryCache()
    target_rows = {t.position for t in targets}
    others = np.array([i for i in range(len(pool)) if i not in target_rows])
    if len(others) < spec.training_size:
        raise ValueError(f"the pool holds {len(others)} non-target records, fewer than training_size={spec.training_size}")
    cost = GameCost()
    results = []
    for number, target in enumerate(targets, 1):
        releases, labels, folds = [], [], []
        for pair in range(spec.runs):
            for member, training_set in zip((True, False), training_sets(pool=pool, target=target, others=others, spec=spec, pair=pair), strict=True):
                seed = run_seed(spec, target, pair, member)
                key = f"{defense_sha256}-{training_set_hash(training_set, seed)}"
                release = cache.get(key)
                if release is None:
                    started = time.perf_counter()
                    release = defense(training_set, seed)
                    cost.defense_seconds += time.perf_counter() - started
                    cost.defense_runs += 1
                    cache.put(key, release)
                else:
                    cost.cached_runs += 1
                releases.append(release)
                labels.append(member)
                folds.append(pair % spec.folds)
        scores = _attack_releases(pool=pool, target=target, releases=releases, labels=labels, folds=folds,
                                  spec=spec, attack=attack, id_column=id_column, cost=cost)
        results.append(target_result(target=target, is_member=np.array(labels), score=scores))
        if progress:
            r = results[-1]
            progress(f"target {number}/{len(targets)} ({target.reason} {target.record_id}): advantage {r.advantage:.2f} "
                     f"[{r.advantage_ci[0]:.2f}, {r.advantage_ci[1]:.2f}], ε ≥ {r.epsilon_lower_bound:.2f}")
    return GameResult(spec=spec, targets=results, cost=cost)


def _attack_releases(*, pool, target, releases, labels, folds, spec, attack, id_column, cost) -> np.ndarray:
    """Scores for every release, each from an attack call that did not see its label."""
    record = pool.iloc[target.position].drop(labels=[id_column], errors="ignore")
    population = pool.drop(index=pool.index[target.position]).drop(columns=[id_column], errors="ignore").reset_index(drop=True)
    scores = np.empty(len(releases))
    for fold in range(spec.folds):
        guess = [i for i, f in enumerate(folds) if f == fold]
        # The attack sees the releases of the fold in an order unrelated to their labels.
        guess = [guess[i] for i in np.random.default_rng([spec.seed, target.position, fold]).permutation(len(guess))]
        shadow = [(releases[i], bool(labels[i])) for i, f in enumerate(folds) if f != fold]
        started = time.perf_counter()
        out = np.asarray(attack(AttackRound(target=record, population=population, releases=[releases[i] for i in guess], shadow=shadow)), dtype=float)
        cost.attack_seconds += time.perf_counter() - started
        cost.attack_runs += 1
        if out.shape != (len(guess),):
            raise ValueError(f"the attack returned {out.size} scores for {len(guess)} releases")
        if not np.all(np.isfinite(out)):
            raise ValueError("the attack returned a score that is not a finite number")
        scores[guess] = np.clip(out, 0.0, 1.0)
    return scores
