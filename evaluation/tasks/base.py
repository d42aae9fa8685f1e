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
    """A submission's output breaks the task's format. The message is shown to the team."""

    def __init__(self, message: str, *, file: str, line: int | None = None, column: str | None = None):
        self.file = file
        self.line = line
        self.column = column
        self.detail = message
        where = file
        if line is not None:
            where += f" line {line}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{where}: {message}")


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
    """What ``prepare`` wrote into ``input_dir``, and the answers scoring needs."""

    input_dir: Path
    answers: dict[str, Any] = field(default_factory=dict)
    expected_ids: list[str] | None = None  # ids the output must cover, where the task says so


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

    def check_data(self, data: TaskData) -> None:
        """Raise :class:`TaskDataInvalid` when the organizer's data cannot serve this task."""

    def sees_hidden_data(self, *, check: bool) -> bool:
        """Whether a run's /input holds anything derived from hidden data."""
        return False

    @abc.abstractmethod
    def prepare(self, *, data: TaskData, dest: Path, check: bool, seed: int, target: Target | None = None) -> Prepared:
        ...

    @abc.abstractmethod
    def validate(self, *, path: Path, prepared: Prepared) -> pd.DataFrame:
        ...

    @abc.abstractmethod
    def score(self, *, output: pd.DataFrame, prepared: Prepared, splits: SplitAssigner) -> dict[str, dict[str, ScoreValue]]:
        ...
