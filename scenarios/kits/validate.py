#!/usr/bin/env python3
"""Check an output file exactly as the server will, before you submit.

    python validate.py OUTPUT_FILE [--input INPUT_DIR] [--task TASK]

INPUT_DIR is the /input folder the run saw (``run_local.py`` writes one under
``local_run/``); TASK defaults to this competition's task. The checks are the server's own
code, the task types of ``evaluation/task_types/``, copied into ``arena_validation/`` when this
kit was built — so an output that passes here passes there.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CODE = HERE / "arena_validation"


def validate(task: str, output: Path, input_dir: Path) -> int:
    """Run the server's validation entry point; its exit status: 0 when the output is valid."""
    sys.path.insert(0, str(CODE))
    if importlib.util.find_spec("evaluation.task_types.validate") is None:
        print("arena_validation/ lacks evaluation/task_types/validate.py: this kit was built "
              "before the server's validation existed; download the kit again.", file=sys.stderr)
        return 2
    argv = sys.argv
    sys.argv = ["validate", task, str(output), "--input", str(input_dir)]
    try:
        runpy.run_module("evaluation.task_types.validate", run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        sys.argv = argv
    return 0


def main() -> int:
    kit = json.loads((HERE / "kit.json").read_text())
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path)
    parser.add_argument("--input", type=Path, default=None, help="the /input folder of the run")
    parser.add_argument("--task", default=None, choices=kit["tasks"])
    args = parser.parse_args()
    task = args.task or kit["task_of_output"].get(args.output.name, kit["tasks"][0])
    input_dir = args.input or HERE / "local_run" / task / "input"
    return validate(task, args.output, input_dir)


if __name__ == "__main__":
    sys.exit(main())
