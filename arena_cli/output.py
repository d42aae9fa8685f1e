"""Plain-text output: aligned tables and score cells, nothing that needs a terminal."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from typing import Any, TextIO


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, out: TextIO, right: Sequence[int] = (),
          wrap: int | None = None) -> None:
    """Columns padded to their widest cell; ``right`` lists the columns to right-align (numbers).

    With ``wrap``, a header longer than both ``wrap`` and its column's widest cell is wrapped
    onto several lines instead of widening the column."""
    cells = [[_cell(v) for v in row] for row in rows]
    header_lines = [_header_lines(h, [row[i] for row in cells], wrap) for i, h in enumerate(headers)]
    widths = [max(len(line) for line in lines) for lines in header_lines]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))

    def line(values: Sequence[str]) -> str:
        padded = [v.rjust(widths[i]) if i in right else v.ljust(widths[i]) for i, v in enumerate(values)]
        return "  ".join(padded).rstrip()

    depth = max(len(lines) for lines in header_lines)
    for n in range(depth):  # a wrapped header's last line sits on the rule
        out.write(line([lines[n - depth + len(lines)] if n >= depth - len(lines) else "" for lines in header_lines]) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row) + "\n")


def table_width(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, wrap: int | None = None) -> int:
    """How many columns :func:`table` would take."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([*(len(x) for x in _header_lines(h, [row[i] for row in cells], wrap)), *(len(row[i]) for row in cells)])
              for i, h in enumerate(headers)]
    return sum(widths) + 2 * (len(widths) - 1)


def _header_lines(header: str, column: Sequence[str], wrap: int | None) -> list[str]:
    if wrap is None:
        return [header]
    width = max([wrap, *(len(v) for v in column)])
    return textwrap.wrap(header, width=width, break_long_words=True) or [""]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def number(value: Any, precision: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, float)):
        return f"{value:.{precision}f}"
    return str(value)


def score(entry: dict | None, precision: int = 4) -> str:
    """``0.8123 [0.7001, 0.9012]``: the value with its confidence interval where there is one."""
    if not entry or entry.get("value") is None:
        return "-"
    text = number(entry["value"], precision)
    low, high = entry.get("ci_low"), entry.get("ci_high")
    if low is not None and high is not None:
        text += f" [{number(low, precision)}, {number(high, precision)}]"
    return text


def when(stamp: str | None) -> str:
    """An ISO timestamp shortened to the minute, in the server's zone (UTC): ``2026-03-01 14:05``."""
    if not stamp:
        return "-"
    return stamp.replace("T", " ")[:16]


def dump_json(data: Any, *, out: TextIO) -> None:
    out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
