"""Reading arena tables: paths, schema, parameters and generalised values.

Shared by the baselines and copied next to each one's ``main.py``. A release may hold
generalised values (docs/task-types.md): numeric and date columns a value, an interval
``[lo, hi]`` / ``[lo, hi)`` or ``*``; categorical columns a value, a set ``{a|b|c}`` or
``*``. Attacks read every cell as such a constraint, so one code path serves raw,
k-anonymous, microaggregated and synthetic releases alike.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SUPPRESSED = "*"
DAY = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class Env:
    input: Path
    output: Path
    seed: int


def env() -> Env:
    out = Path(os.environ.get("ARENA_OUTPUT", "/output"))
    out.mkdir(parents=True, exist_ok=True)
    return Env(
        input=Path(os.environ.get("ARENA_INPUT", "/input")),
        output=out,
        seed=int(os.environ.get("ARENA_SEED", "0") or 0),
    )


def params(defaults: dict) -> dict:
    """``params.json`` next to the running ``main.py`` overrides ``defaults``."""
    import __main__

    path = Path(getattr(__main__, "__file__", "main.py")).resolve().parent / "params.json"
    merged = dict(defaults)
    if path.is_file():
        merged.update(json.loads(path.read_text()))
    return merged


def read_table(path: Path) -> pd.DataFrame:
    """Every cell as text: postcodes keep leading zeros, '*' and intervals stay intact."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


def read_schema(input_dir: Path) -> dict:
    schema = json.loads((input_dir / "schema.json").read_text())
    schema["types"] = {c["name"]: c["type"] for c in schema["columns"]}
    return schema


def secret_column(input_dir: Path, schema: dict) -> str:
    """The attribute an attribute-inference attack guesses: ``task.json``'s ``secret``,
    else the schema's first sensitive column (docs/task-types.md)."""
    path = input_dir / "task.json"
    if path.is_file():
        secret = json.loads(path.read_text()).get("secret")
        if secret:
            return secret
    if schema.get("sensitive"):
        return schema["sensitive"][0]
    raise SystemExit("neither task.json nor schema.json names the column to infer")


def id_like(name: str, schema: dict) -> bool:
    return name == schema.get("id_column") or name.endswith("_id")


# ---------------------------------------------------------------- numbers and dates


def to_number(values: pd.Series, kind: str) -> np.ndarray:
    """Plain values as floats; dates as days since 1970-01-01."""
    if kind == "date":
        parsed = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
        return ((parsed - pd.Timestamp("1970-01-01")).dt.days).to_numpy(dtype=float)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def from_number(values: np.ndarray, kind: str, decimals: int | None = None) -> list[str]:
    """The inverse of :func:`to_number`, formatted the way CSV files of the arena write them."""
    if kind == "date":
        days = np.round(values).astype("int64")
        return list(np.datetime_as_string(DAY + days.astype("timedelta64[D]"), unit="D"))
    if decimals == 0:
        return [str(int(v)) for v in np.round(values)]
    if decimals is None:
        return [repr(float(v)) for v in values]
    return [f"{v:.{decimals}f}" for v in values]


def decimals_of(values: pd.Series) -> int:
    """How many decimals the plain values of a numeric column carry (0: integers)."""
    text = values[values.str.match(r"^-?\d+(\.\d+)?$")]
    if text.empty:
        return 4
    frac = text.str.extract(r"\.(\d+)$")[0].fillna("")
    return int(frac.str.len().max())


def parse_interval(values: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds per cell; a plain value is its own interval, '*' is unbounded."""
    s = values.astype(str).str.strip()
    lo = np.full(len(s), -np.inf)
    hi = np.full(len(s), np.inf)
    star = (s == SUPPRESSED) | (s == "")
    bracket = s.str.startswith("[").to_numpy()
    plain = ~star.to_numpy() & ~bracket
    if plain.any():
        v = to_number(s[plain], kind)
        lo[plain] = v
        hi[plain] = v
    if bracket.any():
        parts = s[bracket].str.extract(r"^\[\s*([^,]+?)\s*,\s*([^\]\)]+?)\s*([\]\)])$")
        a = to_number(parts[0], kind)
        b = to_number(parts[1], kind)
        half_open = (parts[2] == ")").to_numpy()
        step = np.where(half_open, 1.0, 0.0) if kind == "date" else 0.0
        b = b - step if kind == "date" else np.where(half_open, np.nextafter(b, -np.inf), b)
        lo[bracket] = a
        hi[bracket] = b
    # Unparseable cells carry no information: treat them like '*'.
    bad = np.isnan(lo) | np.isnan(hi)
    lo[bad] = -np.inf
    hi[bad] = np.inf
    return lo, hi


def parse_sets(values: pd.Series) -> list[frozenset | None]:
    """Allowed values per categorical cell; ``None`` where the cell is suppressed."""
    out: list[frozenset | None] = []
    for v in values.astype(str):
        v = v.strip()
        if v in (SUPPRESSED, ""):
            out.append(None)
        elif v.startswith("{") and v.endswith("}"):
            out.append(frozenset(x.strip() for x in v[1:-1].split("|")))
        else:
            out.append(frozenset((v,)))
    return out


def is_generalised(values: pd.Series) -> np.ndarray:
    s = values.astype(str).str.strip()
    return ((s == SUPPRESSED) | s.str.startswith("[") | s.str.startswith("{")).to_numpy()


def scale_of(values: np.ndarray) -> float:
    """A robust spread for standardising distances (interquartile range, else std, else 1)."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return 1.0
    q1, q3 = np.percentile(v, [25, 75])
    s = (q3 - q1) / 1.349
    if not s > 0:
        s = float(np.std(v))
    return s if s > 0 else 1.0


# ---------------------------------------------------------------- distances to a release


class ReleaseSpace:
    """Distances from plain query records to release rows that may be generalised.

    Per column the distance is the gap between the query value and the release cell's
    interval divided by a robust scale (numeric, date), or 0/1 for inside/outside the
    release cell's set (categorical); '*' is compatible with everything. Columns combine
    as a Euclidean norm, so on plain values this is the usual standardised mixed distance.
    """

    def __init__(self, release: pd.DataFrame, columns: list[str], types: dict[str, str], reference: pd.DataFrame):
        self.columns = columns
        self.types = types
        self.numeric: list[tuple[str, np.ndarray, np.ndarray, float]] = []
        self.categorical: list[tuple[str, dict[str, int], np.ndarray]] = []
        for c in columns:
            kind = types[c]
            if kind in ("numeric", "date"):
                lo, hi = parse_interval(release[c], kind)
                scale = scale_of(to_number(reference[c], kind))
                self.numeric.append((c, lo, hi, scale))
            else:
                sets = parse_sets(release[c])
                vocab: dict[str, int] = {}
                for s in sets:
                    for v in sorted(s or ()):
                        vocab.setdefault(v, len(vocab))
                allowed = np.zeros((len(sets), len(vocab) + 1), dtype=bool)
                for i, s in enumerate(sets):
                    if s is None:
                        allowed[i, :] = True  # suppressed: anything fits, unseen values too
                    else:
                        allowed[i, [vocab[v] for v in s]] = True
                self.categorical.append((c, vocab, allowed))
        self.size = len(release)

    def encode(self, queries: pd.DataFrame) -> tuple[list[np.ndarray], list[np.ndarray]]:
        nums = [to_number(queries[c], self.types[c]) for c, *_ in self.numeric]
        cats = [np.array([vocab.get(v, len(vocab)) for v in queries[c].astype(str)]) for c, vocab, _ in self.categorical]
        return nums, cats

    def distances(self, queries: pd.DataFrame, chunk: int = 256):
        """Yield (row slice, distance matrix of shape (rows, release rows))."""
        nums, cats = self.encode(queries)
        for start in range(0, len(queries), chunk):
            stop = min(start + chunk, len(queries))
            d2 = np.zeros((stop - start, self.size))
            for (_c, lo, hi, scale), x in zip(self.numeric, nums, strict=True):
                q = x[start:stop, None]
                gap = np.maximum(np.maximum(lo[None, :] - q, q - hi[None, :]), 0.0)
                gap = np.where(np.isnan(gap), 0.0, gap)  # a missing query value matches anything
                d2 += (gap / scale) ** 2
            for (_c, _vocab, allowed), code in zip(self.categorical, cats, strict=True):
                d2 += ~allowed[:, code[start:stop]].T
            yield slice(start, stop), np.sqrt(d2)


def midpoints(values: pd.Series, kind: str, reference: np.ndarray | None = None) -> np.ndarray:
    """One number per cell: the value, an interval's midpoint, or the reference median for '*'."""
    lo, hi = parse_interval(values, kind)
    mid = (lo + hi) / 2
    mid = np.where(np.isfinite(lo) & ~np.isfinite(hi), lo, mid)
    mid = np.where(~np.isfinite(lo) & np.isfinite(hi), hi, mid)
    fill = np.nanmedian(reference) if reference is not None and np.isfinite(reference).any() else np.nan
    return np.where(np.isfinite(mid), mid, fill)


def sample_within(release: pd.DataFrame, columns: list[str], types: dict[str, str], reference: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A plain stand-in for each release row: a value drawn inside each generalised cell.

    Intervals give a uniform draw inside (clipped to the reference's range when open);
    sets a uniform member; '*' a draw from the reference column. Plain cells stay as they are.
    """
    out = {}
    for c in columns:
        kind = types[c]
        ref = reference[c].astype(str)
        if kind in ("numeric", "date"):
            lo, hi = parse_interval(release[c], kind)
            ref_v = to_number(ref, kind)
            ref_v = ref_v[np.isfinite(ref_v)]
            lo_c = np.where(np.isfinite(lo), lo, ref_v.min() if ref_v.size else 0.0)
            hi_c = np.where(np.isfinite(hi), hi, ref_v.max() if ref_v.size else 0.0)
            v = lo_c + rng.random(len(lo)) * (hi_c - lo_c)
            both_open = ~np.isfinite(lo) & ~np.isfinite(hi)
            if both_open.any() and ref_v.size:
                v[both_open] = rng.choice(ref_v, size=int(both_open.sum()))
            out[c] = v
        else:
            sets = parse_sets(release[c])
            pool = ref.to_numpy()
            vals = []
            for s in sets:
                if s is None:
                    vals.append(pool[rng.integers(len(pool))] if len(pool) else SUPPRESSED)
                elif len(s) == 1:
                    vals.append(next(iter(s)))
                else:
                    options = sorted(s)
                    vals.append(options[rng.integers(len(options))])
            out[c] = np.array(vals, dtype=object)
    return pd.DataFrame(out)


def encode_plain(frames: list[pd.DataFrame], columns: list[str], types: dict[str, str], max_levels: int = 50) -> list[np.ndarray]:
    """Numeric matrices for plain tables: standardised numbers, one-hot categories.

    Scales and category levels come from the first frame (the reference); categories
    beyond the ``max_levels`` most common share one 'other' column.
    """
    ref = frames[0]
    blocks: list[list[np.ndarray]] = [[] for _ in frames]
    for c in columns:
        kind = types[c]
        if kind in ("numeric", "date"):
            vals = [f[c] if f[c].dtype.kind == "f" else to_number(f[c].astype(str), kind) for f in frames]
            vals = [np.asarray(v, dtype=float) for v in vals]
            center = np.nanmedian(vals[0]) if np.isfinite(vals[0]).any() else 0.0
            scale = scale_of(vals[0])
            for b, v in zip(blocks, vals, strict=True):
                z = (v - center) / scale
                b.append(np.where(np.isfinite(z), z, 0.0)[:, None])
        else:
            levels = list(ref[c].astype(str).value_counts().index[:max_levels])
            index = {v: i for i, v in enumerate(levels)}
            for b, f in zip(blocks, frames, strict=True):
                codes = np.array([index.get(v, len(levels)) for v in f[c].astype(str)])
                onehot = np.zeros((len(f), len(levels) + 1))
                onehot[np.arange(len(f)), codes] = 1.0
                b.append(onehot / np.sqrt(2.0))
    return [np.hstack(b) if b else np.zeros((len(f), 0)) for b, f in zip(blocks, frames, strict=True)]
