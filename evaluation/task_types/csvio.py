"""Reading the CSV files of a task: the organizer's tables and a submission's output.

Everything is read as text first, so that nothing is silently converted (``007`` stays
``007``, ``1.0`` is not ``1``) and each problem can be reported with the line it is on
(line 1 is the header). Output files are read with Python's ``csv`` module rather than
pandas: it reports rows with too many *or too few* fields, counts physical lines exactly
(quoted newlines included) and lets reading stop as soon as a file has more rows than the
task allows.

Only the standard library, numpy and pandas are used: a starting kit ships a copy.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .base import OutputInvalid, Schema, TaskData, TaskDataInvalid

MAX_OUTPUT_BYTES = 256 * 2**20  # any output file; a phase's output_mb limit is usually lower
SHOWN_PROBLEMS = 10  # how many problems one error message lists
_EXAMPLES = 5  # how many offending values a summary message quotes

# Medical tables can carry long free-text fields; the default 128 KiB cap is too small.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


# --------------------------------------------------------------------------- problems


class Problems:
    """Collects the problems of one file so that a single error can report the first few.

    Vectorised checks add whole masks at once (:meth:`add_rows`); only the first few rows
    of each are kept, but ``total`` counts them all.
    """

    def __init__(self, file: str):
        self.file = file
        self.found: list[OutputInvalid] = []
        self.total = 0

    def __bool__(self) -> bool:
        return self.total > 0

    def add(self, message: str, *, line: int | None = None, column: str | None = None, rule: str | None = None) -> None:
        """One problem; ``rule`` says what is wrong without quoting the file (see :class:`OutputInvalid`)."""
        self.total += 1
        if len(self.found) < 4 * SHOWN_PROBLEMS:
            self.found.append(OutputInvalid(message, file=self.file, line=line, column=column, rule=rule))

    def add_rows(self, frame: pd.DataFrame, mask: Iterable[bool], column: str, describe, rule=None) -> None:
        """One problem per row where ``mask`` is true; ``describe(value)`` says what is wrong,
        ``rule(value)`` (or a fixed text) says it without quoting the value."""
        mask = np.asarray(mask, dtype=bool)
        count = int(mask.sum())
        if not count:
            return
        bad = frame.loc[mask, column].head(SHOWN_PROBLEMS)
        for line, value in bad.items():
            self.add(describe(value), line=int(line), column=column, rule=rule(value) if callable(rule) else rule)
        self.total += count - len(bad)

    def raise_if_any(self) -> None:
        if not self.total:
            return
        shown = sorted(self.found, key=lambda p: (p.line is None, p.line or 0))[:SHOWN_PROBLEMS]
        raise OutputInvalid.collected(shown, total=self.total)


def quote(value: object, limit: int = 40) -> str:
    """A value as shown in an error message: quoted, shortened when long."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)


def examples(values: Iterable[object], count: int | None = None) -> str:
    values = list(values)
    shown = ", ".join(quote(v) for v in values[:_EXAMPLES])
    total = len(values) if count is None else count
    return shown + (f" and {total - _EXAMPLES} more" if total > _EXAMPLES else "")


# --------------------------------------------------------------------------- output files


def _shape_error(message: str, *, file: str, line: int | None = None) -> OutputInvalid:
    """A problem of the file's shape: its message quotes nothing the file holds, so it is its own rule."""
    return OutputInvalid(message, file=file, line=line, rule=message)


def read_output(
    path: Path,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    max_rows: int,
    max_bytes: int = MAX_OUTPUT_BYTES,
    min_rows: int = 0,
) -> pd.DataFrame:
    """Read a submission's CSV output as text, checking its shape.

    Returns a DataFrame of stripped strings whose index is each row's line number (the
    header is line 1), holding the required columns and whichever optional ones the file
    has, in that order. Raises :class:`OutputInvalid` for a missing, empty, oversized or
    non-UTF-8 file, a header with missing, unknown or repeated columns, rows with the
    wrong number of fields, and more than ``max_rows`` rows (reading stops there).
    """
    path = Path(path)
    name = path.name
    expected_header = ",".join(required)
    if not path.exists():
        raise _shape_error(
            f"file not found: the program must write {name} (header: {expected_header}) in the output folder",
            file=name,
        )
    if not path.is_file():
        raise _shape_error("is not a regular file", file=name)
    size = path.stat().st_size
    if size > max_bytes:
        raise _shape_error(
            f"file is {size / 2**20:.1f} MiB, more than the {max_bytes / 2**20:.0f} MiB allowed", file=name
        )
    if size == 0:
        raise _shape_error(f"file is empty: expected the header {expected_header} and then the rows", file=name)

    problems = Problems(name)
    lines: list[int] = []
    rows: list[list[str]] = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
            if header is None or not any(h.strip() for h in header):
                raise _shape_error(f"the first line must be the header {expected_header}", file=name, line=1)
            header = [h.strip() for h in header]
            _check_header(header, required=required, optional=optional, file=name)
            width = len(header)
            for row in reader:
                if not row:  # blank line
                    continue
                if len(row) != width:
                    hint = ""
                    if len(row) > width and any(cell.lstrip().startswith(("[", "(", "{")) for cell in row):
                        hint = "; a value holding a comma, such as an interval [lo, hi], must be in double quotes"
                    wrong_width = f"has {len(row)} fields but the header has {width} ({','.join(header)}){hint}"
                    problems.add(wrong_width, line=reader.line_num, rule=wrong_width)
                    if problems.total >= SHOWN_PROBLEMS:
                        break
                    continue
                if len(rows) >= max_rows:
                    raise _shape_error(
                        f"too many rows: at most {max_rows} data rows are expected", file=name, line=reader.line_num
                    )
                rows.append([cell.strip() for cell in row])
                lines.append(reader.line_num)
        except UnicodeDecodeError:
            line, column = _first_undecodable(path)
            raise _shape_error(
                f"is not UTF-8 text (an invalid byte at character {column} of the line); save the file as UTF-8",
                file=name,
                line=line,
            ) from None
        except csv.Error as exc:  # the reader's messages name its own delimiters and limits, not the data
            raise _shape_error(f"is not valid CSV: {exc}", file=name, line=reader.line_num) from None
    problems.raise_if_any()
    if len(rows) < min_rows:
        raise _shape_error(
            f"has {len(rows)} data rows, at least {min_rows} expected", file=name, line=(lines[-1] if lines else 1)
        )
    frame = pd.DataFrame(rows, columns=header, index=pd.Index(lines, name="line"), dtype=object)
    if not rows:
        frame = pd.DataFrame({h: pd.Series([], dtype=object) for h in header}, index=pd.Index([], name="line"))
    keep = list(required) + [c for c in optional if c in header]
    return frame[keep]


def _first_undecodable(path: Path) -> tuple[int, int]:
    """Line and 1-based position of the first byte that is not UTF-8 (text is decoded in
    blocks, so the decoder's own position says nothing about lines)."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, exc.start + 1
    return 1, 1


def _check_header(header: list[str], *, required: Sequence[str], optional: Sequence[str], file: str) -> None:
    expected = ",".join(required)
    known = set(required) | set(optional)
    problems, rules = [], []  # rules name only the task's own columns
    seen = set()
    for column in header:
        if not column:
            problems.append("has an empty column name")
            rules.append(problems[-1])
        elif column in seen:
            problems.append(f"repeats the column {column!r}")
            rules.append(problems[-1] if column in known else "repeats a column")
        seen.add(column)
    missing = [c for c in required if c not in seen]
    unknown = [c for c in header if c and c not in known]
    if missing:
        problems.append(f"misses the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        rules.append(problems[-1])
    allowed = ", ".join(list(required) + list(optional))
    if unknown:
        problems.append(f"has unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} (allowed: {allowed})")
        rules.append(f"has {len(unknown)} unknown column{'s' if len(unknown) > 1 else ''} (allowed: {allowed})")
    if problems:
        tail = f"; expected {expected}" + (f" (optional: {', '.join(optional)})" if optional else "")
        raise OutputInvalid(
            f"the header {'; '.join(problems)}{tail}", file=file, line=1, rule=f"the header {'; '.join(rules)}{tail}"
        )


# --------------------------------------------------------------------------- column checks


def check_ids(
    frame: pd.DataFrame,
    column: str,
    problems: Problems,
    *,
    known: set[str] | frozenset[str] | None,
    known_what: str,
    unique: bool = True,
    allow_empty: bool = False,
) -> None:
    """Every id listed in ``known`` (when given), non-empty unless ``allow_empty`` and, when
    ``unique``, not repeated."""
    ids = frame[column]
    empty = ids.eq("")
    if not allow_empty:
        problems.add_rows(frame, empty, column, lambda v: "is empty; every row needs an id", "is empty; every row needs an id")
    if known is not None:
        unknown = ~ids.isin(known) & ~empty
        problems.add_rows(
            frame, unknown, column, lambda v: f"{quote(v)} is not an id of {known_what}", f"is not an id of {known_what}"
        )
    if unique:
        repeated = ids.duplicated(keep="first") & ~empty
        if repeated.any():
            first_line = {v: line for line, v in ids[~ids.duplicated(keep="first")].items()}
            problems.add_rows(
                frame,
                repeated,
                column,
                lambda v: f"{quote(v)} appears again (first on line {first_line[v]}); one row per id",
                lambda v: f"repeats the id first on line {first_line[v]}; one row per id",
            )


def check_covers(frame: pd.DataFrame, column: str, expected: Sequence[str], problems: Problems, *, what: str) -> None:
    """Every expected id has a row."""
    missing = pd.Index(expected).difference(pd.Index(frame[column].unique()))
    if len(missing):
        problems.add(
            f"has no row for {len(missing)} of the {len(expected)} {what}: {examples(sorted(missing), len(missing))}; "
            f"write exactly one row per id",
            column=column,
            rule=f"has no row for {len(missing)} of the {len(expected)} {what}; write exactly one row per id",
        )


def parse_unit_scores(frame: pd.DataFrame, column: str, problems: Problems) -> pd.Series:
    """A column of numbers in [0, 1]; NaN, infinities, text and empty cells are problems."""
    return parse_numbers(frame, column, problems, low=0.0, high=1.0)


def parse_numbers(
    frame: pd.DataFrame, column: str, problems: Problems, *, low: float | None = None, high: float | None = None
) -> pd.Series:
    text = frame[column].astype(str)
    values = pd.to_numeric(text, errors="coerce").astype(float)
    bad = ~np.isfinite(values.to_numpy())
    if low is not None:
        bad |= values.to_numpy() < low
    if high is not None:
        bad |= values.to_numpy() > high
    rng = f" in [{_fmt(low)}, {_fmt(high)}]" if low is not None and high is not None else ""

    def describe(value: str) -> str:
        return f"is empty; expected a number{rng}" if value == "" else f"{quote(value)} is not a number{rng}"

    def rule(value: str) -> str:
        return f"is empty; expected a number{rng}" if value == "" else f"is not a number{rng}"

    problems.add_rows(frame, bad, column, describe, rule)
    return values


def _fmt(x: float | None) -> str:
    return "" if x is None else (str(int(x)) if float(x).is_integer() else str(x))


# --------------------------------------------------------------------------- organizer data


def read_table(path: Path, *, name: str) -> pd.DataFrame:
    """An organizer table as text: empty cells are ``""``, nothing is converted."""
    try:
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig", skipinitialspace=False
        )
    except FileNotFoundError:
        raise TaskDataInvalid(f"dataset {name!r}: file {path} not found") from None
    except pd.errors.EmptyDataError:
        raise TaskDataInvalid(f"dataset {name!r} ({Path(path).name}) is empty: expected a header row and records") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise TaskDataInvalid(f"dataset {name!r} ({Path(path).name}) is not a readable UTF-8 CSV file: {exc}") from None


def read_ids(path: Path, column: str, *, file: str | None = None) -> list[str]:
    """The values of one id column of an input file, as text (used to rebuild a validation context)."""
    file = file or Path(path).name
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, usecols=[column], encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"{file} not found in the input folder {Path(path).parent}") from None
    except ValueError as exc:
        raise ValueError(f"{file} has no column {column!r}: {exc}") from None
    return frame[column].str.strip().tolist()


def write_table(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")


def write_schema(schema: Schema, dest: Path) -> None:
    (dest / "schema.json").write_text(json.dumps(schema.as_json(), indent=2) + "\n", encoding="utf-8")


def read_schema(input_dir: Path) -> Schema:
    path = Path(input_dir) / "schema.json"
    try:
        return Schema.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise FileNotFoundError(f"schema.json not found in the input folder {input_dir}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a valid schema: {exc}") from None


def require_files(data: TaskData, names: Iterable[str], *, task: str) -> dict[str, pd.DataFrame]:
    """Read the named datasets, saying which are missing from the bundle."""
    missing = [n for n in names if n not in data.files]
    if missing:
        have = ", ".join(sorted(data.files)) or "none"
        raise TaskDataInvalid(
            f"task {task} needs the dataset{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(the bundle has: {have}); add {'them' if len(missing) > 1 else 'it'} under data: in competition.yaml"
        )
    return {n: read_table(data.files[n], name=n) for n in names}


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, dataset: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TaskDataInvalid(
            f"dataset {dataset!r} misses the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(it has: {', '.join(map(str, frame.columns))})"
        )


def require_unique_ids(frame: pd.DataFrame, column: str, *, dataset: str) -> None:
    ids = frame[column].str.strip()
    empty = int(ids.eq("").sum())
    if empty:
        raise TaskDataInvalid(f"dataset {dataset!r}: {empty} rows have an empty {column}")
    repeated = ids[ids.duplicated()].unique()
    if len(repeated):
        raise TaskDataInvalid(f"dataset {dataset!r}: {column} repeats {examples(repeated)}; ids must be unique")


