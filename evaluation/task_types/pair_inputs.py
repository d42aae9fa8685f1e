"""Building an attack's inputs from a defense's release (arena pairs).

Every (attack, defense) pair gets its own random draw of challenge records and its own
fresh ids, derived from the attack run's seed and the defense's key: the same pair always
gets the same inputs (a re-run or a cached result stays valid), while an attack cannot
carry answers it learnt on one defense over to another.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from .base import OutputInvalid, Schema, Target, TaskDataInvalid
from .csvio import Problems, read_output
from .values import parse_release

_ID_HEX_DIGITS = 12  # 48 random bits: collisions are retried, guessing is hopeless


def pair_rng(task: str, target: Target, seed: int) -> np.random.Generator:
    """A generator seeded by the attack task, the attack run's seed and the defense."""
    material = f"{task}\x1f{int(seed)}\x1f{target.key}".encode("utf-8")
    return np.random.default_rng(int.from_bytes(hashlib.sha256(material).digest()[:16], "big"))


def fresh_ids(rng: np.random.Generator, n: int, prefix: str) -> list[str]:
    """``n`` distinct random ids such as ``c3f9a1b0e77d2``, reproducible from ``rng``."""
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < n:
        for raw in rng.integers(0, 16**_ID_HEX_DIGITS, size=n - len(ids), dtype=np.int64):
            text = f"{prefix}{int(raw):0{_ID_HEX_DIGITS}x}"
            if text not in seen:
                seen.add(text)
                ids.append(text)
    return ids


def draw(frame: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` rows of ``frame`` without replacement, in random order."""
    rows = rng.choice(len(frame), size=min(n, len(frame)), replace=False)
    return frame.iloc[rows].reset_index(drop=True)


def read_target_release(target: Target, schema: Schema) -> pd.DataFrame:
    """The defense's release as text, checked as the defense task checks it.

    The release was already validated when the defense was scored; reading it through the
    same checks again guards against a release stored by another path.
    """
    path = Path(target.release)
    try:
        frame = read_output(
            path, required=list(schema.columns), optional=[schema.id_column], max_rows=10**8, max_bytes=2**40
        )
        problems = Problems(path.name)
        parse_release(frame, schema, problems)
        problems.raise_if_any()
    except OutputInvalid as exc:
        raise TaskDataInvalid(f"the defense release {target.key} cannot serve as a target: {exc}") from exc
    return frame.reset_index(drop=True)


def shuffled(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


