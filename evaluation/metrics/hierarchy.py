"""Generalisation hierarchies: the tree of groups above a categorical column's values.

A hierarchy is given as one row per value, ``[value, generalisation 1, …, root]`` — the
CSV layout of ARX's hierarchies — for example ``["I10", "I10-I15", "I00-I99", "*"]``:
ICD-10 code, block, chapter, everything. Every row has the same length and every path
ends in one root. A node is identified by its path to the root, so the same label under
two different parents names two nodes (``Other`` under two chapters).

:func:`hierarchy_read` checks a hierarchy and returns a :class:`Hierarchy`; t-closeness
uses its levels for the hierarchical ground distance, and a release may write a group's
label where it generalises a value (``evaluation/task_types/values.py``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Hierarchy", "hierarchy_csv", "hierarchy_from_csv", "hierarchy_read"]


@dataclass(frozen=True)
class Hierarchy:
    """A checked generalisation hierarchy.

    ``leaves``: value → code (its row); ``parents[h][i]``: the node of level h+1 above
    node i of level h; ``sizes[h]``: the number of nodes of level h (``sizes[0]`` is the
    number of values, ``sizes[-1]`` is 1, the root).
    """

    column: str
    rows: tuple[tuple[str, ...], ...]
    leaves: dict[str, int] = field(repr=False)
    parents: tuple[np.ndarray, ...] = field(repr=False)
    sizes: tuple[int, ...]

    @property
    def height(self) -> int:
        return len(self.parents)

    @property
    def root(self) -> str:
        return self.rows[0][-1]

    def groups(self) -> dict[str, frozenset[str]]:
        """Each label of a generalisation (levels 1 to the root) → the values below it.

        A label used by several nodes (the same text under two parents) stands for the
        values below all of them: that is all a reader of the label alone can know.
        """
        below: dict[str, set[str]] = {}
        for row in self.rows:
            for label in row[1:]:
                below.setdefault(label, set()).add(row[0])
        return {label: frozenset(values) for label, values in below.items()}

    def ambiguous_labels(self) -> list[str]:
        """Labels that name a value and also a group holding other values: in a release,
        such a cell could mean either, so a bundle may not use them."""
        groups = self.groups()
        return sorted(label for label in self.leaves if label in groups and groups[label] != {label})


def hierarchy_read(hierarchy: Sequence[Sequence[object]] | pd.DataFrame | Hierarchy, column: str) -> Hierarchy:
    """Check ``hierarchy`` (rows ``[value, generalisation 1, …, root]`` or a DataFrame
    of them) for ``column``; raises ``ValueError`` naming what is wrong."""
    if isinstance(hierarchy, Hierarchy):
        return hierarchy
    if isinstance(hierarchy, pd.DataFrame):
        raw = hierarchy.values.tolist()
    else:
        raw = [list(r) for r in hierarchy]
    if not raw:
        raise ValueError(f"the hierarchy of {column!r} is empty")
    rows = []
    for i, row in enumerate(raw):
        cells = ["" if cell is None or (isinstance(cell, float) and np.isnan(cell)) else str(cell) for cell in row]
        if any(not cell.strip() for cell in cells):
            raise ValueError(f"row {i + 1} of the hierarchy of {column!r} has an empty label: {cells}")
        rows.append(tuple(cells))
    height = len(rows[0]) - 1
    if height < 1 or any(len(r) != height + 1 for r in rows):
        raise ValueError(
            f"every row of the hierarchy of {column!r} must hold a value and the same number (≥ 1) of generalisations"
        )
    leaves: dict[str, int] = {}
    for i, row in enumerate(rows):
        if row[0] in leaves:
            raise ValueError(f"the hierarchy of {column!r} lists the value {row[0]!r} twice")
        leaves[row[0]] = i
    parents, sizes = [], [len(rows)]
    # a node of level h is identified by its path to the root, so equal labels under
    # different parents stay different nodes
    below = list(rows)
    for h in range(1, height + 1):
        nodes: dict[tuple, int] = {}
        up = [r[h:] for r in rows]
        node_of_leaf = np.array([nodes.setdefault(u, len(nodes)) for u in up])
        node_below: dict[tuple, int] = {}
        for key, parent in zip(below, node_of_leaf, strict=True):
            node_below.setdefault(key, parent)
        child_keys = list(dict.fromkeys(below))
        parents.append(np.array([node_below[k] for k in child_keys]))
        sizes.append(len(nodes))
        below = up
    if sizes[-1] != 1:
        tops = sorted({r[-1] for r in rows})
        raise ValueError(
            f"the hierarchy of {column!r} must end in a single root, it has {sizes[-1]} top values: {tops[:5]}"
        )
    return Hierarchy(column=column, rows=tuple(rows), leaves=leaves, parents=tuple(parents), sizes=tuple(sizes))


def hierarchy_from_csv(text: str) -> list[list[str]]:
    """Rows of a hierarchy file: ARX's layout, one row per value, cells separated by ``;``
    (or by ``,`` when the first line has no ``;``), CSV quoting; blank lines skipped and
    cells stripped."""
    lines = text.lstrip("\ufeff").splitlines()
    delimiter = ";" if lines and ";" in lines[0] else ","
    rows = [[cell.strip() for cell in row] for row in csv.reader(lines, delimiter=delimiter)]
    return [row for row in rows if any(row)]


def hierarchy_csv(rows: Sequence[Sequence[str]]) -> str:
    """``rows`` as a hierarchy file :func:`hierarchy_from_csv` reads back (``;``-separated)."""
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows(rows)
    return out.getvalue()
