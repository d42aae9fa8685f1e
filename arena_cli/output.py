"""Plain-text output: aligned tables and score cells, nothing that needs a terminal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, out: TextIO, right: Sequence[int] = ()) -> None:
    """Columns padded to their widest cell; ``right`` lists the columns to right-align (numbers)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))

    def line(values: Sequence[str]) -> str:
        padded = [v.rjust(widths[i]) if i in right else v.ljust(widths[i]) for i, v in enumerate(values)]
        return "  ".join(padded).rstrip()

    out.write(line(list(headers)) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row) + "\n")


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
