"""Values of the schema's columns: plain records and generalised releases.

A raw table (the organizer's records, candidates, targets) holds plain values: numbers,
ISO dates (``YYYY-MM-DD``) and categories, an empty cell being a missing value.
:func:`typed` converts such a table from text to what the metrics compare: floats,
``datetime64[ns]`` and text categories, missing values as NaN/NaT.

A defense's release may also generalise values (docs/task-types.md):

=================  =========================================  ================
column type        allowed                                    example
=================  =========================================  ================
numeric            value, ``[lo, hi]``, ``[lo, hi)``, ``*``   ``[30, 40)``
date               ISO date, interval of ISO dates, ``*``     ``[1980-01-01, 1980-12-31]``
categorical        value, set ``{a|b|c}``, ``*``              ``{I10|I11}``
  with hierarchy   also a group's label (the root is ``*``)   ``I10-I15``
=================  =========================================  ================

A categorical column with a generalisation hierarchy in the schema (docs/bundles.md) takes
only the hierarchy's values and groups: a group's label stands for the set of the values
below it (``I10-I15`` is ``{I10|I11|I12|I13|I15}``), the root's for ``*``.

An empty cell is a missing value. :func:`parse_release` checks every cell and returns two
views of the release:

* ``classes``: one canonical text per cell (``[30.0, 40.0)``, ``{a|b}`` with members
  sorted, a group's label for a set of exactly its values, ``*``), so that cells generalised
  to the same thing compare equal however they were spelt. Syntactic privacy (k-anonymity,
  prosecutor risk) is computed on this view: a generalised value is one value shared by
  every record that carries it.
* ``values``: one plain value per cell, for the metrics that need points (utility,
  fidelity, distances, anonymeter-style attacks): an interval becomes its midpoint — the
  unbiased guess for a value known only to lie in it, and what a data user would plot;
  ``*`` becomes missing, as the value is withheld; a set becomes its member that is most
  frequent among the release's own plain values of that column (a data user's best guess
  from the release alone; ties go to the member written first) and missing when none of
  its members occurs plainly, rather than an arbitrary member that would invent
  information; a group's label is read as the set of its values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.metrics import Hierarchy

from .base import Schema
from .csvio import Problems, quote

SUPPRESSED = "*"
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_DATE = r"\d{4}-\d{2}-\d{2}"
_NUMBER_INTERVAL = re.compile(rf"^\[\s*(?P<lo>{_NUMBER})\s*,\s*(?P<hi>{_NUMBER})\s*(?P<close>[\]\)])$")
_DATE_INTERVAL = re.compile(rf"^\[\s*(?P<lo>{_DATE})\s*,\s*(?P<hi>{_DATE})\s*(?P<close>[\]\)])$")
_SET = re.compile(r"^\{(?P<members>.*)\}$", re.DOTALL)


def parse_dates(text: pd.Series) -> pd.Series:
    """ISO dates (``YYYY-MM-DD``) as ``datetime64[ns]``; anything else NaT."""
    text = pd.Series(text, dtype=object).where(lambda s: s.astype(str).str.fullmatch(_DATE), None)
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]")


def typed(frame: pd.DataFrame, schema: Schema, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Plain text values converted by column type; empty or unreadable cells are missing."""
    columns = list(schema.columns if columns is None else columns)
    out = {}
    for column in columns:
        text = frame[column].astype(str).str.strip()
        kind = schema.columns[column]
        if kind == "numeric":
            out[column] = pd.to_numeric(text.mask(text.eq("")), errors="coerce").astype(float)
        elif kind == "date":
            out[column] = parse_dates(text)
        else:
            out[column] = text.mask(text.eq("")).astype(object)
    return pd.DataFrame(out, index=frame.index)


@dataclass
class ParsedRelease:
    classes: pd.DataFrame  # canonical text per cell
    values: pd.DataFrame  # one plain value per cell (typed as by :func:`typed`)
    generalised: dict[str, dict[str, int]] = field(default_factory=dict)  # column -> kind -> cells


def parse_release(frame: pd.DataFrame, schema: Schema, problems: Problems) -> ParsedRelease:
    """Check and convert every schema column of a release (text cells, index = line numbers)."""
    classes, values, generalised = {}, {}, {}
    for column, kind in schema.columns.items():
        text = frame[column].astype(str)
        if kind == "numeric":
            parsed = _parse_ordered(frame, column, text, problems, kind="numeric")
        elif kind == "date":
            parsed = _parse_ordered(frame, column, text, problems, kind="date")
        else:
            parsed = _parse_categorical(frame, column, text, problems, schema.hierarchy(column))
        classes[column], values[column], generalised[column] = parsed
    return ParsedRelease(
        classes=pd.DataFrame(classes, index=frame.index),
        values=pd.DataFrame(values, index=frame.index),
        generalised=generalised,
    )


def _counts(**masks: np.ndarray) -> dict[str, int]:
    return {name: int(mask.sum()) for name, mask in masks.items() if mask.any()}


def _parse_ordered(frame: pd.DataFrame, column: str, text: pd.Series, problems: Problems, *, kind: str):
    convert: Callable[[pd.Series], pd.Series]
    if kind == "numeric":
        plain_values = pd.to_numeric(text.where(text.str.fullmatch(_NUMBER), None), errors="coerce").astype(float)
        plain = np.isfinite(plain_values.to_numpy())
        pattern = _NUMBER_INTERVAL

        def convert(s: pd.Series) -> pd.Series:
            return pd.to_numeric(s, errors="coerce").astype(float)

    else:
        plain_values = parse_dates(text)
        plain = plain_values.notna().to_numpy()
        pattern = _DATE_INTERVAL
        convert = parse_dates
    empty = text.eq("").to_numpy(copy=True)
    star = text.eq(SUPPRESSED).to_numpy(copy=True)
    bounds = text.str.extract(pattern)
    low, high = convert(bounds["lo"]), convert(bounds["hi"])
    half_open = bounds["close"].eq(")").to_numpy()
    ordered = np.where(half_open, (low < high).to_numpy(), (low <= high).to_numpy())
    interval = (low.notna() & high.notna()).to_numpy() & ordered
    bad = ~(empty | star | plain | interval)
    problems.add_rows(frame, bad, column, lambda v: _ordered_problem(v, kind)[0], lambda v: _ordered_problem(v, kind)[1])

    if kind == "numeric":
        midpoint = (low + high) / 2
        canonical = np.where(half_open, ")", "]")
        interval_text = "[" + low.map(repr) + ", " + high.map(repr) + pd.Series(canonical, index=text.index)
        plain_text = plain_values.map(repr)
    else:
        midpoint = low + (high - low) / 2
        interval_text = (
            "["
            + low.dt.strftime("%Y-%m-%d")
            + ", "
            + high.dt.strftime("%Y-%m-%d")
            + pd.Series(np.where(half_open, ")", "]"), index=text.index)
        )
        plain_text = plain_values.dt.strftime("%Y-%m-%d")
    values = plain_values.where(plain, midpoint.where(interval))
    classes = pd.Series(
        np.select([plain, interval, star], [plain_text, interval_text, SUPPRESSED], default=""),
        index=text.index,
        dtype=object,
    ).mask(empty | bad)
    return classes, values, _counts(interval=interval & ~plain, suppressed=star, missing=empty)


def _ordered_problem(value: str, kind: str) -> tuple[str, str]:
    """What is wrong with a numeric or date cell, quoting the value, and the rule it breaks."""
    what = "a number" if kind == "numeric" else "an ISO date (YYYY-MM-DD)"
    example = "[30, 40)" if kind == "numeric" else "[1980-01-01, 1981-01-01)"
    shown = quote(value)
    if value.startswith(("[", "(")):
        pattern = _NUMBER_INTERVAL if kind == "numeric" else _DATE_INTERVAL
        match = pattern.match(value)
        if match:
            lo, hi, close = match["lo"], match["hi"], match["close"]
            if kind == "date" and parse_dates(pd.Series([lo, hi])).isna().any():
                return f"{shown} has a bound that is not a calendar date", "bad-interval"
            if close == ")":
                return f"{shown} is empty: in [lo, hi) the lower bound must be below the upper bound", "bad-interval"
            return f"{shown} has its lower bound {lo} above its upper bound {hi}", "bad-interval"
        bounds = "numbers" if kind == "numeric" else "ISO dates"
        return f"{shown} is not an interval [lo, hi] or [lo, hi) of two {bounds}, e.g. {example}", "bad-interval"
    if kind == "date" and re.fullmatch(_DATE, value):
        return f"{shown} is not a calendar date", "not-a-date"
    return f"{shown} is not {what}, an interval such as {example}, or * (suppressed)", ("not-a-number" if kind == "numeric" else "not-a-date")


def _parse_categorical(frame: pd.DataFrame, column: str, text: pd.Series, problems: Problems, hierarchy: Hierarchy | None):
    empty = text.eq("").to_numpy()
    star = text.eq(SUPPRESSED).to_numpy(copy=True)
    members = text.str.extract(_SET)["members"]
    is_set = members.notna().to_numpy()
    member_lists = members[is_set].map(lambda m: [part.strip() for part in m.split("|")])
    set_ok = member_lists.map(lambda parts: all(parts))
    valid_set = np.zeros(len(text), dtype=bool)
    valid_set[is_set] = set_ok.to_numpy(dtype=bool)
    unclosed = text.str.startswith("{").to_numpy() & ~is_set
    plain = ~(empty | star | is_set | unclosed)
    bad = (is_set & ~valid_set) | unclosed
    problems.add_rows(frame, bad, column, _describe_set, _set_rule)

    group = np.zeros(len(text), dtype=bool)
    group_leaves: dict[str, list[str]] = {}
    group_of_leaves: dict[frozenset[str], str] = {}
    if hierarchy is not None:
        # a group's label generalises the value to the group: ``I00-I99`` is the set of the
        # codes below it, the root is ``*``; anything else must be one of the hierarchy's values
        groups = {label: leaves for label, leaves in hierarchy.groups().items() if label not in hierarchy.leaves}
        everything = frozenset(hierarchy.leaves)
        group = plain & text.isin(list(groups)).to_numpy()
        # per distinct label, not per cell: a group may hold many thousand values
        root = group & text.isin([label for label, leaves in groups.items() if len(leaves) == len(everything)]).to_numpy()
        star |= root
        group &= ~root
        outside = plain & ~group & ~root & ~text.isin(list(hierarchy.leaves)).to_numpy()
        outside_set = valid_set.copy()
        outside_set[is_set] &= member_lists.map(lambda parts: any(p not in hierarchy.leaves for p in parts)).to_numpy(dtype=bool)
        problems.add_rows(frame, outside | outside_set, column, lambda v: _describe_outside(v, hierarchy), "not-in-hierarchy")
        plain &= ~(group | root | outside)
        group_leaves = {label: sorted(groups[label]) for label in text[group].unique()}
        group_of_leaves = {leaves: label for label, leaves in groups.items()} | {everything: SUPPRESSED}

    frequency = text[plain].value_counts()
    chosen = member_lists[set_ok].map(lambda parts: _most_frequent(parts, frequency))
    values = text.where(plain, None).astype(object)
    values.loc[chosen.index] = chosen.astype(object)
    if group.any():
        guess = {label: _most_frequent(leaves, frequency) for label, leaves in group_leaves.items()}
        values[group] = text[group].map(guess)
    # a set spelling out a group's values is that group, however it was written
    canonical = member_lists[set_ok].map(
        lambda parts: group_of_leaves.get(frozenset(parts)) or "{" + "|".join(sorted(set(parts))) + "}"
    )
    classes = text.where(plain | group, None).astype(object)
    classes[star] = SUPPRESSED
    classes.loc[canonical.index] = canonical
    return classes, values, _counts(set=valid_set, group=group, suppressed=star, missing=empty)


def _describe_outside(value: str, hierarchy: Hierarchy) -> str:
    return (
        f"{quote(value)} is not a value or a group of the hierarchy of {hierarchy.column} "
        "(schema.json lists it: a value, a group's label, a set of values or *)"
    )


def _most_frequent(members: list[str], frequency: pd.Series):
    best, best_count = None, 0
    for member in members:
        count = int(frequency.get(member, 0))
        if count > best_count:
            best, best_count = member, count
    return best


def _set_rule(value: str) -> str:
    return "bad-set"


def _describe_set(value: str) -> str:
    if not value.endswith("}"):
        return f"{quote(value)} opens a set with {{ but does not close it with }}; write sets as {{a|b|c}}"
    return f"{quote(value)} is not a set of values {{a|b|c}}: a member is empty"
