"""Public/private leaderboard splits decided by a keyed hash of each id.

A record (or challenge point) is on the public leaderboard when
``HMAC-SHA256(key, id)``, read as a number in [0, 1), is below the phase's public fraction.
The assignment is

* stable: the same id always lands on the same side, whatever submission is scored;
* unguessable: without the competition's secret key a team cannot tell which of its
  predictions count publicly, so it cannot tune on the private split through the public
  leaderboard;
* reproducible: the organizer, holding the key, can recompute it anywhere.

Ids are hashed as their text (``str(id)`` encoded as UTF-8), the form they have in the CSV
files, so ``7`` and ``"7"`` fall on the same side.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd

from evaluation.task_types.base import SplitAssigner

PUBLIC = "public"
PRIVATE = "private"
SPLITS = (PUBLIC, PRIVATE)

_TWO_64 = float(2**64)


class KeyedSplits(SplitAssigner):
    """Assign ids to ``"public"`` / ``"private"`` by HMAC-SHA256 under the competition key."""

    def __init__(self, key: bytes, public_fraction: float):
        if isinstance(key, str):
            key = key.encode("utf-8")
        if not isinstance(key, (bytes, bytearray)) or not key:
            raise ValueError("the split key must be non-empty bytes (the competition's secret)")
        fraction = float(public_fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"public_fraction must be between 0 and 1, got {public_fraction!r}")
        self._key = bytes(key)
        self.public_fraction = fraction

    def __repr__(self) -> str:  # never shows the key
        return f"KeyedSplits(public_fraction={self.public_fraction})"

    def position(self, record_id: object) -> float:
        """The id's uniform position in [0, 1): the first 8 bytes of the HMAC as a fraction."""
        digest = hmac.new(self._key, str(record_id).encode("utf-8"), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") / _TWO_64

    def positions(self, ids: pd.Series) -> pd.Series:
        return pd.Series([self.position(i) for i in ids], index=ids.index, dtype=float)

    def split_of(self, ids: pd.Series) -> pd.Series:
        ids = pd.Series(ids)
        public = self.positions(ids).to_numpy() < self.public_fraction
        return pd.Series(np.where(public, PUBLIC, PRIVATE), index=ids.index, dtype=object)
