import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def full_run() -> bool:
    """The peer tools are slow (pycanon makes one pass over the table per class):
    the cases that take the reference minutes run when ``ARENA_PEERS_FULL=1``."""
    return os.environ.get("ARENA_PEERS_FULL") == "1"


@pytest.fixture(scope="session")
def peer_data() -> Path:
    return DATA
