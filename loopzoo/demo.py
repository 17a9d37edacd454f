"""``loopzoo demo``: the bundled flagship of each task on hard inputs, accuracy against iterations.

Looped models can spend more iterations on harder inputs: each flagship was trained with at most
30 iterations on easy inputs and is run here on the hard split with 1 to several hundred.
"""
from __future__ import annotations

import argparse
import time
from collections import Counter

from .names import FLAGSHIPS

SAMPLES = {"prefix-sums": 10, "sudoku": 50, "chess": 100}


def show(name: str, iters: list[int], samples: int | None) -> None:
    import loopzoo
    from loopzoo.data import load_split
    from loopzoo.evaluate import accuracy_curve

    try:
        model = loopzoo.load(name)
    except loopzoo.CheckpointError:
        print(f"\n{name}: no bundled weights (train them with: python scripts/train_zoo.py {name})")
        return
    task = model.config.task
    try:
        data = load_split(task, "test", n=samples or SAMPLES[task])
    except loopzoo.LoopzooError as exc:
        print(f"\n{name}: no hard data available ({exc})")
        return
    recommended = model.config.iters
    points = sorted(set(iters) | {recommended})
    t0 = time.perf_counter()
    curve = accuracy_curve(model, data, max(points))
    seconds = time.perf_counter() - t0
    print(f"\n{name}  (width {model.config.width}, {model.num_parameters():,} parameters, "
          f"trained with <= 30 iterations on easy inputs)")
    print(f"  hard split: {len(data)} inputs, e.g. {str(data.inputs[0])[:60]}{'...' if len(str(data.inputs[0])) > 60 else ''}")
    header = "  iterations " + "".join(f"{p:>8d}" for p in points)
    print(header)
    print("  exact      " + "".join(f"{curve.at(p):8.1%}" for p in points))
    print("  partial    " + "".join(f"{curve.partial[p - 1]:8.1%}" for p in points) + f"   ({model.task.partial_name})")
    checked = model.task.can_verify()  # then answer every input and count what checks out
    solutions = model.solve(data.inputs if checked else data.inputs[:1], iters=recommended, return_info=True)
    if checked:
        counts = Counter(sol.status for sol in solutions)
        print(f"  verified   {counts['valid']} valid, {counts['invalid']} invalid, {counts['unknown']} not checkable "
              f"(of {len(solutions)}, at {recommended} iterations)")
    answer = solutions[0].answer
    verdict = "correct" if str(answer) == str(data.answers[0]) else f"expected {str(data.answers[0])[:60]}"
    print(f"  recommended {recommended} iterations; first input -> {str(answer)[:60]} ({verdict}); {seconds:.1f} s")


def run(args: argparse.Namespace) -> int:
    import torch

    import loopzoo

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    from loopzoo import hub

    print(f"loopzoo {loopzoo.__version__}: {len(loopzoo.list_models())} model names, "
          f"{len(hub.bundled())} bundled checkpoints: {', '.join(hub.bundled()) or '(none)'}")
    for name in args.names or FLAGSHIPS:
        show(name, args.iters, args.samples)
    print(f"\ndone in {time.perf_counter() - t0:.0f} s")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="run the bundled flagships on hard inputs",
                       description="Load the bundled flagship of each task, run it on a sample of the hard split, "
                                   "and print exact-match accuracy against the number of iterations.")
    p.add_argument("names", nargs="*", help="checkpoints to show (default: the three flagships)")
    p.add_argument("--iters", nargs="+", type=int, default=[1, 10, 30, 100, 300], help="iteration counts to report")
    p.add_argument("--samples", type=int, help="hard inputs per task (default: 10 bit strings, 50 sudokus, 100 chess puzzles)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.set_defaults(func=run)
