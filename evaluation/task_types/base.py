"""The interface every task type implements (see docs/task-types.md).

Task types are plain Python over files and DataFrames: they import nothing of Django, so
the evaluation services, the starting kits' validation scripts and the tests all use the
same code. The evaluation app decrypts a competition's data into a temporary folder,
builds a :class:`TaskData`, and calls the methods below in this order:

1. ``prepare(data=…, dest=…, check=…, seed=…, target=…)`` writes what ``/input`` holds and
   returns a :class:`Prepared` carrying the answers needed for scoring (kept on the host);
2. the sandbox runs the program (code submissions) — or the uploaded file stands in for
   its output (file submissions);
3. ``validate(path=…, prepared=…)`` reads the output and raises :class:`OutputInvalid`
   naming file, line and column, or returns the parsed table;
4. ``score(output=…, prepared=…, splits=…)`` returns metric values per split.
"""

from __future__ import annotations

import abc
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from evaluation.metrics import Hierarchy, hierarchy_read

# The rules an output can break, by a stable short name. A run that saw hidden data tells its
# team the name only (docs/security.md): the name and its description quote nothing the file
# holds, no line, column or count. Names are part of the API: add, never rename.
RULES: dict[str, str] = {
    "file-missing": "the program must write the task's output file in the output folder",
    "not-a-file": "the output must be a regular file",
    "file-too-large": "the output file is larger than the task allows",
    "file-empty": "the output file is empty",
    "header-missing": "the first line must be the header",
    "empty-column-name": "the header has an empty column name",
    "duplicate-column": "the header repeats a column",
    "missing-column": "the header misses a column the task requires",
    "unknown-column": "the header has a column the task does not know",
    "not-utf8": "the file must be UTF-8 text",
    "not-csv": "the file must be valid CSV",
    "field-count": "a row has a different number of fields than the header",
    "too-many-rows": "the file has more rows than the task allows",
    "too-few-rows": "the file has fewer rows than the task requires",
    "empty-id": "every row needs an id",
    "unknown-id": "an id is not one of the input's ids",
    "duplicate-id": "an id appears on more than one row",
    "missing-id": "an id of the input has no row",
    "empty-cell": "a cell that must hold a value is empty",
    "not-a-number": "a cell that must hold a number (in a release: a number, an interval of numbers or *) does not",
    "out-of-range": "a number is outside the range the task allows",
    "not-a-date": "a cell that must hold an ISO date (in a release: a date, an interval of dates or *) does not",
    "bad-interval": "an interval is not [lo, hi] or [lo, hi) with lo below hi",
    "bad-set": "a set is not {a|b|c} with non-empty members",
    "not-in-hierarchy": "a value of a column with a generalisation hierarchy is not one of its values or groups",
    "output-format": "the output breaks the task's format",
}


class OutputInvalid(Exception):
    """A submission's output breaks the task's format.

    ``str(error)`` is the full message: file, line, column and the offending values. It is
    shown to the team only for output of a run on public data (a file submission, a check
    run); it goes to the organizers always. ``rule`` names what is broken, one of
    :data:`RULES`: that name alone is what the team of a run on hidden data learns.

    ``line`` counts the header as line 1. One exception may carry several problems found
    in the same pass (:meth:`collected`); ``file``, ``line``, ``column`` and ``rule`` are then
    those of the first, ``problems`` lists the ones shown and ``total`` counts all of them.
    """

    def __init__(self, message: str, *, file: str, rule: str = "output-format", line: int | None = None,
                 column: str | None = None):
        if rule not in RULES:
            raise ValueError(f"unknown output rule {rule!r} (known: {', '.join(RULES)})")
        self.file = file
        self.line = line
        self.column = column
        self.detail = message
        self.rule = rule
        self.problems: tuple[OutputInvalid, ...] = (self,)
        self.total = 1
        super().__init__(f"{file}{self.location}: {message}")

    @property
    def location(self) -> str:
        where = ""
        if self.line is not None:
            where += f" line {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        return where

    @classmethod
    def collected(cls, problems: "list[OutputInvalid]", *, total: int | None = None) -> "OutputInvalid":
        """One exception reporting the first ``problems`` of ``total`` found in one file."""
        if not problems:
            raise ValueError("collected() needs at least one problem")
        total = max(total or len(problems), len(problems))
        if total == 1:
            return problems[0]
        first = problems[0]
        shown = "\n".join(f"  {p.location.strip(' ,') or 'file'}: {p.detail}" for p in problems)
        more = f" (the first {len(problems)} shown)" if total > len(problems) else ""
        error = cls(f"{total} problems{more}:\n{shown}", file=first.file, rule=first.rule)
        error.line, error.column = first.line, first.column
        error.problems = tuple(problems)
        error.total = total
        return error


class TaskDataInvalid(Exception):
    """The organizer's data does not fit the task (raised at bundle import)."""


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: str
    direction: str  # "higher" or "lower" is better
    precision: int = 4
    primary: bool = False
    description: str = ""


DOMAIN_KEYS = ("min", "max", "categories")


@dataclass(frozen=True)
class Schema:
    id_column: str
    columns: dict[str, str]  # name -> "numeric" | "categorical" | "date", in order
    quasi_identifiers: tuple[str, ...]
    sensitive: tuple[str, ...] = ()
    target: str | None = None
    # name -> the column's public domain (min/max or categories), where the bundle declares one
    domains: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    # name -> the categorical column's generalisation hierarchy, rows [value, group 1, …, root]
    # (evaluation/metrics/hierarchy.py), where the bundle gives one: public, like the domain
    hierarchies: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict, compare=False)

    def hierarchy(self, column: str) -> Hierarchy | None:
        rows = self.hierarchies.get(column)
        return _hierarchy(tuple(tuple(r) for r in rows), column) if rows else None

    def as_json(self) -> dict[str, Any]:
        return {
            "id_column": self.id_column,
            "columns": [
                {
                    "name": n,
                    "type": t,
                    **self.domains.get(n, {}),
                    **({"hierarchy": [list(r) for r in self.hierarchies[n]]} if n in self.hierarchies else {}),
                }
                for n, t in self.columns.items()
            ],
            "quasi_identifiers": list(self.quasi_identifiers),
            "sensitive": list(self.sensitive),
            "target": self.target,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "Schema":
        return cls(
            id_column=raw["id_column"],
            columns={c["name"]: c["type"] for c in raw["columns"]},
            quasi_identifiers=tuple(raw.get("quasi_identifiers") or ()),
            sensitive=tuple(raw.get("sensitive") or ()),
            target=raw.get("target"),
            domains={c["name"]: {k: c[k] for k in DOMAIN_KEYS if k in c} for c in raw["columns"] if any(k in c for k in DOMAIN_KEYS)},
            hierarchies={c["name"]: tuple(tuple(str(v) for v in r) for r in c["hierarchy"]) for c in raw["columns"] if c.get("hierarchy")},
        )


@functools.lru_cache(maxsize=16)
def _hierarchy(rows: tuple[tuple[str, ...], ...], column: str) -> Hierarchy:
    """Read once per process: validation, scoring and each dataset's check ask again."""
    return hierarchy_read(rows, column)


@dataclass(frozen=True)
class TaskData:
    """A competition's files (decrypted, on local disk) by dataset name, schema and options."""

    files: dict[str, Path]
    schema: Schema
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """In an arena: the defense release an attack runs against."""

    release: Path  # the defense's release.csv, as the defense wrote it
    key: str  # identifies the defense (its release sha256); seeds the pair with the attack


@dataclass
class Prepared:
    """What ``prepare`` wrote into ``input_dir``, and the answers scoring needs.

    ``answers`` stay on the host and are never written into ``input_dir``. ``validate``
    reads only ``expected_ids`` and ``context`` — public facts about the inputs (the schema,
    the ids a file may refer to) — so that :meth:`TaskType.prepared_from_input` can rebuild
    them from an ``/input`` folder alone and a starting kit validates exactly as the server.
    """

    input_dir: Path
    answers: dict[str, Any] = field(default_factory=dict)
    expected_ids: list[str] | None = None  # ids the output must cover, where the task says so
    context: dict[str, Any] = field(default_factory=dict)  # public facts validate needs


SPLIT_NAMES = ("public", "private")


class SplitAssigner(abc.ABC):
    """Says for an id whether it counts on the public or the private leaderboard."""

    @abc.abstractmethod
    def split_of(self, ids: pd.Series) -> pd.Series:  # -> "public" / "private" per id
        ...


@dataclass(frozen=True)
class ScoreValue:
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # e.g. ROC curve points, counts


class TaskType(abc.ABC):
    name: ClassVar[str]
    role: ClassVar[str]  # "defense" or "attack"
    output_name: ClassVar[str]  # the file the run writes in /output
    data_names: ClassVar[dict[str, str]]  # bundle dataset name -> "public" | "hidden"
    metrics: ClassVar[tuple[MetricSpec, ...]]
    accepts_file: ClassVar[bool] = False  # an uploaded output file can stand in for a run
    # An attack paired with defenses in an arena builds its inputs from the defense's release
    # and these datasets of the arena bundle instead of ``data_names``.
    arena_data_names: ClassVar[dict[str, str]] = {}

    def check_data(self, data: TaskData, *, arena: bool = False) -> None:  # noqa: B027 - an optional hook: by default any data serves
        """Raise :class:`TaskDataInvalid` when the organizer's data cannot serve this task."""

    def sees_hidden_data(self, *, check: bool, arena: bool = False) -> bool:
        """Whether a run's /input holds anything derived from hidden data."""
        return False

    @property
    def primary_metric(self) -> MetricSpec:
        return next(m for m in self.metrics if m.primary)

    def metric(self, key: str) -> MetricSpec:
        for spec in self.metrics:
            if spec.key == key:
                return spec
        raise KeyError(f"task {self.name!r} has no metric {key!r}")

    @abc.abstractmethod
    def prepared_from_input(self, input_dir: Path) -> Prepared:
        """What :meth:`validate` needs, read back from a prepared ``/input`` folder (no answers)."""

    @abc.abstractmethod
    def prepare(self, *, data: TaskData, dest: Path, check: bool, seed: int, target: Target | None = None) -> Prepared:
        ...

    @abc.abstractmethod
    def validate(self, *, path: Path, prepared: Prepared) -> pd.DataFrame:
        ...

    @abc.abstractmethod
    def score(self, *, output: pd.DataFrame, prepared: Prepared, splits: SplitAssigner) -> dict[str, dict[str, ScoreValue]]:
        ...
