"""Make the bundled sudoku set: N rated unique puzzles from a seed, resumable.

    python scripts/make_sudoku.py --n 60000 --seed 0            # resumes build/data/sudoku-seed0.partial.csv
    python scripts/make_sudoku.py --n 60000 --seed 0 --workers 2

Rows are appended to a plain partial CSV (row i = puzzle i of the seed, so a rerun continues
where the last one stopped); when all N exist the set is written compressed to
loopzoo/data/bundled/sudoku.csv.xz and its sha256 recorded in the manifest.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loopzoo.data import bundled, sudoku  # noqa: E402
from loopzoo.data.formats import write_csv  # noqa: E402


def done_rows(partial: Path) -> int:
    """Complete rows in the partial file; a torn last line is cut off."""
    if not partial.exists():
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(",".join(sudoku.HEADER) + "\n")
        return 0
    data = partial.read_bytes()
    if not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        partial.write_bytes(data)
    return data.count(b"\n") - 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--partial", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=bundled.DIR / bundled.FILES["sudoku"])
    args = ap.parse_args()
    partial = args.partial or ROOT / "build" / "data" / f"sudoku-seed{args.seed}.partial.csv"
    start = done_rows(partial)
    t0 = time.time()
    todo = max(0, args.n - start)
    with open(partial, "a") as f:
        rows = sudoku.generate(todo, args.seed, start=start, workers=args.workers)
        for k, (q, a, r) in enumerate(tqdm(rows, total=todo, initial=0, desc="sudoku", disable=None, mininterval=10)):
            f.write(f"{q},{a},{r}\n")
            if k % 200 == 199:
                f.flush()
    if todo:
        dt = time.time() - t0
        print(f"made {todo} puzzles in {dt:.0f} s ({todo / dt:.1f} puzzles/s, {args.workers} worker(s))")
    lines = partial.read_text().splitlines()[1 : args.n + 1]
    rows = [line.split(",") for line in lines]
    write_csv(args.out, sudoku.HEADER, rows)
    if args.out.parent == bundled.DIR:
        entry = bundled.record(
            args.out, task="sudoku", seed=args.seed, rows=len(rows),
            made_by=f"python scripts/make_sudoku.py --n {args.n} --seed {args.seed}",
            rating="backtracks of loopzoo.data.sudoku_solver.rate (naked singles, MRV, full search)",
        )
        print(f"wrote {args.out} ({entry['bytes']:,} bytes, sha256 {entry['sha256'][:16]}...)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
