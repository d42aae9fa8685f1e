"""Example attack (membership inference): a detector for "looks like the release".

A random forest learns to tell release rows from auxiliary population rows. Members shaped
the release, so they tend to look more like it than non-members do; the forest's
probability of "release" is the membership score. Intervals are read as their midpoints
and '*' or sets as missing, which is crude for generalised releases.
"""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

inp = Path(os.environ.get("ARENA_INPUT", "/input"))
out = Path(os.environ.get("ARENA_OUTPUT", "/output"))
seed = int(os.environ.get("ARENA_SEED", "0"))

schema = json.loads((inp / "schema.json").read_text())
read = lambda name: pd.read_csv(inp / name, dtype=str, keep_default_na=False)  # noqa: E731
release, candidates, population = read("release.csv"), read("candidates.csv"), read("population.csv")
columns = [c for c in schema["columns"] if c["name"] in release.columns and c["name"] in candidates.columns]


def number(cells: pd.Series, kind: str) -> pd.Series:
    """Plain values and interval midpoints as numbers (dates as days); anything else NaN."""
    text = cells.str.strip()
    bounds = text.str.extract(r"^\[\s*([^,]+?)\s*,\s*([^\]\)]+?)\s*[\]\)]$")
    parse = (lambda s: (pd.to_datetime(s, errors="coerce") - pd.Timestamp("1970-01-01")).dt.days) if kind == "date" else (lambda s: pd.to_numeric(s, errors="coerce"))
    plain = parse(text.where(bounds[0].isna()))
    mid = (parse(bounds[0]) + parse(bounds[1])) / 2
    return plain.fillna(mid).astype(float)


def features(frames):
    blocks = []
    for c in columns:
        name, kind = c["name"], c["type"]
        if kind in ("numeric", "date"):
            blocks.append([number(f[name], kind).to_frame(name) for f in frames])
        else:
            levels = sorted(set(population[name]) | set(candidates[name]))
            blocks.append([pd.get_dummies(pd.Categorical(f[name], categories=levels), prefix=name).astype(float) for f in frames])
    mats = [pd.concat([b[i].reset_index(drop=True) for b in blocks], axis=1) for i in range(len(frames))]
    fill = mats[0].median()
    return [m.fillna(fill).fillna(0.0).to_numpy() for m in mats]


x_rel, x_pop, x_cand = features([release, population, candidates])
x = np.vstack([x_rel, x_pop])
y = np.r_[np.ones(len(x_rel)), np.zeros(len(x_pop))]
forest = RandomForestClassifier(n_estimators=200, min_samples_leaf=3, class_weight="balanced", random_state=seed, n_jobs=1)
score = forest.fit(x, y).predict_proba(x_cand)[:, 1]
pd.DataFrame({"candidate_id": candidates["candidate_id"], "score": np.round(score, 6)}).to_csv(out / "predictions.csv", index=False)
