"""An attack round as files: what a sandboxed game attack finds in /input and writes back.

```
/input/schema.json             the competition's schema (as for every task)
/input/target.csv              one row: the target patient, without id
/input/population.csv          the population pool without the target (no ids)
/input/releases/<id>.csv       the releases to guess, ids r000, r001, … in shuffled order
/input/shadow/<id>.csv         labelled releases of the same game (may be absent)
/input/shadow.csv              release_id, is_member (1: the target was in) for shadow/
/output/predictions.csv        release_id, score in [0, 1] for every file in releases/
```

The baseline attacks (``scenarios/baselines/shadow_membership``, ``extreme_membership``)
read exactly this; the pipeline writes it with :func:`round_write` and reads the answer with
:func:`predictions_read`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .engine import AttackRound


def _csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")


def round_write(game_round: AttackRound, dest: Path, *, schema: dict) -> list[str]:
    """Write ``game_round`` into the empty folder ``dest``; returns the release ids in order."""
    dest = Path(dest)
    (dest / "releases").mkdir(parents=True)
    (dest / "schema.json").write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    _csv(game_round.target.to_frame().T, dest / "target.csv")
    _csv(game_round.population, dest / "population.csv")
    ids = [f"r{i:03d}" for i in range(len(game_round.releases))]
    for release_id, release in zip(ids, game_round.releases, strict=True):
        _csv(release, dest / "releases" / f"{release_id}.csv")
    if game_round.shadow:
        (dest / "shadow").mkdir()
        shadow_ids = [f"s{i:03d}" for i in range(len(game_round.shadow))]
        for shadow_id, (release, _) in zip(shadow_ids, game_round.shadow, strict=True):
            _csv(release, dest / "shadow" / f"{shadow_id}.csv")
        _csv(pd.DataFrame({"release_id": shadow_ids, "is_member": [int(m) for _, m in game_round.shadow]}), dest / "shadow.csv")
    return ids


def predictions_read(path: Path, release_ids: list[str]) -> np.ndarray:
    """Scores in the order of ``release_ids``; a clear error for a missing, unknown or bad row."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path.name} was not written")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(frame.columns[:2]) != ["release_id", "score"]:
        raise ValueError(f"{path.name}: expected the columns release_id, score; got {', '.join(frame.columns)}")
    scores = pd.to_numeric(frame["score"], errors="coerce")
    bad = frame.index[~scores.between(0, 1)]
    if len(bad):
        raise ValueError(f"{path.name} line {bad[0] + 2}: score {frame['score'][bad[0]]!r} is not a number in [0, 1]")
    by_id = dict(zip(frame["release_id"], scores, strict=True))
    missing = [r for r in release_ids if r not in by_id]
    unknown = sorted(set(by_id) - set(release_ids))
    if missing or unknown or len(by_id) != len(frame):
        raise ValueError(f"{path.name}: needs one row per release (missing {missing[:3]}, unknown {unknown[:3]}, {len(frame) - len(by_id)} repeated)")
    return np.array([by_id[r] for r in release_ids], dtype=float)
