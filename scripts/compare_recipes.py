#!/usr/bin/env python
"""Compare recipes at an equal budget: tagged runs of one name, each trained for the same minutes on a
core of its own, scored on the same held-out samples (:mod:`loopzoo.analysis.recipes`).

Train the arms first, two at a time on the two cores, each for the same minutes:

    taskset -c 0 python scripts/train_zoo.py sudoku-internal-recall-outernorm --tag ab-base --minutes 20 \\
        --decay-fraction 0 --eval-minutes 10 --no-bundle --threads 1 &
    taskset -c 1 python scripts/train_zoo.py sudoku-internal-recall-outernorm --tag ab-warmup --minutes 20 \\
        --decay-fraction 0 --eval-minutes 10 --no-bundle --threads 1 &

then score them (the first tag is the base the others are compared with):

    python scripts/compare_recipes.py sudoku-internal-recall-outernorm --tags ab-base ab-warmup
    python scripts/compare_recipes.py sudoku-internal-recall-outernorm --tags ab-base ab-warmup --write
    python scripts/compare_recipes.py chess-internal-recall-outernorm --tags ab-lichess ab-lichess-labels --samples 2000 --write
"""
from __future__ import annotations

import argparse
import sys

from loopzoo import config_for, docs_tables
from loopzoo.analysis import recipes
from loopzoo.runs import RunDir
from loopzoo.train.zoo import timed_run_dir



def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("name", help="the name the arms train, e.g. sudoku-internal-recall-outernorm")
    p.add_argument("--tags", nargs="+", required=True, metavar="TAG", help="the arms' tags, the base first")
    p.add_argument("--iters", type=int, default=200, help="iterations at which exact match is read (default 200)")
    p.add_argument("--samples", type=int, default=500, help="items of each split (default 500)")
    p.add_argument("--write", action="store_true", help="save docs/results/TASK-recipes.json and its table in the docs")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    arms = [recipes.score(RunDir(timed_run_dir(args.name, tag=tag)), args.iters, args.samples, progress=not args.quiet)
            for tag in args.tags]
    results = {"name": args.name, "arms": arms}
    print(recipes.table(results))
    if args.write:
        table = f"{config_for(args.name).task}-recipes"
        print(docs_tables.publish(table, docs_tables.stamp(results, sys.argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
