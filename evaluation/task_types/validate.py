"""Check an output file exactly as the server does.

    python -m evaluation.task_types.validate TASK OUTPUT_FILE --input INPUT_DIR

``INPUT_DIR`` is a folder laid out as the run's ``/input`` (``schema.json`` and the task's
public input files): the ids an output may use are read from there. Prints ``OK`` with the
number of rows, or the problems found; the exit status is 1 when the file is invalid and
2 when the inputs themselves cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import TASK_TYPES, get_task
from .base import OutputInvalid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.task_types.validate",
        description="Check a task output file (predictions.csv, links.csv, guesses.csv, release.csv) as the server does.",
    )
    parser.add_argument("task", choices=sorted(TASK_TYPES), help="the competition's task type")
    parser.add_argument("output", type=Path, help="the file to check")
    parser.add_argument(
        "--input",
        type=Path,
        default=Path("/input"),
        help="folder with the task's input files and schema.json (default: /input)",
    )
    args = parser.parse_args(argv)
    task = get_task(args.task)
    try:
        prepared = task.prepared_from_input(args.input)
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot read the inputs in {args.input}: {exc}", file=sys.stderr)
        return 2
    try:
        frame = task.validate(path=args.output, prepared=prepared)
    except OutputInvalid as exc:
        print(f"INVALID {exc}", file=sys.stderr)
        return 1
    print(f"OK {args.output.name}: {len(frame)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
