"""Residents of the region and the named population register that lists them.

The register is what a linkage attacker holds: a public or purchasable list of names with
birth date, sex and postcode (a voter roll, a marketing database, a leaked customer
table). Like every real register it is imperfect: a few residents are missing from it and
a few are listed under the postcode they lived at before they moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scenarios.region import names, postcodes

SNAPSHOT = pd.Timestamp("2025-12-31")  # the day the ages below refer to

# Share of residents per age band (years: [lower, next lower)), after the German age structure.
AGE_SHARES: tuple[tuple[int, int, float], ...] = (
    (0, 1, 0.009), (1, 15, 0.125), (15, 30, 0.155), (30, 45, 0.195),
    (45, 60, 0.205), (60, 75, 0.190), (75, 85, 0.085), (85, 101, 0.036),
)
# Cities are younger than their rural districts: extra weight on 15-44 in urban postcodes.
URBAN_AGE_BOOST = {15: 1.3, 30: 1.15}
# Share of women per age band: men die earlier, so the oldest bands are mostly women.
FEMALE_SHARE = {0: 0.487, 1: 0.487, 15: 0.48, 30: 0.49, 45: 0.496, 60: 0.515, 75: 0.56, 85: 0.66}

NOT_IN_REGISTER = 0.03  # residents the register misses (moved in recently, blocked entries)
MOVED = 0.03  # residents listed under a previous postcode


@dataclass(frozen=True)
class Region:
    residents: pd.DataFrame  # person, identity_id, names, birth_date, sex, postcode, register fields
    register: pd.DataFrame  # identity_id, first_name, last_name, birth_date, sex, postcode


def _ages(rng: np.random.Generator, urban: np.ndarray) -> np.ndarray:
    """Whole years of age at SNAPSHOT, drawn per resident from the band shares."""
    lows = np.array([lo for lo, _, _ in AGE_SHARES])
    highs = np.array([hi for _, hi, _ in AGE_SHARES])
    base = np.array([s for _, _, s in AGE_SHARES])
    boosted = base * np.array([URBAN_AGE_BOOST.get(lo, 1.0) for lo in lows])
    ages = np.empty(len(urban), dtype=int)
    for is_urban, shares in ((True, boosted), (False, base)):
        idx = np.flatnonzero(urban == is_urban)
        band = rng.choice(len(shares), size=idx.size, p=shares / shares.sum())
        ages[idx] = rng.integers(lows[band], highs[band])
    return ages


def residents(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = postcodes.codes()
    where = rng.choice(len(codes), size=n, p=postcodes.weights())
    postcode = codes[where]
    age = _ages(rng, postcodes.urban()[where])

    female_share = np.array([FEMALE_SHARE[lo] for lo, _, _ in AGE_SHARES])
    band = np.searchsorted(np.array([lo for lo, _, _ in AGE_SHARES]), age, side="right") - 1
    sex = np.where(rng.random(n) < female_share[band], "F", "M")

    # A birth date uniformly within the year of age: born between age+1 and age years before SNAPSHOT.
    days_before = np.floor((age + rng.random(n)) * 365.25).astype(int)
    birth = SNAPSHOT - pd.to_timedelta(days_before, unit="D")

    # Identity numbers are random and unique, so they say nothing about row order or age.
    identity = rng.choice(np.arange(1_000_000, 10_000_000), size=n, replace=False)

    moved = rng.random(n) < MOVED
    previous = codes[rng.choice(len(codes), size=n, p=postcodes.weights())]
    # A move is to a different postcode; a same-code draw is redrawn once and otherwise kept out.
    again = codes[rng.choice(len(codes), size=n, p=postcodes.weights())]
    previous = np.where(previous == postcode, again, previous)
    moved &= previous != postcode

    return pd.DataFrame(
        {
            "person": np.arange(n),
            "identity_id": identity.astype(str),
            "first_name": names.draw_first_names(rng, birth.year.to_numpy(), sex),
            "last_name": names.draw_surnames(rng, n),
            "birth_date": birth,
            "sex": sex,
            "postcode": postcode,
            "register_postcode": np.where(moved, previous, postcode),
            "in_register": rng.random(n) >= NOT_IN_REGISTER,
        }
    )


def register_of(people: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The named register: listed residents in a random order, postcodes as registered."""
    listed = people[people["in_register"]]
    order = np.random.default_rng(seed).permutation(len(listed))
    listed = listed.iloc[order]
    return pd.DataFrame(
        {
            "identity_id": listed["identity_id"].to_numpy(),
            "first_name": listed["first_name"].to_numpy(),
            "last_name": listed["last_name"].to_numpy(),
            "birth_date": listed["birth_date"].dt.strftime("%Y-%m-%d").to_numpy(),
            "sex": listed["sex"].to_numpy(),
            "postcode": listed["register_postcode"].to_numpy(),
        }
    )


def region(seed: int, n: int) -> Region:
    people = residents(seed, n)
    return Region(residents=people, register=register_of(people, seed + 1))


def uniqueness(frame: pd.DataFrame, columns: list[str]) -> float:
    """Share of rows whose combination of ``columns`` occurs exactly once in ``frame``."""
    sizes = frame.groupby(columns, sort=False)[columns[0]].transform("size")
    return float((sizes == 1).mean())
