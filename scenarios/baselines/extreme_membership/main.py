"""Membership inference from one statistic: the extreme of a column.

A patient who sets a column's range (the one 297-day stay) is exposed by any release whose
extreme follows the data's: if the release reaches out to the patient's value, the patient
was probably in. The attack looks at one number per release and nothing else.

In a targeted membership game (``/input/target.csv``; docs/arena.md): the candidate
statistics are, per column, the release's extreme on the side where the target lies
(numbers and dates) or the share of rows holding the target's category. With labelled
shadow releases the attack keeps the statistic that separates them best (ROC AUC) and maps
it to a probability by a one-variable logistic regression fitted on them. Without shadows
it takes the column where the target is most extreme in the population and scores how far
the release's extreme reaches from where a release of the population alone would end
towards the target's value.

On one release with many candidates (the ``membership-inference`` task): a candidate
scores high when it is extreme in the population on some column and the release holds a
value close to its own there (within a tenth of the column's spread); common candidates
score low whatever the release holds. It is built to find outliers, not to rank everyone.
"""

from __future__ import annotations

import os

# The sandbox grants one CPU: more BLAS/OpenMP threads than that only contend for it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import membership_game as mg
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import arena_tables as at


def candidate_statistics(target: pd.Series, population: pd.DataFrame, columns: list[str], types: dict) -> list[tuple[str, str, int, float]]:
    """(column, kind, side, how extreme the target is there) for every usable column."""
    out = []
    for c in columns:
        kind = types[c]
        if kind in ("numeric", "date"):
            x = at.to_number(pd.Series([target[c]]), kind)[0]
            extremeness, side = mg.tail(at.to_number(population[c].astype(str), kind), x)
        else:
            share = float((population[c].astype(str) == str(target[c])).mean())
            extremeness, side = 1.0 - share, 1
        out.append((c, kind, side, extremeness))
    return out


def game_scores(target: pd.Series, population: pd.DataFrame, releases: list[pd.DataFrame],
                shadow: list[tuple[pd.DataFrame, bool]], schema: dict) -> np.ndarray:
    types = schema["types"]
    columns = mg.plain_columns(schema, population, *(releases[:1]))
    stats = candidate_statistics(target, population, columns, types)
    if not stats:
        return np.full(len(releases), 0.5)

    def statistic(frames, c, kind, side):
        return np.array([mg.column_statistic(f, c, kind, str(target[c]), side) for f in frames])

    labels = np.array([m for _, m in shadow], dtype=int)
    if len(shadow) >= 4 and 0 < labels.sum() < len(labels):
        frames = [f for f, _ in shadow]
        best, best_auc = None, -1.0
        for c, kind, side, _ in stats:
            s = statistic(frames, c, kind, side)
            s = np.where(np.isfinite(s), s, np.nanmin(np.where(np.isfinite(s), s, np.inf)) if np.isfinite(s).any() else 0.0)
            auc = roc_auc_score(labels, s) if np.ptp(s) > 0 else 0.5
            if auc > best_auc:
                best, best_auc, train = (c, kind, side), auc, s
        if best is None:
            raise SystemExit("no column of the release gives a statistic to attack")
        c, kind, side = best
        mean, spread = train.mean(), train.std() or 1.0
        model = LogisticRegression().fit(((train - mean) / spread)[:, None], labels)
        s = statistic(releases, c, kind, side)
        s = np.where(np.isfinite(s), s, train.min())
        return model.predict_proba(((s - mean) / spread)[:, None])[:, 1]

    # No shadows: the column where the target stands out most.
    c, kind, side, _ = max(stats, key=lambda t: t[3])
    s = statistic(releases, c, kind, side)
    if kind not in ("numeric", "date"):
        expected = float((population[c].astype(str) == str(target[c])).mean())
        return np.clip(0.5 + (s - expected) * 10, 0, 1)
    pop = side * at.to_number(population[c].astype(str), kind)
    pop = np.sort(pop[np.isfinite(pop)])
    size = max(len(releases[0]), 1)
    usual = pop[min(len(pop) - 1, int(np.floor(len(pop) * (1 - 1 / size))))] if pop.size else 0.0
    x = side * at.to_number(pd.Series([target[c]]), kind)[0]
    reach = max(abs(x - usual), 1e-9)
    return np.clip(0.5 + 0.5 * (s - usual) / reach, 0, 1)


def candidate_scores(release: pd.DataFrame, candidates: pd.DataFrame, population: pd.DataFrame, schema: dict) -> np.ndarray:
    types = schema["types"]
    reference = population if len(population) else candidates
    columns = [c for c in mg.plain_columns(schema, release, candidates) if types[c] in ("numeric", "date")]
    score = np.zeros(len(candidates))
    for c in columns:
        kind = types[c]
        ref = at.to_number(reference[c].astype(str), kind)
        ref = np.sort(ref[np.isfinite(ref)])
        x = at.to_number(candidates[c].astype(str), kind)
        rel = np.sort(at.midpoints(release[c].astype(str), kind, ref))
        rel = rel[np.isfinite(rel)]
        if ref.size == 0 or rel.size == 0:
            continue
        below = (np.searchsorted(ref, x, side="left") + np.searchsorted(ref, x, side="right")) / (2 * ref.size)
        extremeness = 1 - 2 * np.minimum(below, 1 - below)
        at_ = np.clip(np.searchsorted(rel, x), 1, rel.size - 1) if rel.size > 1 else np.zeros(len(x), dtype=int)
        nearest = np.minimum(np.abs(rel[at_] - x), np.abs(rel[np.maximum(at_ - 1, 0)] - x))
        near = np.exp(-nearest / (0.1 * at.scale_of(ref)))
        score = np.maximum(score, np.where(np.isfinite(x), extremeness * near, 0.0))
    return score


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
    s = candidate_scores(release, candidates, population, schema)
    pd.DataFrame({"candidate_id": candidates["candidate_id"], "score": np.round(s, 6)}).to_csv(
        env.output / "predictions.csv", index=False, lineterminator="\n"
    )


if __name__ == "__main__":
    main()
