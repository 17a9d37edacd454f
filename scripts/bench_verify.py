#!/usr/bin/env python
"""Verified answers as test-time scaling: fixed iterations vs ``halt="valid"`` vs restarts.

For each model and split, measures exact-match accuracy (answers equal to the data's) and block
evaluations (iterations x depth, mean per input) of

* fixed iterations: the answer after ``T`` iterations, for every ``T`` in ``--curve`` and ``--cap``;
* ``halt="valid"`` with cap ``T``: each input stops at the first iteration whose answer passes
  ``Task.verify``;
* restarts: ``halt="valid"`` with cap ``--restart-cap`` and ``K`` restarts from perturbed starts,
  for every ``K`` in ``--ks``, and ``--restarts`` at ``--cap`` for the table.

The fixed and ``halt="valid"`` curves come from one pass per split that decodes and checks the
answer at every iteration; the table's ``halt="valid"`` and restart rows are real
``model.solve(..., return_info=True)`` calls (the script says if the pass and ``solve`` disagree).
Prints a markdown table (``--markdown FILE`` writes it) and plots accuracy against block
evaluations (``--plot FILE``, needs matplotlib).

    python scripts/bench_verify.py sudoku-internal-recall-outernorm chess-internal-recall-outernorm \\
        --splits val test --n 500 --cap 500 --plot docs/verify_scaling.png --markdown verify_table.md

``--write`` saves the table's rows as docs/results/verify-flagships.json (the rows of other models and splits
saved there stay) and renders docs/verification.md's table from it.

A command line over :mod:`loopzoo.analysis.verified`.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

import torch

import loopzoo
from loopzoo import docs_tables
from loopzoo.analysis import verified
from loopzoo.names import FLAGSHIPS

VERIFIABLE = tuple(name for name in FLAGSHIPS if not name.startswith("prefix-sums"))  # tasks with a checker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=list(VERIFIABLE), help="model names or checkpoint directories")
    parser.add_argument("--splits", nargs="+", default=["val", "test"], help="data splits (test = the hard split)")
    parser.add_argument("--n", type=int, default=None, help="inputs per split (default 500; --check-data: all)")
    parser.add_argument("--cap", type=int, default=500, help="iteration cap of the table's rows")
    parser.add_argument("--restarts", type=int, default=2, help="restarts of the table's restart row (0: no such row)")
    parser.add_argument("--curve", nargs="+", type=int, default=[10, 30, 100, 200, 500],
                        help="caps T of the fixed and halt='valid' curves")
    parser.add_argument("--restart-cap", type=int, default=100, help="cap of each run on the restarts curve")
    parser.add_argument("--ks", nargs="+", type=int, default=[0, 1, 2, 4], help="restart counts K on the restarts curve")
    parser.add_argument("--length", type=int, default=None, help="bits of prefix-sums inputs (default: the split's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the restarts' start states")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default=None, help="cpu, cuda ... (default: cpu)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--plot", metavar="PNG", help="write accuracy against block evaluations here")
    parser.add_argument("--markdown", metavar="FILE", help="write the table here")
    parser.add_argument("--json", metavar="FILE", help="write every measured point here")
    parser.add_argument("--write", action="store_true",
                        help="save the results in docs/results/verify-flagships.json and render docs/verification.md's table")
    parser.add_argument("--check-data", action="store_true",
                        help="only check the data's own answers with Task.verify (all of each split without --n)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.check_data:
        for task in dict.fromkeys(loopzoo.config_for(m).task if m in loopzoo.list_models() else loopzoo.load(m).config.task
                                  for m in args.models):
            for split in args.splits:
                print(verified.check_data(task, split, args.n))
        return 0
    args.n = args.n or 500
    results = []
    for name in args.models:
        model = loopzoo.load(name, device=args.device).eval()
        label = model.config.name or name
        print(f"{label}: width {model.config.width}, depth {model.config.depth}, task {model.config.task}", file=sys.stderr)
        for split in args.splits:
            results.append(verified.measure(model, label, split, n=args.n, cap=args.cap, curve=args.curve,
                                            restart_cap=args.restart_cap, ks=args.ks, restarts=args.restarts,
                                            length=args.length, seed=args.seed, batch_size=args.batch_size))
    table = verified.markdown(results)
    print(table)
    for r in results:
        for note in r.notes:
            print(f"note ({r.model}, {r.split}): {note}")
    print("\n" + verified.LEGEND)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) for r in results], f, indent=1)
    if args.write:
        saved = docs_tables.merge("verify-flagships", "results", [asdict(r) for r in results],
                                  lambda r: (r["model"], r["split"]), sys.argv)
        print(docs_tables.publish("verify-flagships", saved))
    if args.plot:
        verified.plot(results, args.plot, args.restart_cap)
    return 0


if __name__ == "__main__":
    sys.exit(main())
