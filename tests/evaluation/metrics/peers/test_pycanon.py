"""pycanon 1.0 against the project on pycanon's own datasets and test cases.

Every criterion pycanon computes, on every dataset pycanon ships (``data/pycanon/``,
with the quasi-identifiers and sensitive attributes of pycanon's examples), once
with pycanon and once with the project, compared exactly (integers) or to 1e-12
(real numbers). The project runs with its pycanon-compatible options:
``missing="drop"`` (pycanon's groupby drops rows with a missing quasi-identifier),
``rounding="truncate"`` for entropy l-diversity and ``order="ascending"`` for
recursive (c,l)-diversity; the defaults differ on purpose (docs/metrics.md), and
``test_defaults_differ_only_where_documented`` pins down how.
"""

import functools
import math

import numpy as np
import pandas as pd
import pytest
from pycanon import anonymity as pycanon

from evaluation import metrics
from tests.evaluation.metrics.peers.common import DATA, quick_run
from tests.evaluation.metrics.peers.pycanon_cases import CASES, HOSPITAL, STUDENTS

# pycanon takes seconds per criterion on these (raw or large tables); ARENA_PEERS_QUICK=1
# runs only k and l on them (never in CI)
SLOW = {
    name
    for name in CASES
    if "airline" in name or name.endswith("healthcare-dataset-stroke-data") or name.endswith("adult_anonymized_3")
    or name.endswith("adult_k3_anonymized_l2")
}
CHEAP = ("k_anonymity", "l_diversity")
CRITERIA = (
    "k_anonymity",
    "l_diversity",
    "entropy_l_diversity",
    "alpha_k_anonymity",
    "recursive_c_l_diversity",
    "basic_beta_likeness",
    "enhanced_beta_likeness",
    "delta_disclosure",
    "t_closeness",
)
COMPATIBLE = {
    "entropy_l_diversity": {"rounding": "truncate"},
    "recursive_c_l_diversity": {"order": "ascending"},
}


@functools.lru_cache(maxsize=4)
def table(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / "pycanon" / f"{name}.csv.gz")


@functools.lru_cache(maxsize=None)
def reference(name: str, criterion: str, gen: bool = True):
    qis, sensitive = CASES[name]
    function = getattr(pycanon, criterion)
    if criterion == "k_anonymity":
        return function(table(name), qis)
    return function(table(name), qis, sensitive, gen=gen)


def ours(name: str, criterion: str, **options):
    qis, sensitive = CASES[name]
    function = getattr(metrics, criterion)
    options = {"missing": "drop", **COMPATIBLE.get(criterion, {}), **options}
    if criterion == "k_anonymity":
        return function(table(name), qis, **options)
    return function(table(name), qis, sensitive, **options)


def same(mine, theirs) -> bool:
    if isinstance(theirs, tuple):
        return len(theirs) == 2 and same(mine[0], theirs[0]) and same(mine[1], theirs[1])
    if isinstance(theirs, (float, np.floating)) and math.isnan(theirs):
        return math.isnan(mine)
    if isinstance(theirs, (int, np.integer)) and not isinstance(theirs, bool):
        return mine == theirs
    return math.isclose(mine, theirs, rel_tol=0, abs_tol=1e-12)


CASE_IDS = [
    (name, criterion)
    for name in CASES
    for criterion in CRITERIA
]


@pytest.mark.parametrize(("name", "criterion"), CASE_IDS, ids=[f"{n}-{c}" for n, c in CASE_IDS])
def test_equals_pycanon_on_its_data(name, criterion):
    if name in SLOW and criterion not in CHEAP and quick_run():
        pytest.skip("left out by ARENA_PEERS_QUICK=1")
    theirs = reference(name, criterion)
    mine = ours(name, criterion)
    assert same(mine, theirs), f"{criterion} on {name}: pycanon {theirs!r}, project {mine!r}"


@pytest.mark.parametrize("criterion", CRITERIA[1:])
def test_equals_pycanon_per_attribute_classes(criterion):
    """pycanon's ``gen=False``: each sensitive attribute judged in classes over the
    quasi-identifiers and the other sensitive attributes (pycanon's TestMultipleSA
    runs it on the airline table, here too unless ARENA_PEERS_QUICK=1)."""
    names = ["processed__hospital_anonymized"] + ([] if quick_run() else ["processed__airline_passenger_sat_k5"])
    for name in names:
        theirs = reference(name, criterion, gen=False)
        mine = ours(name, criterion, others_as_quasi_identifiers=True)
        assert same(mine, theirs), f"{criterion} (gen=False) on {name}: pycanon {theirs!r}, project {mine!r}"


# pycanon's own unit tests (tests/test_anonymity.py, TestMathScores): the values it asserts
def test_pycanon_unit_test_values():
    raw = table("processed__StudentsMath_Score")
    anonymised = table("processed__StudentsMath_Score_k5")
    qis, sa = STUDENTS
    assert metrics.k_anonymity(raw, qis) == 1
    assert metrics.l_diversity(raw, qis, sa) == 1
    assert metrics.entropy_l_diversity(raw, qis, sa, rounding="truncate") == 1
    c, l_value, reason = metrics.recursive_c_l_diversity(raw, qis, sa)
    assert math.isnan(c) and l_value == 1 and reason
    assert tuple(metrics.alpha_k_anonymity(raw, qis, sa)) == (1, 1)
    assert metrics.basic_beta_likeness(raw, qis, sa) == pytest.approx(71.0, abs=1e-12)
    assert metrics.enhanced_beta_likeness(raw, qis, sa) == pytest.approx(5.375278407684164, abs=1e-12)
    assert metrics.delta_disclosure(raw, qis, sa) == pytest.approx(4.276666119016055, abs=1e-12)
    assert metrics.t_closeness(raw, qis, sa) == pytest.approx(0.4165919952210274, abs=1e-12)
    assert metrics.k_anonymity(anonymised, qis) == 5
    assert tuple(metrics.recursive_c_l_diversity(anonymised, qis, sa, order="ascending"))[:2] == (1, 4)
    assert tuple(metrics.alpha_k_anonymity(anonymised, qis, sa)) == (0.5, 5)


def test_defaults_differ_only_where_documented():
    """The project's defaults depart from pycanon in three documented ways; each
    is shown here on a table where it matters, next to the option that removes it."""
    # entropy l: a class spread evenly over 7 values is entropy 7-diverse; pycanon's
    # e ** ln 7 = 6.999999999999998 truncates to 6
    even = pd.DataFrame({"q": ["a"] * 7, "s": list("abcdefg")})
    assert metrics.entropy_l_diversity(even, "q", "s") == 7.0
    assert metrics.entropy_l_diversity(even, "q", "s", rounding="truncate") == pycanon.entropy_l_diversity(even, ["q"], ["s"]) == 6
    # recursive (c,l): the definition's r_1 is the most frequent value
    skewed = pd.DataFrame({"q": ["a"] * 6, "s": list("xxxxyz")})
    assert metrics.recursive_c_l_diversity(skewed, "q", "s", l=2).c == 3  # 4 < 3·(1+1)
    assert metrics.recursive_c_l_diversity(skewed, "q", "s", order="ascending").c == pycanon.recursive_c_l_diversity(skewed, ["q"], ["s"])[0]
    # a missing quasi-identifier: kept as a value of its own here, dropped by pycanon
    gaps = pd.DataFrame({"q": ["a", "a", None], "s": ["x", "y", "z"]})
    assert metrics.k_anonymity(gaps, "q") == 1
    assert metrics.k_anonymity(gaps, "q", missing="drop") == pycanon.k_anonymity(gaps, ["q"]) == 2


def test_hospital_example_of_pycanons_readme():
    """pycanon's README example: the anonymised hospital table."""
    hospital = table("processed__hospital_anonymized")
    qis, sa = HOSPITAL
    assert metrics.k_anonymity(hospital, qis, missing="drop") == pycanon.k_anonymity(hospital, qis)
    assert metrics.l_diversity(hospital, qis, sa, missing="drop") == pycanon.l_diversity(hospital, qis, sa)


@pytest.mark.parametrize("m", range(2, 17))
def test_entropy_truncation_equals_pycanon_on_even_classes(m):
    """A class spread evenly over m values sits exactly on the integer m, where
    the last bit of the sum decides pycanon's truncation (its sum runs in 8 lanes
    from 8 values on)."""
    table = pd.DataFrame({"q": ["a"] * m + ["b"] * 2 * m, "s": [f"v{i:02d}" for i in range(m)] * 3})
    assert metrics.entropy_l_diversity(table, "q", "s", rounding="truncate") == pycanon.entropy_l_diversity(table, ["q"], ["s"])
