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

``--write breadth-sudoku`` or ``breadth-sudoku-public`` (``--mode grid``) saves the grid as
docs/results/NAME.json, ``--write
breadth-chess`` (``--mode solve``) adds its cells to docs/results/breadth-chess.json (cells of other caps, ``K``
or noise stay); either renders its table in docs/verification.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict

import torch

import loopzoo
from loopzoo import docs_tables
from loopzoo.analysis import breadth as bench
from loopzoo.data import load_split


def table(points: list[bench.Point], n: int) -> str:
    rows = ["| method | depth (cap) | trajectories | exact | block evaluations / input |", "|---|---|---|---|---|"]
    rows += [f"| {p.method} | {p.depth} | {p.k} | {100 * p.accuracy:.1f}% ({round(p.accuracy * n)}/{n}) | "
             f"{p.evaluations:.1f} |" for p in points]
    return "\n".join(rows)


WRITES = {"breadth-sudoku": "grid", "breadth-sudoku-public": "grid", "breadth-chess": "solve"}  # table -> the mode that measures it


def write(name: str, points: list[bench.Point], n: int, noise: float, argv: list[str]) -> str:
    if WRITES[name] == "grid":
        return docs_tables.publish(name, docs_tables.stamp({"n": n, "points": [asdict(p) for p in points]}, argv))
    cells = [{**asdict(p), "noise": noise if p.k > 1 else None} for p in points]
    path = docs_tables.results_path(name)
    if path.is_file() and docs_tables.load(name)["n"] != n:
        path.unlink()  # cells of another sample size do not belong in one table
    saved = docs_tables.merge(name, "points", cells, lambda c: (c["method"], c["depth"], c["k"], c["noise"]), argv)
    return docs_tables.publish(name, {**saved, "n": n})


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
    ap.add_argument("--write", choices=sorted(WRITES), help="save the points in docs/results/NAME.json and render that "
                    "table of docs/verification.md (breadth-sudoku, breadth-sudoku-public: --mode grid; breadth-chess: "
                    "--mode solve)")
    args = ap.parse_args(argv)
    if args.write and WRITES[args.write] != args.mode:
        ap.error(f"--write {args.write} is measured with --mode {WRITES[args.write]}")
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
    if args.write:
        print(write(args.write, points, len(inputs), args.noise, sys.argv if argv is None else [sys.argv[0], *argv]))
    if args.plot:
        bench.plot(points, args.plot, f"{args.model}, {len(inputs)} of {args.source or 'generated'} {args.split}")
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
