"""t-closeness with a hierarchical ground distance (Li, Li & Venkatasubramanian
2007), checked against the Earth Mover's Distance solved as a transport linear
programme with the ground distance ``level(lowest common ancestor) / height``,
on ARX's adult table and its education hierarchy."""

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from evaluation import metrics
from tests.evaluation.metrics.peers.common import DATA


def hierarchy(name: str) -> list[list[str]]:
    return pd.read_csv(DATA / "arx" / f"adult_hierarchy_{name}.csv", sep=";", header=None, dtype=str).values.tolist()


def lca_distance(rows: list[list[str]]) -> tuple[list[str], np.ndarray]:
    height = len(rows[0]) - 1
    leaves = [r[0] for r in rows]
    d = np.zeros((len(rows), len(rows)))
    for i, a in enumerate(rows):
        for j, b in enumerate(rows):
            level = next(h for h in range(height + 1) if a[h:] == b[h:])
            d[i, j] = level / height
    return leaves, d


def emd_lp(p: np.ndarray, q: np.ndarray, d: np.ndarray) -> float:
    m = len(p)
    a_eq = []
    for i in range(m):  # mass leaving i is p_i
        row = np.zeros((m, m))
        row[i, :] = 1
        a_eq.append(row.ravel())
    for j in range(m):  # mass arriving at j is q_j
        row = np.zeros((m, m))
        row[:, j] = 1
        a_eq.append(row.ravel())
    result = linprog(d.ravel(), A_eq=np.array(a_eq), b_eq=np.r_[p, q], bounds=(0, None), method="highs")
    return float(result.fun)


def brute_force_t(df, qis, column, rows) -> float:
    leaves, d = lca_distance(rows)
    index = {v: i for i, v in enumerate(leaves)}
    p = np.bincount(df[column].map(index), minlength=len(leaves)) / len(df)
    worst = 0.0
    for _, group in df.groupby(qis, dropna=False):
        q = np.bincount(group[column].map(index), minlength=len(leaves)) / len(group)
        worst = max(worst, emd_lp(p, q, d))
    return worst


@pytest.mark.parametrize(("qis", "seed"), [(["sex"], 0), (["sex", "race"], 1), (["marital-status"], 2)])
def test_equals_the_transport_problem(qis, seed):
    adult = pd.read_csv(DATA / "arx" / "adult.csv.gz", sep=";", dtype=str).sample(600, random_state=seed)
    rows = hierarchy("education")
    ours = metrics.t_closeness(adult, qis, "education", hierarchies={"education": rows})
    assert ours == pytest.approx(brute_force_t(adult, qis, "education", rows), abs=1e-9)
    # the hierarchical distance never exceeds the equal distance (every pair ≤ 1 apart)
    assert ours <= metrics.t_closeness(adult, qis, "education") + 1e-12


def test_hand_computed_example():
    """The disease hierarchy of Li et al. 2007 (height 3): a class holding only
    the three stomach diseases, in a table spread evenly over the nine. By hand:
    each stomach disease gains 2/9, each other disease loses 1/9; under
    "digestive system diseases" (level 2) 2/9 moves from colon to stomach
    diseases, at the root (level 3) 4/9 moves from respiratory to digestive:
    EMD = (2/3)(2/9) + 1·(4/9) = 16/27."""
    rows = [
        ["gastric ulcer", "stomach diseases", "digestive system diseases", "respiratory & digestive"],
        ["gastritis", "stomach diseases", "digestive system diseases", "respiratory & digestive"],
        ["stomach cancer", "stomach diseases", "digestive system diseases", "respiratory & digestive"],
        ["colitis", "colon diseases", "digestive system diseases", "respiratory & digestive"],
        ["colon cancer", "colon diseases", "digestive system diseases", "respiratory & digestive"],
        ["flu", "respiratory infection", "respiratory system diseases", "respiratory & digestive"],
        ["pneumonia", "respiratory infection", "respiratory system diseases", "respiratory & digestive"],
        ["bronchitis", "respiratory infection", "respiratory system diseases", "respiratory & digestive"],
        ["pulmonary edema", "vascular lung diseases", "respiratory system diseases", "respiratory & digestive"],
    ]
    diseases = [r[0] for r in rows]
    table = pd.DataFrame({"zip": ["476**"] * 3 + ["4790*"] * 6, "disease": ["gastric ulcer", "gastritis", "stomach cancer"] + diseases[3:]})
    # class 476**: the stomach diseases, against a table spread evenly over the nine
    emd = metrics.t_closeness(table, "zip", "disease", hierarchies={"disease": rows})
    leaves, d = lca_distance(rows)
    p = np.full(9, 1 / 9)
    q = np.r_[np.full(3, 1 / 3), np.zeros(6)]
    assert emd_lp(p, q, d) == pytest.approx(16 / 27, abs=1e-9)
    assert emd == pytest.approx(16 / 27, abs=1e-12)


def test_hierarchy_errors_name_what_is_wrong():
    table = pd.DataFrame({"q": ["a", "a"], "s": ["x", "y"]})
    with pytest.raises(ValueError, match="missing from its hierarchy"):
        metrics.t_closeness(table, "q", "s", hierarchies={"s": [["x", "*"]]})
    with pytest.raises(ValueError, match="same number"):
        metrics.t_closeness(table, "q", "s", hierarchies={"s": [["x", "*"], ["y", "v", "*"]]})
    with pytest.raises(ValueError, match="single root"):
        metrics.t_closeness(table, "q", "s", hierarchies={"s": [["x", "A"], ["y", "B"]]})
    with pytest.raises(ValueError, match="not sensitive columns"):
        metrics.t_closeness(table, "q", "s", hierarchies={"q": [["a", "*"]]})
    with pytest.raises(ValueError, match="row 2 of the hierarchy of 's' has an empty label"):
        metrics.hierarchy_read([["x", "*"], ["y", " "]], "s")


def test_a_hierarchy_reads_its_groups_and_its_files():
    """ARX's education hierarchy: groups by label, the values below each, the file layout
    read and written back unchanged."""
    rows = hierarchy("education")
    read = metrics.hierarchy_read(rows, "education")
    assert read.height == len(rows[0]) - 1 and read.root == "*" and read.sizes[-1] == 1
    groups = read.groups()
    assert groups["*"] == frozenset(r[0] for r in rows)
    assert all(frozenset(r[0] for r in rows if r[1] == label) == groups[label] for label in {r[1] for r in rows})
    assert read.ambiguous_labels() == []
    assert metrics.hierarchy_from_csv(metrics.hierarchy_csv(rows)) == [list(r) for r in rows]
    # a comma-separated file with quoting, a byte-order mark and blank lines reads the same
    text = '\ufeffI10,"Circulatory, I00-I99",*\n\nE11,Endocrine,*\n'
    assert metrics.hierarchy_from_csv(text) == [["I10", "Circulatory, I00-I99", "*"], ["E11", "Endocrine", "*"]]
    # the same label under two parents is two nodes; as a label it stands for both groups' values
    twice = metrics.hierarchy_read([["a", "other", "A", "*"], ["b", "other", "B", "*"], ["c", "c", "B", "*"]], "s")
    assert twice.sizes == (3, 3, 2, 1)
    assert twice.groups()["other"] == {"a", "b"} and twice.ambiguous_labels() == []
    assert metrics.hierarchy_read([["a", "a", "*"], ["b", "a", "*"]], "s").ambiguous_labels() == ["a"]
