"""Example attack (attribute inference): learn the secret from the release, predict it for targets.

A random forest is trained on the release to predict the secret column from the columns
the targets also carry, then applied to the targets. Intervals are read as midpoints; '*'
and sets as missing. The secret is the column task.json names.
"""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

inp = Path(os.environ.get("ARENA_INPUT", "/input"))
out = Path(os.environ.get("ARENA_OUTPUT", "/output"))
seed = int(os.environ.get("ARENA_SEED", "0"))

schema = json.loads((inp / "schema.json").read_text())
types = {c["name"]: c["type"] for c in schema["columns"]}
secret = json.loads((inp / "task.json").read_text())["secret"] if (inp / "task.json").exists() else schema["sensitive"][0]
release = pd.read_csv(inp / "release.csv", dtype=str, keep_default_na=False)
targets = pd.read_csv(inp / "targets.csv", dtype=str, keep_default_na=False)
known = [c for c in targets.columns if c in release.columns and c in types and c != secret]


def number(cells: pd.Series, kind: str) -> pd.Series:
    text = cells.str.strip()
    bounds = text.str.extract(r"^\[\s*([^,]+?)\s*,\s*([^\]\)]+?)\s*[\]\)]$")
    parse = (lambda s: (pd.to_datetime(s, errors="coerce") - pd.Timestamp("1970-01-01")).dt.days) if kind == "date" else (lambda s: pd.to_numeric(s, errors="coerce"))
    return parse(text.where(bounds[0].isna())).fillna((parse(bounds[0]) + parse(bounds[1])) / 2).astype(float)


def features(frame: pd.DataFrame) -> pd.DataFrame:
    cols = []
    for c in known:
        if types[c] in ("numeric", "date"):
            cols.append(number(frame[c], types[c]).rename(c))
        else:
            levels = sorted(set(targets[c]))
            cols.append(pd.get_dummies(pd.Categorical(frame[c], categories=levels), prefix=c).astype(float))
    return pd.concat([x.reset_index(drop=True) for x in cols], axis=1)


x_rel, x_tgt = features(release), features(targets)
fill = x_rel.median()
x_rel, x_tgt = x_rel.fillna(fill).fillna(0.0), x_tgt.fillna(fill).fillna(0.0)
if types[secret] == "numeric":
    y = number(release[secret], "numeric")
    ok = y.notna().to_numpy()
    model = RandomForestRegressor(n_estimators=200, min_samples_leaf=3, random_state=seed, n_jobs=1)
    guess = np.round(model.fit(x_rel[ok], y[ok]).predict(x_tgt), 2)
else:
    y = release[secret]
    ok = ~y.str.match(r"^(\*|\{.*\})$").to_numpy()  # sets and '*' teach nothing definite
    model = RandomForestClassifier(n_estimators=200, min_samples_leaf=2, random_state=seed, n_jobs=1)
    guess = model.fit(x_rel[ok], y[ok]).predict(x_tgt)
pd.DataFrame({"target_id": targets["target_id"], "guess": guess}).to_csv(out / "guesses.csv", index=False)
