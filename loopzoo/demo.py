"""``loopzoo demo``: the main job on bundled defaults."""
from __future__ import annotations

import argparse
import time


def run(args: argparse.Namespace) -> int:
    import loopzoo

    t0 = time.perf_counter()
    names = loopzoo.list_models()
    print(f"loopzoo {loopzoo.__version__}: {len(names)} registered models, e.g. {', '.join(names[:3])} ...")
    for name in ("prefix-sums-internal-recall-outernorm", "sudoku-internal-recall-outernorm", "chess-internal-recall-outernorm"):
        model = loopzoo.create(name, width=64)
        example = model.task.example
        answer = model.solve(example, iters=3)
        print(f"\n{name} (random weights, width 64, {model.num_parameters():,} parameters)")
        print(f"  input:  {example}")
        print(f"  answer: {answer}")
    print(f"\ndone in {time.perf_counter() - t0:.1f} s")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="run the demo", description="Show the zoo and solve one input of each task.")
    p.set_defaults(func=run)
