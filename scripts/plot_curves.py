#!/usr/bin/env python
"""Learning curves of timed zoo runs: exact match against training minutes, from ``runs/<ref>/metrics.jsonl``.

For each run (a name, or ``NAME.TAG`` for a tagged run such as ``NAME.w256``): a PNG in
``docs/curves/<ref>.png`` (val and hard, at 30 iterations and at the run's evaluation horizon) and a
Markdown table of every evaluation on stdout. A command line over :mod:`loopzoo.analysis.curves`.

    python scripts/plot_curves.py sudoku-internal-recall-outernorm chess-internal-recall-outernorm
"""
from __future__ import annotations

import argparse
from pathlib import Path

from loopzoo import LoopzooError, runs
from loopzoo.analysis.curves import curve

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="+", metavar="REF")
    parser.add_argument("--runs", type=Path, default=runs.RUNS)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "curves")
    args = parser.parse_args()
    for ref in args.names:
        run = runs.find(ref, args.runs) or runs.RunDir(args.runs / ref)
        png = args.out / f"{ref}.png"
        try:
            text, counts = curve(run, png)
        except LoopzooError as exc:
            raise SystemExit(str(exc)) from None
        samples = counts["samples"]
        print(f"### {ref} ({samples['val']} val / {samples['test']} hard items per evaluation; minutes: {counts['clock']})\n")
        print(text + "\n")
        print(f"plot: {png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}\n")


if __name__ == "__main__":
    main()
