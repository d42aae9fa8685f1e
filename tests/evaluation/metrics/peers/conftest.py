from pathlib import Path

import pytest

from tests.evaluation.metrics.peers.common import DATA


@pytest.fixture(scope="session")
def peer_data() -> Path:
    return DATA
