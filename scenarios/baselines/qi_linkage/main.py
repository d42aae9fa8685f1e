"""Re-identification by quasi-identifier linkage (Sweeney's attack), aware of generalisation.

Every release row is read as a constraint on the quasi-identifiers it shares with the
register: a value, an interval, a set of values or '*' (anything). Then:

1. Exact step: the register entries compatible with the constraint on every
   quasi-identifier form the match set.
2. Nearest step, when that set is empty (the person moved, a date was perturbed, the row
   was microaggregated or synthesised): for each quasi-identifier in turn, the entries
   compatible on all the others and closest on that one (standardised gap for numbers and
   dates; any value for categories). The relaxation with the smallest gap wins.

The claimed identity is drawn uniformly from the match set (seeded), so its confidence is
the chance of a correct pick if the true person is in the set: 1/|set| for exact matches.
A nearest match is weaker evidence: the row may stem from someone the register lacks, and
the true value may lie on either side, as far again as the gap and beyond. Its confidence
is half of 1/(1 + m), m the number of entries within four times the gap (for categories:
all entries compatible on the others), so it never exceeds 0.25 and a confidence of 0.5
or more always means a unique exact match. Rows that agree with nobody on all but one
quasi-identifier get no link (no claim).
"""

from __future__ import annotations

import os

# The sandbox grants one CPU: more BLAS/OpenMP threads than that only contend for it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pandas as pd

import arena_tables as at

NEAR_MATCH_DISCOUNT = 0.5


class Register:
    """The register's quasi-identifiers, indexed for exact and one-relaxed lookups."""

    def __init__(self, register: pd.DataFrame, qis: list[str], types: dict[str, str]):
        self.qis = qis
        self.types = types
        self.n = len(register)
        self.values: dict[str, np.ndarray] = {}
        self.vocab: dict[str, dict[str, int]] = {}
        for q in qis:
            if types[q] in ("numeric", "date"):
                self.values[q] = at.to_number(register[q], types[q])
            else:
                levels = sorted(set(register[q]))
                self.vocab[q] = {v: i for i, v in enumerate(levels)}
                self.values[q] = np.array([self.vocab[q][v] for v in register[q]])
        self.scale = {q: at.scale_of(self.values[q]) for q in qis if q not in self.vocab}
        # Hash indexes on plain values: all quasi-identifiers, and all but one.
        keys = [self._plain_keys(q) for q in qis]
        self.index: dict[str | None, dict[tuple, np.ndarray]] = {None: self._group(list(zip(*keys, strict=True)))}
        for skip, _ in enumerate(qis):
            self.index[qis[skip]] = self._group(list(zip(*[k for j, k in enumerate(keys) if j != skip], strict=True)))

    def _plain_keys(self, q: str) -> list:
        return list(self.values[q])

    @staticmethod
    def _group(keys: list[tuple]) -> dict[tuple, np.ndarray]:
        groups: dict[tuple, list[int]] = {}
        for i, key in enumerate(keys):
            groups.setdefault(key, []).append(i)
        return {k: np.array(v) for k, v in groups.items()}

    def compatible(self, cons: dict, skip: str | None = None) -> np.ndarray:
        """Indices of entries compatible with ``cons`` on every quasi-identifier but ``skip``."""
        used = [q for q in self.qis if q != skip]
        if all(self._is_plain(q, cons[q]) for q in used):
            return self.index[skip].get(tuple(self._plain_key(q, cons[q]) for q in used), np.empty(0, dtype=int))
        mask = np.ones(self.n, dtype=bool)
        for q in used:
            c = cons[q]
            if q in self.vocab:
                if c is not None:
                    table = np.zeros(len(self.vocab[q]), dtype=bool)
                    table[[self.vocab[q][v] for v in c if v in self.vocab[q]]] = True
                    mask &= table[self.values[q]]
            else:
                lo, hi = c
                if np.isfinite(lo):
                    mask &= self.values[q] >= lo
                if np.isfinite(hi):
                    mask &= self.values[q] <= hi
        return np.flatnonzero(mask)

    def _is_plain(self, q: str, c) -> bool:
        if q in self.vocab:
            return c is not None and len(c) == 1
        return c[0] == c[1]

    def _plain_key(self, q: str, c):
        if q in self.vocab:
            return self.vocab[q].get(next(iter(c)), -1)
        return c[0]

    def nearest(self, cons: dict) -> tuple[np.ndarray, int]:
        """The best one-relaxed match set and how many entries are as plausible (0: none).

        Over the quasi-identifiers relaxed in turn, the smallest standardised gap wins.
        """
        best, best_gap, plausible = np.empty(0, dtype=int), np.inf, 0
        for q in self.qis:
            idx = self.compatible(cons, skip=q)
            if idx.size == 0:
                continue
            if q in self.vocab:
                gap, chosen, around = 1.0, idx, idx.size
            else:
                lo, hi = cons[q]
                v = self.values[q][idx]
                gaps = np.maximum(np.maximum(lo - v, v - hi), 0.0) / self.scale[q]
                gap = float(gaps.min())
                chosen = idx[gaps <= gap]
                around = int((gaps <= 4 * gap).sum())
            if (gap, chosen.size) < (best_gap, best.size if best.size else np.inf):
                best, best_gap, plausible = chosen, gap, around
        return best, plausible


def constraints(release: pd.DataFrame, qis: list[str], types: dict[str, str]) -> list[dict]:
    parsed = {}
    for q in qis:
        if types[q] in ("numeric", "date"):
            lo, hi = at.parse_interval(release[q], types[q])
            parsed[q] = list(zip(lo, hi, strict=True))
        else:
            parsed[q] = at.parse_sets(release[q])
    return [{q: parsed[q][i] for q in qis} for i in range(len(release))]


def link(release: pd.DataFrame, register: pd.DataFrame, schema: dict, rng: np.random.Generator) -> pd.DataFrame:
    types = schema["types"]
    qis = [q for q in schema["quasi_identifiers"] if q in release.columns and q in register.columns]
    if not qis:
        return pd.DataFrame({"release_id": [], "identity_id": [], "confidence": []})
    reg = Register(register, qis, types)
    ids = register["identity_id"].to_numpy()
    # Rows with the same quasi-identifier cells share one match set: compute it once.
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(*[release[q] for q in qis], strict=True)):
        groups.setdefault(key, []).append(i)
    cons = constraints(release, qis, types)
    rows = []
    for members in groups.values():
        c = cons[members[0]]
        match = reg.compatible(c)
        confidence = 1.0 / max(match.size, 1)
        if match.size == 0:
            match, plausible = reg.nearest(c)
            confidence = NEAR_MATCH_DISCOUNT / (1 + plausible)
        if match.size == 0:
            continue
        for i in members:
            rows.append((i, ids[match[rng.integers(match.size)]], confidence))
    rows.sort()
    return pd.DataFrame(
        {
            "release_id": [release["release_id"].iloc[i] for i, _, _ in rows],
            "identity_id": [who for _, who, _ in rows],
            "confidence": [round(conf, 6) for _, _, conf in rows],
        }
    )


def main() -> None:
    env = at.env()
    schema = at.read_schema(env.input)
    release = at.read_table(env.input / "release.csv")
    register = at.read_table(env.input / "register.csv")
    rng = np.random.default_rng(env.seed)
    link(release, register, schema, rng).to_csv(env.output / "links.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
