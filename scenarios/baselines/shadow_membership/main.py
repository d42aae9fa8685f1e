"""Membership inference with a shadow model: a classifier learns what a release containing
the target looks like (Stadler, Oprisanu, Troncoso 2022, "Synthetic Data – Anonymisation
Groundhog Day", USENIX Security; Shokri et al. 2017 for shadow models).

Each release is described, as seen from the target record, by a few features:

* the distance from the target to its nearest release row and the share of release rows
  within 0.5 and 1 of it (standardised mixed distance: numbers and dates over a robust
  spread, categories 0/1; generalised cells count 0 where the target fits inside);
* marginals at the target: per categorical column the share of rows holding the target's
  value, per numeric or date column the share within a quarter spread of the target's value;
* extremes: per numeric or date column the release's extreme on the target's side, in
  spreads from the population median;
* the number of rows.

In a targeted membership game (``/input/target.csv``; docs/arena.md) a random forest is
trained on these features of the labelled shadow releases and scores each release to guess.
Without shadow releases it scores by the nearest-row distance alone, against the population.

On one release with many candidates (the ``membership-inference`` task) there are no labelled
releases, so the attack makes its own: eight times, the population is halved; one half,
lightly perturbed (numbers jittered by a tenth of a spread, one category in ten redrawn),
stands in for a release made from it. A random forest learns, over both halves' records,
membership from features of a record against a release — its nearest-row distance relative
to the non-members', the share of close rows, how extreme the record is in the population
and whether the release reaches its value — and then scores the candidates against the
real release. The stand-in generator knows nothing of the defense: the attack finds records
that any release copying its data too closely exposes.
"""

from __future__ import annotations

import os

# The sandbox grants one CPU: more BLAS/OpenMP threads than that only contend for it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import membership_game as mg
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

import arena_tables as at

SHADOW_SPLITS = 8


def _forest() -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=200, min_samples_leaf=2, random_state=0, n_jobs=1)


# ---------------------------------------------------------------- game: one target, many releases


class TargetView:
    """What the population says about the target, computed once per round."""

    def __init__(self, target: pd.Series, population: pd.DataFrame, columns: list[str], types: dict):
        self.numeric, self.categorical = [], []
        for c in columns:
            kind = types[c]
            if kind in ("numeric", "date"):
                ref = at.to_number(population[c].astype(str), kind)
                x = at.to_number(pd.Series([target[c]]), kind)[0]
                centre = float(np.nanmedian(ref)) if np.isfinite(ref).any() else 0.0
                self.numeric.append((c, kind, x, at.scale_of(ref), centre, mg.tail(ref, x)[1]))
            else:
                self.categorical.append((c, str(target[c])))

    def features(self, release: pd.DataFrame) -> np.ndarray:
        """See the module docstring; one row of numbers per release."""
        d2 = np.zeros(len(release))
        local = []
        for c, kind, x, spread, centre, side in self.numeric:
            lo, hi = _bounds(release[c], kind)
            if np.isfinite(x):
                gap = np.maximum(np.maximum(lo - x, x - hi), 0.0)
                d2 += (np.where(np.isnan(gap), 0.0, gap) / spread) ** 2
            mid = (lo + hi) / 2
            mid = mid[np.isfinite(mid)]
            near = float((np.abs(mid - x) <= 0.25 * spread).mean()) if mid.size and np.isfinite(x) else 0.0
            extreme = (side * (mid.max() if side > 0 else mid.min()) - side * centre) / spread if mid.size else 0.0
            local += [near, extreme]
        for c, value in self.categorical:
            cells = release[c].astype(str).to_numpy(dtype=object)
            generalised = np.char.startswith(cells.astype(str), "{") | (cells == at.SUPPRESSED)
            if generalised.any():
                fits = np.array([s is None or value in s for s in at.parse_sets(pd.Series(cells))])
            else:
                fits = cells == value
            d2 += ~fits
            local.append(float((cells == value).mean()) if len(cells) else 0.0)
        d = np.sqrt(d2) if len(release) else np.array([np.inf])
        features = [np.log1p(d.min()), float((d <= 0.5).mean()), float((d <= 1.0).mean()), np.log1p(len(release)), *local]
        return np.nan_to_num(np.array(features, dtype=float), posinf=1e6, neginf=-1e6)


def _bounds(values: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's interval; plain cells (the usual synthetic release) without the parsing."""
    text = values.astype(str)
    if not (text.str.startswith("[") | (text == at.SUPPRESSED)).any():
        v = at.to_number(text, kind)
        return v, v
    return at.parse_interval(text, kind)


def game_scores(target: pd.Series, population: pd.DataFrame, releases: list[pd.DataFrame],
                shadow: list[tuple[pd.DataFrame, bool]], schema: dict) -> np.ndarray:
    types = schema["types"]
    columns = mg.plain_columns(schema, population, *(releases[:1]))
    view = TargetView(target, population, columns, types)
    guess = np.array([view.features(r) for r in releases])
    labels = np.array([m for _, m in shadow], dtype=int)
    if len(shadow) >= 4 and 0 < labels.sum() < len(labels):
        train = np.array([view.features(r) for r, _ in shadow])
        return _forest().fit(train, labels).predict_proba(guess)[:, 1]
    # No labelled releases: the nearer the target's nearest row, the likelier a member.
    return 1.0 / (1.0 + np.expm1(guess[:, 0]))


# ---------------------------------------------------------------- one release, many candidates


def record_features(records: pd.DataFrame, release: pd.DataFrame, reference: pd.DataFrame, columns: list[str], types: dict) -> np.ndarray:
    """Features of each record against one release; ``reference`` holds no member of it."""
    space = at.ReleaseSpace(release, columns, types, reference)
    nearest, close = np.empty(len(records)), np.empty(len(records))
    for rows, d in space.distances(records):
        nearest[rows] = d.min(axis=1)
        close[rows] = (d <= 0.5).mean(axis=1)
    usual = np.empty(len(reference))
    for rows, d in space.distances(reference):
        usual[rows] = d.min(axis=1)
    typical = max(float(np.median(usual)), 1e-9)
    extremeness = np.zeros(len(records))
    reach = np.zeros(len(records))
    for c in columns:
        kind = types[c]
        if kind not in ("numeric", "date"):
            continue
        ref = at.to_number(reference[c].astype(str), kind)
        ref = np.sort(ref[np.isfinite(ref)])
        x = at.to_number(records[c].astype(str), kind)
        rel = at.midpoints(release[c].astype(str), kind, ref)
        rel = rel[np.isfinite(rel)]
        if ref.size == 0 or rel.size == 0:
            continue
        below = (np.searchsorted(ref, x, side="left") + np.searchsorted(ref, x, side="right")) / (2 * ref.size)
        e = np.where(np.isfinite(x), 1 - 2 * np.minimum(below, 1 - below), 0.0)
        upper = below >= 0.5
        reaches = np.where(upper, rel.max() >= x, rel.min() <= x).astype(float)
        better = e > extremeness
        extremeness = np.where(better, e, extremeness)
        reach = np.where(better, reaches, reach)
    return np.column_stack([np.log1p(nearest / typical), close, extremeness, reach, extremeness * reach])


def stand_in_release(records: pd.DataFrame, columns: list[str], types: dict, reference: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    out = {}
    for c in columns:
        kind = types[c]
        if kind in ("numeric", "date"):
            x = at.to_number(records[c].astype(str), kind)
            ref = at.to_number(reference[c].astype(str), kind)
            x = x + rng.normal(0, 0.1 * at.scale_of(ref), len(x))
            out[c] = at.from_number(np.where(np.isfinite(x), x, np.nanmedian(ref)), kind, None if kind == "numeric" else 0)
        else:
            values = records[c].astype(str).to_numpy(dtype=object).copy()
            redraw = rng.random(len(values)) < 0.1
            pool = reference[c].astype(str).to_numpy(dtype=object)
            values[redraw] = pool[rng.integers(len(pool), size=int(redraw.sum()))]
            out[c] = values
    return pd.DataFrame(out)


def candidate_scores(release: pd.DataFrame, candidates: pd.DataFrame, population: pd.DataFrame, schema: dict, seed: int) -> np.ndarray:
    types = schema["types"]
    columns = mg.plain_columns(schema, release, candidates, population)
    rng = np.random.default_rng(seed)
    if len(population) < 20:
        return np.full(len(candidates), 0.5)  # too few known non-members to learn from
    features, labels = [], []
    for _ in range(SHADOW_SPLITS):
        order = rng.permutation(len(population))
        half = len(order) // 2
        members, others = population.iloc[order[:half]], population.iloc[order[half:]]
        stand_in = stand_in_release(members, columns, types, population, rng)
        both = pd.concat([members, others], ignore_index=True)
        features.append(record_features(both, stand_in, others, columns, types))
        labels.append(np.r_[np.ones(len(members)), np.zeros(len(others))])
    model = _forest().fit(np.vstack(features), np.concatenate(labels).astype(int))
    return model.predict_proba(record_features(candidates, release, population, columns, types))[:, 1]


def main() -> None:
    env = at.env()
    schema = at.read_schema(env.input)
    if mg.is_game(env.input):
        game = mg.read_round(env.input)
        mg.write_predictions(env.output, game.release_ids, game_scores(game.target, game.population, game.releases, game.shadow, schema))
        return
    release = at.read_table(env.input / "release.csv")
    candidates = at.read_table(env.input / "candidates.csv")
    population = at.read_table(env.input / "population.csv")
    s = candidate_scores(release, candidates, population, schema, env.seed)
    pd.DataFrame({"candidate_id": candidates["candidate_id"], "score": np.round(s, 6)}).to_csv(
        env.output / "predictions.csv", index=False, lineterminator="\n"
    )


if __name__ == "__main__":
    main()
