"""Postcodes of the invented region and how many people live in each.

Five-digit codes in the style of a mid-sized German city (the 04xxx range) and its rural
district. Figures are illustrative but keep the real shape: inner-city codes hold 15-30
thousand residents, rural codes a few thousand. Linkage risk depends on how many people
share a postcode, so the spread matters more than the exact numbers.
"""

from __future__ import annotations

import numpy as np

# (postcode, residents, urban?) — urban codes are denser and younger on average.
POSTCODES: tuple[tuple[str, int, bool], ...] = (
    ("04103", 16400, True), ("04105", 14200, True), ("04107", 12900, True),
    ("04109", 9800, True), ("04129", 21300, True), ("04155", 19800, True),
    ("04157", 23100, True), ("04158", 11200, True), ("04159", 14700, True),
    ("04177", 29400, True), ("04178", 12100, True), ("04179", 17600, True),
    ("04205", 10300, True), ("04207", 24900, True), ("04209", 18200, True),
    ("04229", 22800, True), ("04249", 16300, True), ("04275", 25100, True),
    ("04277", 27600, True), ("04279", 13500, True), ("04289", 15800, True),
    ("04299", 17900, True), ("04315", 19900, True), ("04317", 21700, True),
    ("04318", 10800, True), ("04319", 12400, True), ("04328", 13100, True),
    ("04329", 18500, True), ("04347", 15600, True), ("04349", 12800, True),
    ("04356", 9100, True), ("04357", 13900, True),
    ("04420", 6100, False), ("04425", 9300, False), ("04430", 7600, False),
    ("04435", 8800, False), ("04442", 5400, False), ("04451", 6900, False),
    ("04460", 4300, False), ("04463", 8200, False), ("04509", 7100, False),
    ("04519", 3600, False), ("04523", 5800, False), ("04539", 4700, False),
    ("04552", 3900, False), ("04565", 5200, False), ("04571", 4400, False),
    ("04575", 2900, False),
)


def codes() -> np.ndarray:
    return np.array([p for p, _, _ in POSTCODES])


def weights() -> np.ndarray:
    w = np.array([n for _, n, _ in POSTCODES], dtype=float)
    return w / w.sum()


def urban() -> np.ndarray:
    return np.array([u for _, _, u in POSTCODES])
