#!/usr/bin/env python
"""Train the paper's comparison grid with an equal budget per variant, resumable.

    python scripts/train_grid.py sudoku --list                    # the variants and their run folders
    python scripts/train_grid.py sudoku --seeds 0                 # train them all, in order
    python scripts/train_grid.py sudoku --shard 1/2 --threads 1   # every second variant (one job per core)
    python scripts/train_grid.py sudoku --status                  # what is trained, what is left
    python scripts/train_grid.py sudoku --bundle                  # bundle the seed-0 runs as the zoo's checkpoints

A command line over :mod:`loopzoo.train.grid`, whose docstring says what the grid holds and why. Runs
are called ``NAME.lrLR-seedK`` (``loopzoo.load`` takes that) and live in
``runs/grid/<task>/<name>@lr<lr>/seed<k>/``; ``runs/grid/<task>/grid.json`` sums the grid up.
"""
from __future__ import annotations

import argparse
import sys

import torch

import loopzoo
from loopzoo.hardware import default_threads
from loopzoo.names import TASKS
from loopzoo.train import grid as grids
from loopzoo.train.trainer import TrainingStopped


def parse_shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N such as 1/2, got {text!r}") from None
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(f"shard {text!r}: need 1 <= I <= N")
    return index, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=TASKS)
    parser.add_argument("--epochs", type=int, help="epochs per run (default: %s)" % grids.DEFAULT_EPOCHS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", nargs="+", metavar="LABEL", help="train only these variants (labels as --list prints)")
    parser.add_argument("--shard", type=parse_shard, default=(1, 1), metavar="I/N", help="every N-th variant from the I-th")
    parser.add_argument("--threads", type=int, default=default_threads(), help="torch CPU threads (default: all cores)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="print the variants and their folders; train nothing")
    action.add_argument("--status", action="store_true", help="write grid.json and print it as a markdown table; train nothing")
    action.add_argument("--bundle", action="store_true", help="bundle finished seed-0 runs as the zoo's checkpoints")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    epochs = grids.DEFAULT_EPOCHS[args.task] if args.epochs is None else args.epochs
    if epochs < 1:
        parser.error(f"--epochs must be positive, got {epochs}")
    recipe_lr = grids.recipe_lr(args.task)
    try:
        grid = grids.select(grids.variants(args.task, recipe_lr), args.only, args.shard)
    except loopzoo.InputError as exc:
        parser.error(str(exc))
    if args.list:
        print(grids.listing(args.task, grid, args.seeds[0]))
        return 0
    torch.set_num_threads(args.threads)  # bundling evaluates: it honours --threads like training
    if args.bundle:
        grids.bundle(args.task, grid, recipe_lr)
        return 0
    if not args.status:
        grids.train(args.task, grid, args.seeds, epochs, progress=not args.quiet)
    print(grids.table(grids.summarize(args.task, grids.variants(args.task, recipe_lr), args.seeds)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TrainingStopped as exc:  # Ctrl-C or SIGTERM: the run in progress is checkpointed, not marked done
        raise SystemExit(f"train_grid: {exc}") from None
    except loopzoo.LoopzooError as exc:
        raise SystemExit(f"train_grid: {exc}") from None
