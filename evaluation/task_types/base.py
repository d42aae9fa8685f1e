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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd


class OutputInvalid(Exception):
    """A submission's output breaks the task's format. The message is shown to the team.

    ``line`` counts the header as line 1. One exception may carry several problems found
    in the same pass (:meth:`collected`); ``file``, ``line`` and ``column`` are then those
    of the first, ``problems`` lists the ones shown and ``total`` counts all of them.

    ``rule`` says what is wrong without quoting anything the file holds (no value, no
    column name the task does not define): output derived from hidden data is reported to
    the team that way (:meth:`without_values`), as a value could carry hidden records out.
    """

    def __init__(self, message: str, *, file: str, line: int | None = None, column: str | None = None,
                 rule: str | None = None):
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
        error = cls(f"{total} problems{more}:\n{shown}", file=first.file)
        error.line, error.column = first.line, first.column
        error.problems = tuple(problems)
        error.total = total
        return error

    def without_values(self) -> str:
        """The message with each problem's rule in place of its detail: where the problems are
        and what they break, nothing the file holds."""
        if len(self.problems) == 1 and self.total == 1:
            return f"{self.file}{self.location}: {self.rule or UNSTATED_RULE}"
        more = f" (the first {len(self.problems)} shown)" if self.total > len(self.problems) else ""
        shown = "\n".join(f"  {p.location.strip(' ,') or 'file'}: {p.rule or UNSTATED_RULE}" for p in self.problems)
        return f"{self.file}: {self.total} problems{more}:\n{shown}"


UNSTATED_RULE = "breaks the task's output format"


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


@dataclass(frozen=True)
class Schema:
    id_column: str
    columns: dict[str, str]  # name -> "numeric" | "categorical" | "date", in order
    quasi_identifiers: tuple[str, ...]
    sensitive: tuple[str, ...] = ()
    target: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id_column": self.id_column,
            "columns": [{"name": n, "type": t} for n, t in self.columns.items()],
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
        )


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

    def check_data(self, data: TaskData, *, arena: bool = False) -> None:
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
