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
    python scripts/compare_recipes.py chess-internal-recall-outernorm --tags vs-looped vs-untied vs-untied-params \\
        --reference chess-internal-recall-outernorm --iters 100 --samples 2000 --write chess-looped-untied

A tag that names its model (``vs-untied``: the untied baseline) is read from that model's run folder
(``runs/chess-fixed15.vs-untied``), and the table then adds each arm's parameters and the iterations it is
read at (a model of untied layers: its one pass).
"""
from __future__ import annotations

import argparse
import sys

from loopzoo import config_for, docs_tables
from loopzoo.analysis import recipes
from loopzoo.runs import RunDir
from loopzoo.train.zoo import TAGGED_RECIPES, tagged_name, timed_run_dir



def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("name", help="the name the arms train, e.g. sudoku-internal-recall-outernorm")
    p.add_argument("--tags", nargs="+", required=True, metavar="TAG", help="the arms' tags, the base first")
    p.add_argument("--iters", type=int, default=200, help="iterations at which exact match is read (default 200)")
    p.add_argument("--samples", type=int, default=500, help="items of each split (default 500)")
    p.add_argument("--write", nargs="?", const="", metavar="TABLE",
                   help="save docs/results/TABLE.json (default TASK-recipes) and render its table in the docs")
    p.add_argument("--reference", metavar="MODEL", help="also score this model (a zoo name or a folder, e.g. the bundled "
                   "flagship the arms started from) on the same samples, as a row of its own")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    table = args.write or f"{config_for(args.name).task}-recipes"
    recipe_tables = [n for n, t in docs_tables.TABLES.items() if t.render == "analysis.recipes:table"]
    if args.write is not None and table not in recipe_tables:
        p.error(f"--write {table}: not a recipe table; recipe tables: {', '.join(recipe_tables)}")
    unknown = [tag for tag in args.tags if tag not in TAGGED_RECIPES]
    if unknown:
        p.error(f"unknown tag(s) {', '.join(unknown)}; choose from {', '.join(sorted(TAGGED_RECIPES))}")
    names = [tagged_name(tag) or args.name for tag in args.tags]  # a tag may name its model (the untied baseline)
    arms = [recipes.score(RunDir(timed_run_dir(name, tag=tag)), args.iters, args.samples, progress=not args.quiet)
            for name, tag in zip(names, args.tags)]
    results = {"name": args.name, "arms": arms}
    if args.reference:
        results["reference"] = recipes.score_reference(args.reference, args.iters, args.samples, progress=not args.quiet)
    print(recipes.table(results))
    if args.write is not None:
        print(docs_tables.publish(table, docs_tables.stamp(results, sys.argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
