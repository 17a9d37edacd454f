#!/usr/bin/env python
"""Breadth at test time against depth, at equal block evaluations (logic: loopzoo.analysis.breadth).

``--mode grid`` (tasks whose valid answers are right, e.g. sudoku): one pass of ``max(--ks)``
trajectories per input to ``max(--depths)`` gives every (depth, breadth) cell and the restarts
that run the same trajectories in turn; ``--check D:K`` re-measures cells with real ``solve``
calls. ``--mode solve`` (e.g. chess, where answers are chosen by agreement): a real
``solve(..., breadth=K, halt="valid")`` per cell.

    python scripts/bench_breadth.py sudoku-internal-recall-outernorm --source forum-hardest --n 100 \\
        --depths 100 300 500 --ks 1 4 16 --check 100:4 --plot docs/img/breadth-sudoku.png --threads 1
    python scripts/bench_breadth.py chess-internal-recall-outernorm --source lichess --n 200 --mode solve \\
        --depths 22 50 --ks 1 4 16 --threads 1
"""
from __future__ import annotations

import argparse
import time

import torch

import loopzoo
from loopzoo.analysis import breadth as bench
from loopzoo.data import load_split


def table(points: list[bench.Point], n: int) -> str:
    rows = ["| method | depth (cap) | trajectories | exact | block evaluations / input |", "|---|---|---|---|---|"]
    rows += [f"| {p.method} | {p.depth} | {p.k} | {100 * p.accuracy:.1f}% ({round(p.accuracy * n)}/{n}) | "
             f"{p.evaluations:.1f} |" for p in points]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--split", default="test")
    ap.add_argument("--source", default=None, help="load_split's source (default: the task's generated data)")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--mode", choices=("grid", "solve"), default="grid")
    ap.add_argument("--depths", type=int, nargs="+", default=[100, 300, 500])
    ap.add_argument("--ks", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--check", nargs="*", default=[], metavar="D:K", help="grid cells to re-measure with solve()")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--plot", default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = loopzoo.load(args.model).eval()
    kw = {"source": args.source} if args.source else {}
    data = load_split(model.task.name, args.split, n=args.n, **kw)
    inputs, refs = list(data.inputs), list(data.answers)
    print(f"{args.model}: {len(inputs)} inputs of {data.source} ({args.split})")
    t0 = time.time()
    if args.mode == "grid":
        first, right = bench.first_passes(model, inputs, refs, max(args.depths), max(args.ks), seed=args.seed,
                                          noise=args.noise, batch_size=args.batch_size)
        print(f"one pass, {max(args.ks)} trajectories x cap {max(args.depths)}: {time.time() - t0:.0f} s; "
              f"verified answers not equal to the data's: {int(((first > 0) & ~right).sum())}")
        points = bench.grid(first, right, args.depths, args.ks, layers=model.config.depth)
        for cell in args.check:
            d, k = map(int, cell.split(":"))
            for method in ("breadth", "restarts"):
                t = time.time()
                real = bench.solve_point(model, inputs, refs, method, d, k, seed=args.seed, noise=args.noise,
                                         batch_size=args.batch_size)
                derived = next(p for p in points if (p.method, p.depth, p.k) == (method, d, k))
                print(f"check {method} depth {d} k {k}: solve() {100 * real.accuracy:.1f}% at {real.evaluations:.1f} "
                      f"evaluations ({time.time() - t:.0f} s); grid {100 * derived.accuracy:.1f}% at "
                      f"{derived.evaluations:.1f}: {'equal' if real == derived else 'DIFFERENT'}")
    else:
        points = []
        for d in args.depths:
            for k in args.ks:
                t = time.time()
                points.append(bench.solve_point(model, inputs, refs, "breadth", d, k, seed=args.seed, noise=args.noise,
                                                batch_size=args.batch_size))
                print(f"depth {d} breadth {k}: {100 * points[-1].accuracy:.1f}% ({time.time() - t:.0f} s)", flush=True)
    print(table(points, len(inputs)))
    print(f"total {time.time() - t0:.0f} s")
    if args.plot:
        bench.plot(points, args.plot, f"{args.model}, {len(inputs)} of {args.source or 'generated'} {args.split}")
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
