"""Differentially private synthetic data from noisy marginals on a tree (ε = 1 by default).

In the spirit of MST (McKenna, Miklau, Sheldon 2021), simplified:

1. Every column is discretised: numbers and dates into ``bins`` equal-width bins, categories
   as they are.
2. Selection (``selection_share`` of ε): a spanning tree over the columns is grown edge by
   edge (Kruskal), each edge picked by the exponential mechanism with score
   ``sum |N_ab - N_a N_b / n|`` — how far the pair's 2-way counts are from independence.
   Adding or removing one record changes that score by less than 4, so each of the d-1
   picks spends ε_sel/(d-1) with sensitivity 4.
3. Measurement (the rest of ε): the 2-way count table of every tree edge gets Laplace noise.
   One record sits in one cell of each of the d-1 tables, so the L1 sensitivity of all
   tables together is d-1 and the noise scale (d-1)/ε_meas.
4. Sampling (post-processing, no budget): negative counts are clipped, the root column is
   drawn from its noisy margin and every other column from its conditional given its parent
   in the tree; a value is drawn uniformly inside its bin.

The guarantee is pure ε-differential privacy for adding or removing one record, with one
caveat stated plainly: the domain (category lists and the numeric ranges that fix the bin
edges) is read from the records and treated as public metadata, as most DP synthesizers
and the NIST differential privacy challenges assume. A deployment with a public domain
description would pass it in instead. The release has no id column.
"""

from __future__ import annotations

import os

# The sandbox grants one CPU: more BLAS/OpenMP threads than that only contend for it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pandas as pd

import arena_tables as at

SCORE_SENSITIVITY = 4.0


class Discretised:
    """One column as bin codes plus how to turn a code back into a value."""

    def __init__(self, values: pd.Series, kind: str, bins: int):
        self.kind = kind
        if kind in ("numeric", "date"):
            x = at.to_number(values, kind)
            x = np.where(np.isfinite(x), x, np.nanmedian(x) if np.isfinite(x).any() else 0.0)
            self.decimals = at.decimals_of(values) if kind == "numeric" else 0
            lo, hi = float(x.min()), float(x.max())
            integral = self.decimals == 0
            if integral and hi - lo + 1 <= bins:
                self.edges = np.arange(lo, hi + 2) - 0.5  # one bin per integer value
            else:
                self.edges = np.linspace(lo, hi, bins + 1) if hi > lo else np.array([lo - 0.5, lo + 0.5])
            self.codes = np.clip(np.searchsorted(self.edges, x, side="right") - 1, 0, len(self.edges) - 2)
            self.size = len(self.edges) - 1
        else:
            self.levels = np.array(sorted(set(values)), dtype=object)
            self.codes = np.searchsorted(self.levels, values.to_numpy(dtype=object))
            self.size = len(self.levels)

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> list[str]:
        if self.kind in ("numeric", "date"):
            lo, hi = self.edges[codes], self.edges[codes + 1]
            x = lo + rng.random(len(codes)) * (hi - lo)
            if self.decimals == 0:
                # Integers: keep inside the bin's integer range ([lo, hi) shifted by the half offsets).
                x = np.clip(np.round(x), np.ceil(lo), np.maximum(np.floor(hi - 1e-9), np.ceil(lo)))
            return at.from_number(x, self.kind, self.decimals)
        return list(self.levels[codes])


def joint(a: np.ndarray, b: np.ndarray, sa: int, sb: int) -> np.ndarray:
    return np.bincount(a * sb + b, minlength=sa * sb).reshape(sa, sb).astype(float)


def independence_gap(table: np.ndarray) -> float:
    n = table.sum()
    if n == 0:
        return 0.0
    return float(np.abs(table - np.outer(table.sum(1), table.sum(0)) / n).sum())


def select_tree(cols: list[Discretised], epsilon: float, rng: np.random.Generator) -> list[tuple[int, int]]:
    d = len(cols)
    parent = list(range(d))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = [(i, j) for i in range(d) for j in range(i + 1, d)]
    score = {p: independence_gap(joint(cols[p[0]].codes, cols[p[1]].codes, cols[p[0]].size, cols[p[1]].size)) for p in pairs}
    per_pick = epsilon / max(d - 1, 1)
    edges = []
    for _ in range(d - 1):
        open_ = [p for p in pairs if find(p[0]) != find(p[1])]
        logits = np.array([per_pick * score[p] / (2 * SCORE_SENSITIVITY) for p in open_])
        prob = np.exp(logits - logits.max())
        pick = open_[rng.choice(len(open_), p=prob / prob.sum())]
        edges.append(pick)
        parent[find(pick[0])] = find(pick[1])
    return edges


def synthesize(records: pd.DataFrame, schema: dict, rng: np.random.Generator, epsilon: float, bins: int, selection_share: float) -> pd.DataFrame:
    names = [c["name"] for c in schema["columns"] if c["name"] in records.columns]
    types = {c["name"]: c["type"] for c in schema["columns"]}
    cols = [Discretised(records[c].astype(str), types[c], bins) for c in names]
    n_out = len(records)
    d = len(cols)
    if d == 1:
        noisy = np.bincount(cols[0].codes, minlength=cols[0].size) + rng.laplace(0, 1 / epsilon, cols[0].size)
        p = np.clip(noisy, 0, None)
        p = p / p.sum() if p.sum() > 0 else np.full(cols[0].size, 1 / cols[0].size)
        return pd.DataFrame({names[0]: cols[0].decode(rng.choice(cols[0].size, size=n_out, p=p), rng)})

    eps_sel = epsilon * selection_share
    eps_meas = epsilon - eps_sel
    edges = select_tree(cols, eps_sel, rng)
    scale = (d - 1) / eps_meas
    tables = {}
    for i, j in edges:
        t = joint(cols[i].codes, cols[j].codes, cols[i].size, cols[j].size)
        tables[(i, j)] = np.clip(t + rng.laplace(0, scale, t.shape), 0, None)

    # Walk the tree from column 0, sampling each child given its parent.
    neighbours: dict[int, list[tuple[int, np.ndarray]]] = {i: [] for i in range(d)}
    for (i, j), t in tables.items():
        neighbours[i].append((j, t))  # rows: i, columns: j
        neighbours[j].append((i, t.T))
    codes = np.zeros((n_out, d), dtype=int)
    root_margin = neighbours[0][0][1].sum(axis=1)
    codes[:, 0] = rng.choice(cols[0].size, size=n_out, p=_normalise(root_margin))
    done, queue = {0}, [0]
    while queue:
        parent = queue.pop(0)
        for child, table in neighbours[parent]:
            if child in done:
                continue
            margin = _normalise(table.sum(axis=0))
            cond = np.array([_normalise(row) if row.sum() > 0 else margin for row in table])
            cdf = np.cumsum(cond, axis=1)
            u = rng.random(n_out)
            codes[:, child] = np.minimum((cdf[codes[:, parent]] < u[:, None]).sum(axis=1), cols[child].size - 1)
            done.add(child)
            queue.append(child)
    return pd.DataFrame({name: col.decode(codes[:, j], rng) for j, (name, col) in enumerate(zip(names, cols, strict=True))})


def _normalise(w: np.ndarray) -> np.ndarray:
    w = np.clip(np.asarray(w, dtype=float), 0, None)
    total = w.sum()
    return w / total if total > 0 else np.full(len(w), 1.0 / len(w))


def main() -> None:
    env = at.env()
    p = at.params({"epsilon": 1.0, "bins": 12, "selection_share": 0.3})
    records = at.read_table(env.input / "records.csv")
    schema = at.read_schema(env.input)
    rng = np.random.default_rng(env.seed)
    release = synthesize(records, schema, rng, float(p["epsilon"]), int(p["bins"]), float(p["selection_share"]))
    release.to_csv(env.output / "release.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
