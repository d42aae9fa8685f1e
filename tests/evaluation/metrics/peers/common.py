"""What the peer tests share: where the peers' own data lies, and how much of it to run."""

import os
from pathlib import Path

DATA = Path(__file__).parent / "data"


def quick_run() -> bool:
    """The whole peer suite runs by default (about four minutes here, most of it pycanon's
    one pass over the table per class); ``ARENA_PEERS_QUICK=1`` leaves out the cases that
    take pycanon longest, for a quicker turn while developing. CI always runs them all."""
    return os.environ.get("ARENA_PEERS_QUICK") == "1" and not os.environ.get("CI")
