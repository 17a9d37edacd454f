"""Benchmark the data generators: prints puzzles/s.

    python scripts/bench_data.py --task sudoku --n 2000 --workers 2
    python scripts/bench_data.py --task chess --games 20

Target (issue 3): 10,000 rated sudoku puzzles in under 5 minutes on 2 cores (>= 33/s).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", choices=["sudoku", "chess", "prefix-sums"], default="sudoku")
    ap.add_argument("--n", type=int, default=2000, help="sudoku puzzles / prefix-sums strings")
    ap.add_argument("--games", type=int, default=20, help="chess self-play games")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=12345)
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.task == "sudoku":
        from loopzoo.data import sudoku

        ratings = [r for _, _, r in sudoku.generate(args.n, args.seed, workers=args.workers)]
        n = len(ratings)
    elif args.task == "chess":
        from loopzoo.data import chess as cd

        n = sum(len(p) for _, p in cd.generate_games(args.seed, 0, args.games, args.workers))
    else:
        from loopzoo.data import load_split

        n = len(load_split("prefix-sums", "test", seed=args.seed, n=args.n))
    dt = time.perf_counter() - t0
    print(f"{args.task}: {n} items in {dt:.1f} s = {n / dt:.1f} items/s with {args.workers} worker(s)")
    if args.task == "sudoku":
        print(f"10,000 rated puzzles would take {10_000 / (n / dt) / 60:.1f} min at this rate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
