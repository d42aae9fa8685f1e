"""Build the scenario bundles.

    python -m scenarios.build [--out DIR] [--only SLUG ...]

Writes one bundle folder per scenario under DIR (default ``scenarios/build/``), offline
and deterministically: building twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scenarios.breast_cancer import generate as breast_cancer
from scenarios.diabetes import generate as diabetes
from scenarios.discharge_arena import generate as discharge_arena
from scenarios.discharge_linkage import generate as discharge_linkage

SCENARIOS = {m.SLUG: m for m in (breast_cancer, discharge_linkage, diabetes, discharge_arena)}
DEFAULT_OUT = Path(__file__).resolve().parent / "build"


def build(out: Path, only: list[str] | None = None) -> dict[str, dict]:
    unknown = sorted(set(only or ()) - set(SCENARIOS))
    if unknown:
        raise KeyError(f"unknown scenario {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    figures = {}
    for slug, module in SCENARIOS.items():
        if only and slug not in only:
            continue
        figures[slug] = module.build(out / slug)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scenarios.build", description=__doc__.strip().splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the bundles (default: scenarios/build/)")
    parser.add_argument("--only", action="append", metavar="SLUG", help="build only this scenario (repeatable)")
    args = parser.parse_args(argv)
    try:
        for slug, figures in build(args.out, args.only).items():
            shown = ", ".join(f"{k}={v}" for k, v in figures.items())
            print(f"{args.out / slug}: {shown}")
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    status = main()
    print(f"done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    sys.exit(status)
