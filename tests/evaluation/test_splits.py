import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# Tests are imported by path (--import-mode=importlib): make the project importable when
# pytest runs without the Django plugin, which would otherwise add it.
ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from evaluation.splits import KeyedSplits  # noqa: E402

IDS = pd.Series([f"patient-{i}" for i in range(20_000)])


def test_same_key_gives_the_same_split_every_time():
    first = KeyedSplits(b"secret", 0.3).split_of(IDS)
    again = KeyedSplits(b"secret", 0.3).split_of(IDS.sample(frac=1.0, random_state=1)).sort_index()
    assert first.equals(again)
    assert set(first) == {"public", "private"}


def test_public_share_is_close_to_the_fraction():
    for fraction in (0.1, 0.5, 0.8):
        share = (KeyedSplits(b"secret", fraction).split_of(IDS) == "public").mean()
        # binomial standard deviation at n = 20000 is at most 0.0036
        assert abs(share - fraction) < 0.015, (fraction, share)


def test_another_key_splits_differently():
    a = KeyedSplits(b"key one", 0.5).split_of(IDS)
    b = KeyedSplits(b"key two", 0.5).split_of(IDS)
    agreement = (a == b).mean()
    assert 0.45 < agreement < 0.55  # independent halves agree about half the time


def test_matches_the_documented_hmac_definition():
    import hashlib
    import hmac

    splits = KeyedSplits(b"k", 0.5)
    for record_id in ["a", "17", "Müller"]:
        digest = hmac.new(b"k", record_id.encode("utf-8"), hashlib.sha256).digest()
        expected = int.from_bytes(digest[:8], "big") / 2**64
        assert splits.position(record_id) == expected
        assert splits.split_of(pd.Series([record_id])).iloc[0] == ("public" if expected < 0.5 else "private")


def test_ids_are_hashed_as_text_and_keep_their_index():
    splits = KeyedSplits(b"k", 0.5)
    numbers = pd.Series([7, 8, 9], index=[10, 11, 12])
    texts = pd.Series(["7", "8", "9"], index=[10, 11, 12])
    assert splits.split_of(numbers).equals(splits.split_of(texts))
    assert list(splits.split_of(numbers).index) == [10, 11, 12]


def test_extreme_fractions():
    assert (KeyedSplits(b"k", 0.0).split_of(IDS[:500]) == "private").all()
    assert (KeyedSplits(b"k", 1.0).split_of(IDS[:500]) == "public").all()


def test_positions_look_uniform():
    positions = KeyedSplits(b"k", 0.5).positions(IDS).to_numpy()
    counts, _ = np.histogram(positions, bins=10, range=(0, 1))
    assert counts.min() > 1800 and counts.max() < 2200


@pytest.mark.parametrize("key, fraction", [(b"", 0.5), (b"k", -0.1), (b"k", 1.5)])
def test_rejects_bad_settings(key, fraction):
    with pytest.raises(ValueError):
        KeyedSplits(key, fraction)


def test_repr_hides_the_key():
    assert "secret" not in repr(KeyedSplits(b"secret", 0.5))
