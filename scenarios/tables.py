"""Deterministic table output and fresh identifiers.

Byte-identical builds need the same row order, the same number formatting and the same
line endings every time: every table is written through :func:`write_csv`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def fresh_ids(rng: np.random.Generator, n: int, prefix: str, digits: int = 6) -> np.ndarray:
    """``n`` distinct random ids like ``R048213``: unguessable, and silent about row order."""
    numbers = rng.choice(10**digits, size=n, replace=False)
    return np.array([f"{prefix}{x:0{digits}d}" for x in numbers], dtype=object)


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as the text a CSV should hold: integral columns without '.0', others as repr."""
    out = frame.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype.kind == "f":
            if np.all(np.isfinite(col)) and np.all(col == np.round(col)):
                out[c] = col.astype("int64").astype(str)
            else:
                out[c] = [repr(float(v)) for v in col]
        elif col.dtype.kind in "iu":
            out[c] = col.astype(str)
    return out


def uniqueness(frame: pd.DataFrame, columns: list[str]) -> float:
    """Share of rows whose combination of ``columns`` occurs exactly once in ``frame``."""
    sizes = frame.groupby(columns, sort=False)[columns[0]].transform("size")
    return float((sizes == 1).mean())
